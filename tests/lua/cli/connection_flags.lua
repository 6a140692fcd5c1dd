-- needs: sshd
-- time-limit: 60
-- -u, -p and --identity reach ad-hoc and inventory hosts, rank with -e over the inventory
-- (the flag over -e), and are checked as -e values are; `drover hosts` shows them.
local check = require "check"
local fx = require "fixture"
local port, user, key = os.getenv("DROVER_TEST_SSH_PORT"), os.getenv("DROVER_TEST_SSH_USER"), os.getenv("DROVER_TEST_SSH_KEY")
local dir = fx.local_dir()
-- an inventory whose values are all wrong: the flags must win over them
local inv = dir .. "/inventory.ini"
fx.write(inv, table.concat({
  "[defaults]", "known_hosts = " .. dir .. "/known_hosts", "agent = false", "",
  "[host box]", "address = 127.0.0.1", "port = 1", "user = nobody-here", "identity = /nonexistent/key", "",
}, "\n"))
local env = ("HOME=%s XDG_STATE_HOME=%s SSH_AUTH_SOCK= "):format(fx.q(dir), fx.q(dir .. "/state"))
local function drover(args)
  local err = os.tmpname()
  local p = assert(io.popen(("%s%s %s 2>%s"):format(env, fx.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fx.read(err) or ""; os.remove(err)
  return code, out, e
end
local kh = " -e known_hosts=" .. fx.q(dir .. "/known_hosts")

-- an ad-hoc host with its port in -H, user and key from the flags
local code, out, err = drover(("exec -H 127.0.0.1:%s -u %s --identity %s%s 'echo as $(whoami)'")
  :format(port, user, fx.q(key), kh))
check.eq(code, 0, err)
check.eq(out, ("127.0.0.1:%s | as %s\n"):format(port, user), err)
-- the port from -p
code, out, err = drover(("exec -H 127.0.0.1 -p %s -u %s --identity %s%s 'echo port ok'")
  :format(port, user, fx.q(key), kh))
check.eq(code, 0, err)
check.eq(out:find("| port ok", 1, true) ~= nil, true, out .. err)
-- without the flags the inventory host cannot be reached (port 1)
code, out, err = drover("exec -i " .. fx.q(inv) .. " -H box true")
check.eq(code, 1, err)
-- with them, over the inventory's values; -u over -e user=
code, out, err = drover(("exec -i %s -H box -e user=nobody-either -u %s -p %s --identity %s 'echo inv $(whoami)'")
  :format(fx.q(inv), user, port, fx.q(key)))
check.eq(code, 0, err)
check.eq(out, "box | inv " .. user .. "\n", err)
-- run too: the script's host connects with the flags
local script = dir .. "/who.lua"
fx.write(script, 'print("run as " .. ssh.run("whoami").stdout:gsub("%s+$", ""))\n')
code, out, err = drover(("run %s -i %s -H box -u %s -p %s --identity %s"):format(fx.q(script), fx.q(inv), user, port, fx.q(key)))
check.eq(code, 0, err)
check.eq(out:find("box | run as " .. user, 1, true) ~= nil, true, out .. err)
-- drover hosts shows what the flags set
code, out, err = drover(("hosts -i %s -u deploy -p 2200 --identity %s"):format(fx.q(inv), fx.q(key)))
check.eq(code, 0, err)
check.eq(out:find("box  deploy@127.0.0.1:2200", 1, true) ~= nil, true, out)
code, out = drover(("hosts -i %s -u deploy -p 2200 --identity %s --json"):format(fx.q(inv), fx.q(key)))
check.eq(out:find('"identity":"' .. key .. '"', 1, true) ~= nil, true, out)

-- checked as -e values are, the flag named
code, out, err = drover("hosts -i " .. fx.q(inv) .. " -p http")
check.eq(code, 2, err)
check.eq(err:find('-p http: bad port "http"', 1, true) ~= nil, true, err)
code, out, err = drover("hosts -i " .. fx.q(inv) .. " -p 70000")
check.eq(code, 2, err)
code, out, err = drover("hosts -i " .. fx.q(inv) .. " -u ''")
check.eq(code, 2, err)
check.eq(err:find("-u : user is empty", 1, true) ~= nil, true, err)
code, out, err = drover("exec -i " .. fx.q(inv) .. " -H box --identity /no/such/key true")
check.eq(code, 2, err)
check.eq(err:find("--identity /no/such/key: No such file", 1, true) ~= nil, true, err)

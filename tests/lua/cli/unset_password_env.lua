-- needs: sshd*2
-- time-limit: 60
-- An unset password_env fails only the host that is connected to: `drover hosts` shows it
-- as <unset: VAR> and succeeds; a run on that host fails it with the variable named, the
-- other host is ok; once set, it is used as the password (<secret> in hosts).
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
-- h02 logs in with a password from the environment (its key removed)
local text = fx.read(inv):gsub("(%[host h02%][^%[]-)identity = [^\n]*\n", "%1password_env = DROVER_TEST_H02_PASS\nidentity =\n")
fx.write(inv, text)
local i = " -i " .. fx.q(inv)
local function drover(args, env)
  local err = os.tmpname()
  local p = assert(io.popen(("env -u DROVER_TEST_H02_PASS HOME=%s SSH_AUTH_SOCK= XDG_STATE_HOME=%s %s %s %s 2>%s")
    :format(fx.q(dir), fx.q(dir .. "/state"), env or "", fx.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fx.read(err) or ""; os.remove(err)
  return code, out, e
end

local code, out, err = drover("hosts" .. i)
check.eq(code, 0, err)
check.eq(out:find("password=<unset: DROVER_TEST_H02_PASS>", 1, true) ~= nil, true, out)
code, out = drover("hosts --json" .. i)
check.eq(out:find('"password":"<unset: DROVER_TEST_H02_PASS>"', 1, true) ~= nil, true, out)

code, out, err = drover("exec" .. i .. " -g all 'echo up'")
check.eq(code, 1, err)
check.eq(out:find("h01 | up", 1, true) ~= nil, true, out .. err)
check.eq(err:find("password_env names DROVER_TEST_H02_PASS, which is not set", 1, true) ~= nil, true, err)
check.eq(fx.read(dir .. "/state/drover/failed"), "h02\n")
-- a script sees the failure as kind auth
local script = dir .. "/kind.lua"
fx.write(script, [[
local ok, e = pcall(ssh.run, "true")
print(host.name, ok and "ok" or e.kind)
]])
code, out, err = drover("run " .. fx.q(script) .. i .. " -g all")
check.eq(code, 0, err)
check.eq(out:find("h02 | h02\tauth", 1, true) ~= nil, true, out .. err)
check.eq(out:find("h01 | h01\tok", 1, true) ~= nil, true, out .. err)

-- set: it is the password
local pw = os.getenv("DROVER_TEST_SSH_PASSWORD")
code, out, err = drover("exec" .. i .. " -H h02 'echo by password'", "DROVER_TEST_H02_PASS=" .. fx.q(pw))
check.eq(code, 0, err)
check.eq(out, "h02 | by password\n", err)
code, out = drover("hosts" .. i .. " -H h02", "DROVER_TEST_H02_PASS=" .. fx.q(pw))
check.eq(out:find("password=<secret>", 1, true) ~= nil, true, out)
check.eq(out:find(pw, 1, true), nil, out)

-- needs: sshd*2
-- On a terminal (script(1) gives drover a pty) hosts get colours and gathered runs show a
-- progress line; NO_COLOR turns colours off; piped output has no ANSI codes at all. A script
-- with a syntax error exits 2 before any host runs.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local exe = fx.q(os.getenv("DROVER_EXE"))
local function on_tty(env, args)
  return fx.sh(("%s script -qec %s /dev/null </dev/null"):format(env,
    fx.q(exe .. " exec -i " .. fx.q(inv) .. " " .. args)))
end
local live = on_tty("", "-H h01,h02 -- echo hi")
check.eq(live:find("\27%[3%dmh01\27%[0m | hi") ~= nil, true, "coloured host: " .. live)
local plain = on_tty("NO_COLOR=1", "-H h01,h02 -- echo hi")
check.eq(plain:find("\27[", 1, true), nil, "NO_COLOR: " .. plain)
check.eq(plain:find("h01 | hi", 1, true) ~= nil, true, plain)
local gathered = on_tty("", "-b -H h01,h02 -- echo hi")
check.eq(gathered:find("2/2 done, 0 failed", 1, true) ~= nil, true, "progress line: " .. gathered)

local code, out, err = fx.drover("exec -i " .. fx.q(inv) .. " -b -H h01,h02 -- echo hi")
check.eq(code, 0, err)
check.eq((out .. err):find("\27", 1, true), nil, "no ANSI when piped")
check.eq(err:find("done,", 1, true), nil, "no progress line when piped")

fx.write(dir .. "/broken.lua", "print('x'\n")
code, out, err = fx.drover("run " .. fx.q(dir .. "/broken.lua") .. " -i " .. fx.q(inv) .. " -g all")
check.eq(code, 2, err)
check.eq(err:find("broken.lua:2:", 1, true) ~= nil, true, err)
check.eq(out, "", "no host ran")
fx.sh("rm -rf " .. fx.q(dir))

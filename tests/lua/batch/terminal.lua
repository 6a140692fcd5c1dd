-- needs: sshd*2
-- On a terminal (script(1) gives drover a pty) hosts get colours of their own, stderr lines
-- and outcomes are marked, -b headers and the summary coloured, and live and gathered runs
-- show a progress line; --color always|never and NO_COLOR decide over the terminal; piped
-- output has no ANSI codes at all. A script with a syntax error exits 2 before any host runs.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local exe = fx.q(os.getenv("DROVER_EXE"))
local function on_tty(env, args)
  -- (a failing run fails script(1) too: its output is what is looked at)
  return fx.sh(("%s script -qec %s /dev/null </dev/null || true"):format(env,
    fx.q(exe .. " exec -i " .. fx.q(inv) .. " " .. args)))
end
local function has(text, what, msg) check.eq(text:find(what, 1, true) ~= nil, true, (msg or what) .. ": " .. text) end
local function hasnt(text, what, msg) check.eq(text:find(what, 1, true), nil, (msg or what) .. ": " .. text) end

local live = on_tty("", "-H h01,h02 -- 'echo hi; echo oops >&2'")
local c1 = live:match("\27%[38;5;(%d+)mh01\27%[0m | hi")
local c2 = live:match("\27%[38;5;(%d+)mh02\27%[0m | hi")
check.eq(c1 ~= nil and c2 ~= nil, true, "256-colour hosts: " .. live)
check.eq(c1 ~= c2, true, "neighbours differ: " .. live)
has(live, "mh01\27[0m \27[31m! oops\27[0m", "stderr marked beyond the !")
has(live, "\27[32m2 ok\27[0m", "coloured summary")
has(live, "/2 done, 0 failed", "progress line in live mode")

local plain = on_tty("NO_COLOR=1", "-H h01,h02 -- echo hi")
hasnt(plain, "\27[3", "NO_COLOR: no colour")
has(plain, "h01 | hi")
local never = on_tty("", "--color never -H h01,h02 -- echo hi")
hasnt(never, "\27[3", "--color never")
local forced = on_tty("NO_COLOR=1", "--color always -H h01 -- echo hi")
has(forced, "mh01\27[0m | hi", "--color always wins over NO_COLOR")

local gathered = on_tty("", "-b -H h01,h02,dead1@127.0.0.1:1 -- 'exit 4'")
has(gathered, "/3 done, ", "progress line under -b")
has(gathered, "2 failed, 1 unreachable", "the progress line names outcomes as the summary does")
has(gathered, "\27[1mh[01-02] (2)\27[0m\27[1;31m failed: command `exit 4` exited with code 4", "coloured -b header")
has(gathered, "\27[1;35m1 unreachable\27[0m", "coloured summary")

local code, out, err = fx.drover("exec -i " .. fx.q(inv) .. " -b -H h01,h02 -- echo hi")
check.eq(code, 0, err)
hasnt(out .. err, "\27", "no ANSI when piped")
hasnt(err, "done,", "no progress line when piped")
code, out, err = fx.drover("exec -i " .. fx.q(inv) .. " --color always -H h01 -- echo hi")
check.eq(code, 0, err)
has(out, "mh01\27[0m | hi", "--color always when piped")
code, out, err = fx.drover("exec -i " .. fx.q(inv) .. " --color sometimes -H h01 -- echo hi")
check.eq(code, 2, err)
has(err, "sometimes", "a bad --color value is named")

fx.write(dir .. "/broken.lua", "print('x'\n")
code, out, err = fx.drover("run " .. fx.q(dir .. "/broken.lua") .. " -i " .. fx.q(inv) .. " -g all")
check.eq(code, 2, err)
check.eq(err:find("broken.lua:2:", 1, true) ~= nil, true, err)
check.eq(out, "", "no host ran")
fx.sh("rm -rf " .. fx.q(dir))

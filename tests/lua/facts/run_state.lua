-- needs: sshd*2
-- task.run_state(), where drover.facts keeps its cache: one table per run, shared by the
-- run's tasks, and by the hosts of a per-host run; each REPL entry has its own.
local check = require "check"
local fx = require "fixture"

local s = task.run_state()
check.eq(type(s), "table")
check.eq(task.spawn(function() return task.run_state() end):join(), s, "a spawned task shares it")
check.eq(task.run_state(), s)

local inv, dir = fx.inventory(2)
local script = dir .. "/count.lua"
fx.write(script, [[
local s = task.run_state()
s.n = (s.n or 0) + 1
task.barrier("counted")
print("seen " .. s.n)
]])
local code, out, err = fx.drover(("run %s -i %s -g all"):format(fx.q(script), fx.q(inv)))
check.eq(code, 0, err)
local _, twos = out:gsub("seen 2", "")
check.eq(twos, 2, "both hosts share the run's table\n" .. out)

local lines = dir .. "/lines.txt"
fx.write(lines, 'task.run_state().x = "set"\nprint("x=" .. tostring(task.run_state().x))\n')
code, out, err = fx.drover("repl < " .. fx.q(lines))
check.eq(code, 0, err)
check.eq(out:find("x=nil", 1, true) ~= nil, true, "the next REPL entry starts empty\n" .. out)

-- time-limit: 120
-- A task that overflows the Lua stack is reported at the line of the overflow even when the
-- collector, running at the overflow point, has finalizers to call (garbage __gc tables here;
-- in real runs the userdata every async call leaves), and while the task is preempted. Stock
-- Lua 5.4.9 then found the stack too full for finalizers and silently switched it to its
-- error-handling size, so the overflow raised "error in error handling" without running the
-- task's message handler and the report lost file:line (about 3 overflows in 10 here, so 8
-- rounds caught it in about 94% of runs).
local check = require "check"
local finalizable = { __gc = function() end }
local stop = false
local litter = task.spawn(function()
  while not stop do
    setmetatable({}, finalizable)
    task.sleep(0)
  end
end)
for round = 1, 8 do
  local t = task.spawn(function()
    local function recurse(n) return 1 + recurse(n + 1) end
    return recurse(1)
  end)
  task.join_all({ t })
  check.eq(t:error():match("^[^\n]*"),
    "tests/lua/errors/stack_overflow_reports.lua:20: stack overflow", "overflow " .. round)
end
stop = true
litter:join()

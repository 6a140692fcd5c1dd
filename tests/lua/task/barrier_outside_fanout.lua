-- task.barrier and task.once outside a per-host run raise a clear error at the caller's line.
local check = require "check"
check.raises("task.barrier: only in a per-host run", task.barrier, "x")
local ok, e2 = pcall(function() task.once("x", function() end) end)
check.eq(ok, false)
check.eq(tostring(e2):find("barrier_outside_fanout.lua:4: task.once: only in a per-host run", 1, true) ~= nil, true, tostring(e2))

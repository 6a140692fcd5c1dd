-- expect-stdout: survived
-- Invalid arguments raise a clear error and never panic the process.
local check = require "check"
check.raises("seconds must be a finite number >= 0, got -1", task.sleep, -1)
check.raises("seconds must be a number, got string", task.sleep, "soon")
check.raises("seconds must be a finite number >= 0", task.sleep, 0 / 0)
check.raises("seconds must be a finite number >= 0", task.sleep, math.huge)
check.raises("task.delay: argument #2 must be a function", task.delay, 1, "nope")
check.raises("task.timeout: seconds must be a finite number >= 0", task.timeout, -5, function() end)
check.raises("unknown option 'maxsize2'", task.queue, { maxsize2 = 1 })
check.raises("maxsize must be an integer >= 0", task.queue, { maxsize = -1 })
check.raises("not a task handle", task.join_all, { 1, 2 })
check.raises("list of tasks is empty", task.wait_any, {})
check.raises("bad argument", task.spawn, "not a function")
check.raises("event:wait timeout: seconds must be a finite number >= 0", task.event().wait, task.event(), -1)
check.raises("pool:map: argument #2 must be a list", task.pool(2).map, task.pool(2), print, 5)
-- the process is still alive and well
task.sleep(0.01)
print("survived")
-- pcall hands errors from Rust functions to Lua as plain strings at the caller's line
local ok, err = pcall(task.sleep, -1)
check.eq(ok, false)
check.eq(type(err), "string", "error type")
check.eq(err, "tests/lua/errors/bad_arguments.lua:21: task.sleep: seconds must be a finite number >= 0, got -1")
local ok2, err2 = xpcall(task.sleep, function(e) return "handled: " .. e end, "x")
check.eq(ok2, false)
check.eq(err2:find("^handled: tests/lua/errors/bad_arguments.lua:25: task.sleep") ~= nil, true, err2)
-- other error values pass through untouched
local t = {}
check.eq(select(2, pcall(error, t)), t)

-- spawn passes arguments, join returns every value (nils included), status/done track the task.
local check = require "check"
local h = task.spawn(function(a, b) task.sleep(0.01); return a + b, nil, "x" end, 1, 2)
check.eq(h:status(), "running")
check.eq(h:done(), false)
local a, b, c = h:join()
check.eq(a, 3); check.eq(b, nil); check.eq(c, "x")
check.eq(select("#", h:join()), 3, "join can be repeated and keeps all values")
check.eq(h:status(), "done")
check.eq(h:done(), true)
check.eq(tostring(h):match("^task#%d+ %(done%)$") ~= nil, true, "tostring")
-- task.sleep(0) yields to others
local order = {}
local t = task.spawn(function() order[#order + 1] = "child" end)
order[#order + 1] = "parent-before"
task.sleep(0)
order[#order + 1] = "parent-after"
check.list_eq(order, { "parent-before", "child", "parent-after" })
-- require "task" is the same table as the global
check.eq(require("task"), task)
-- task.current() is the running task
local me
local inner = task.spawn(function() me = task.current() end)
inner:join()
check.eq(me:id(), inner:id())

-- An error raised in a child is re-raised by join, with the child's line and traceback.
local check = require "check"
local function fails()
  task.sleep(0.01)
  error("disk full")          -- line 5
end
local h = task.spawn(fails)
local err = check.raises("disk full", h.join, h)
check.eq(err:find("join_reraises.lua:5: disk full", 1, true) ~= nil, true, "child line in message: " .. err)
check.eq(err:find("stack traceback", 1, true) ~= nil, true, "child traceback kept")
check.eq(err:find("__mlua", 1, true), nil, "no mlua internals in: " .. err)
check.eq(h:status(), "failed")
-- table error values are re-raised as the same value
local t = { code = 42 }
local h2 = task.spawn(function() error(t) end)
local ok, e2 = pcall(h2.join, h2)
check.eq(ok, false); check.eq(e2, t, "same table")
-- a cancelled task's join raises "cancelled"
local h3 = task.spawn(task.sleep, 10)
task.sleep(0)
h3:cancel()
check.raises("cancelled", h3.join, h3)
check.eq(h3:status(), "cancelled")

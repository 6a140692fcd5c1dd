-- expect-exit: 1
-- expect-stderr: error: tests/lua/errors/error_values.lua:30: error object is a table: {code = 7, host = "db1"}
-- expect-stderr: error in task 5 (never joined): tests/lua/errors/error_values.lua:27: error object is nil (error() was called without a message)
-- expect-stderr: error in task 6 (never joined): tests/lua/errors/error_values.lua:28: stack overflow
-- expect-stderr: 	tests/lua/errors/error_values.lua:34: in main chunk
-- reject-stderr: table: 0x
-- reject-stderr: raw_xpcall
-- reject-stderr: task failed with
-- Error values that are not strings are shown by what they hold, at the line that raised
-- them; the value itself still reaches pcall and join unchanged.
local check = require "check"
local t = { code = 7 }
check.eq(select(2, pcall(error, t)), t)
local h = task.spawn(function() error(t) end)
check.eq(select(2, pcall(h.join, h)), t, "join re-raises the same table")
check.eq(h:error():match("^[^\n]*"), "tests/lua/errors/error_values.lua:14: error object is a table: {code = 7}")
local m = task.spawn(function() error({ message = "no route to db", code = 3 }) end)
task.join_all({ m })
check.eq(m:error():match("^[^\n]*"), "tests/lua/errors/error_values.lua:17: no route to db")
local s = task.spawn(function() error(setmetatable({}, { __tostring = function() return "custom text" end })) end)
task.join_all({ s })
check.eq(s:error():match("^[^\n]*"), "tests/lua/errors/error_values.lua:20: custom text")
local ok, e = pcall(function() local function r(n) return 1 + r(n + 1) end return r(1) end)
check.eq(ok, false)
check.eq(e:find("error_values.lua:23: stack overflow", 1, true) ~= nil, true, e)
-- never joined: reported at the end of the run
task.spawn(function() error() end)
task.spawn(function() local function r(n) return 1 + r(n + 1) end return r(1) end)
task.sleep(0.05)
local function deeper(v) error(v) end
local function tail(v) return deeper(v) end
-- an uncaught table error ends the script with its fields shown, its line and traceback
local detail = { code = 7, host = "db1" }
tail(detail)

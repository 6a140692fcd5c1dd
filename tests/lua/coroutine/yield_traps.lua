-- Suspending where Lua cannot yield raises a clear error naming the restriction.
local check = require "check"
check.raises("task.sleep cannot suspend inside a table.sort comparator", table.sort, { 3, 1, 2 },
  function(a, b) task.sleep(0); return a < b end)
check.raises("cannot suspend inside a string.gsub callback", string.gsub, "abc", ".",
  function(c) task.queue():get { timeout = 0.01 } end)
local e = check.raises("at the top level of a module being loaded by require", require, "sleepy_module")
check.eq(e:find("task.sleep", 1, true) ~= nil, true, e)
-- inside a metamethod called by Lua code, suspending works (Lua 5.4 can yield there)
local t = setmetatable({}, { __index = function(_, k) task.sleep(0.01); return k .. "!" end })
check.eq(t.hi, "hi!")
-- and inside pcall
check.eq(select(2, pcall(function() task.sleep(0.01); return "pcall ok" end)), "pcall ok")

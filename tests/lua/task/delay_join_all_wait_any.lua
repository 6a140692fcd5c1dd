-- task.delay, join_all and wait_any, with and without timeouts.
local check = require "check"
local t0 = task.now()
local d = task.delay(0.1, function(x) return x, task.now() end, "late")
local v, at = d:join()
check.eq(v, "late")
check.between(at - t0, 0.09, 1.0, "delay waited")

local hs = {}
for i = 1, 5 do hs[i] = task.spawn(function() task.sleep(0.02 * i); return i end) end
check.eq(task.join_all(hs), true)
for i = 1, 5 do check.eq(hs[i]:status(), "done") end

-- join_all timeout path
local slow = task.spawn(task.sleep, 1)
local ok, why = task.join_all({ slow }, 0.05)
check.eq(ok, nil); check.eq(why, "timeout")
slow:cancel()

-- wait_any returns the first finished handle and its index
local a = task.spawn(task.sleep, 0.3)
local b = task.spawn(function() task.sleep(0.05); return "b" end)
local first, index = task.wait_any({ a, b })
check.eq(index, 2); check.eq(first:join(), "b")
-- wait_any timeout path
local r1, r2 = task.wait_any({ a }, 0.01)
check.eq(r1, nil); check.eq(r2, "timeout")
a:cancel()

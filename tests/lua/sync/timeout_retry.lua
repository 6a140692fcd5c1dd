-- task.timeout raises on expiry and cancels the work; task.retry retries with backoff.
local check = require "check"
check.eq(task.timeout(1, function(a) task.sleep(0.01); return a * 2 end, 21), 42)
local finished = false
local t0 = task.now()
local err = check.raises("timeout: task.timeout(0.1s) expired", task.timeout, 0.1, function()
  task.sleep(5); finished = true
end)
check.between(task.now() - t0, 0.09, 1, "timeout fired on time")
task.sleep(0.05)
check.eq(finished, false, "the timed-out work was cancelled")
check.raises("inner failure", task.timeout, 1, function() error("inner failure") end)
-- nested timeouts: the inner one fires first
check.raises("task.timeout(0.05s)", task.timeout, 1, function() task.timeout(0.05, task.sleep, 1) end)

local calls = 0
local v = task.retry(function(n)
  calls = calls + 1
  if n < 3 then error("flaky " .. n) end
  return "ok on " .. n
end, { attempts = 5, delay = 0.01, backoff = 2 })
check.eq(v, "ok on 3"); check.eq(calls, 3)
local e = check.raises("all 2 attempts failed; last error:", task.retry, function(n) error("nope " .. n) end, { attempts = 2 })
check.eq(e:find("nope 2", 1, true) ~= nil, true, e)
local t1 = task.now()
check.raises("timeout", task.retry, function() task.sleep(1) end, { attempts = 2, timeout = 0.05 })
check.between(task.now() - t1, 0.09, 1, "each attempt timed out")
check.raises("unknown option 'tries'", task.retry, function() end, { tries = 3 })

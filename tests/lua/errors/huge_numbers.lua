-- reject-stderr: panicked
-- reject-stderr: stack overflow
-- expect-stdout: still alive
-- Numbers out of range for every numeric argument of the task module are a Lua error naming
-- the argument at the caller's line, never a Rust panic (which reached Lua as "C stack
-- overflow" with a backtrace on stderr).
local check = require "check"

local function raised_at(line, needle, fn, ...)
  local ok, err = pcall(fn, ...)
  check.eq(ok, false, needle)
  local want = ("tests/lua/errors/huge_numbers.lua:%d: %s"):format(line, needle)
  check.eq(err:sub(1, #want), want, "error text")
end

local function at(line, needle, fn, ...) raised_at(line, needle, fn, ...) end
-- `pcall(fn, ...)` reports the line of the pcall: line 10
local L = 10
at(L, "task.pool: size must be an integer >= 1 and <= 1000000, got 1e+20", task.pool, 1e20)
at(L, "task.pool: size must be an integer >= 1 and <= 1000000, got 2.5", task.pool, 2.5)
at(L, "task.pool: size must be an integer >= 1 and <= 1000000, got 9223372036854775807", task.pool, math.maxinteger)
at(L, "task.semaphore: size must be an integer >= 1 and <= 1000000, got 1e+20", task.semaphore, 1e20)
at(L, "task.semaphore: size must be an integer >= 1 and <= 1000000, got 9223372036854775807", task.semaphore, math.maxinteger)
at(L, "task.timeout: seconds must be at most 31536000 (365 days), got 9223372036854775807", task.timeout, math.maxinteger, print)
at(L, "task.timeout: seconds must be at most 31536000 (365 days), got 1e+20", task.timeout, 1e20, print)
at(L, "task.sleep: seconds must be at most 31536000 (365 days), got 1e+300", task.sleep, 1e300)
at(L, "task.sleep: seconds must be a finite number >= 0, got -inf", task.sleep, -math.huge)
at(L, "task.delay: seconds must be at most 31536000 (365 days), got 1e+20", task.delay, 1e20, print)
at(L, "task.join_all timeout: seconds must be at most 31536000 (365 days), got 1e+20", task.join_all, {}, 1e20)
at(L, "task.wait_any timeout: seconds must be a finite number >= 0, got nan", task.wait_any, { task.spawn(print) }, 0 / 0)
at(L, "task.queue: maxsize must be an integer >= 0, got 1e+20", task.queue, { maxsize = 1e20 })
at(L, "task.retry: attempts must be an integer >= 1 and <= 1000000, got 1e+20", task.retry, print, { attempts = 1e20 })
at(L, "task.retry delay: seconds must be at most 31536000 (365 days), got 1e+20", task.retry, print, { delay = 1e20 })
at(L, "task.retry timeout: seconds must be at most 31536000 (365 days), got 9223372036854775807", task.retry, print, { timeout = math.maxinteger })
check.raises("task.retry: backoff must be a number from 1 to 1000, got", task.retry, print, { backoff = 0 / 0 })
check.raises("task.retry: backoff must be a number from 1 to 1000, got 1e+20", task.retry, print, { backoff = 1e20 })
local ev, sem, q = task.event(), task.semaphore(1), task.queue({ maxsize = 1 })
at(L, "event:wait timeout: seconds must be at most 31536000 (365 days), got 1e+20", ev.wait, ev, 1e20)
at(L, "semaphore:acquire timeout: seconds must be at most 31536000 (365 days), got 1e+20", sem.acquire, sem, 1e20)
at(L, "queue:get timeout: seconds must be at most 31536000 (365 days), got 1e+20", q.get, q, { timeout = 1e20 })
q:put(1)
at(L, "queue:put timeout: seconds must be at most 31536000 (365 days), got 9223372036854775807", q.put, q, 2, math.maxinteger)
at(L, "queue:join timeout: seconds must be at most 31536000 (365 days), got 1e+20", q.join, q, 1e20)

-- the largest accepted values work
local big = task.pool(1000000)
check.eq(big:size(), 1000000)
check.eq(task.timeout(31536000, function() return "fast" end), "fast")
check.eq(task.retry(function(n) if n < 3 then error("again") end return n end, { attempts = 3, delay = 0.001, backoff = 1000 }), 3)

-- the process survived every one of them
print("still alive")

-- event:set wakes every waiter; semaphore bounds concurrency; lock:with releases on error;
-- all timeout paths return nil, "timeout".
local check = require "check"
local ev = task.event()
local woken = 0
local waiters = {}
for i = 1, 50 do waiters[i] = task.spawn(function() ev:wait(); woken = woken + 1 end) end
task.sleep(0.05)
check.eq(woken, 0, "waiters block until set")
check.eq(ev:is_set(), false)
ev:set()
task.join_all(waiters)
check.eq(woken, 50, "set wakes all waiters")
check.eq(ev:wait(), true, "wait on a set event returns at once")
ev:clear()
local ok, why = ev:wait(0.05)
check.eq(ok, nil); check.eq(why, "timeout")

local sem = task.semaphore(2)
local inside, peak = 0, 0
local hs = {}
for i = 1, 8 do
  hs[i] = task.spawn(function()
    return sem:with(function()
      inside = inside + 1; peak = math.max(peak, inside)
      task.sleep(0.01)
      inside = inside - 1
      return i
    end)
  end)
end
task.join_all(hs)
check.eq(peak, 2, "semaphore(2) admits two at a time")
check.eq(hs[4]:join(), 4, "with returns fn's values")
check.eq(sem:available(), 2)
sem:acquire(); sem:acquire()
local a, w = sem:acquire(0.05)
check.eq(a, nil); check.eq(w, "timeout")
check.eq(sem:try_acquire(), false)
sem:release(); sem:release()
check.raises("release without a matching acquire", sem.release, sem)

local lock = task.lock()
check.raises("inside", lock.with, lock, function() error("inside") end)
check.eq(lock:available(), 1, "released after an error")
local holder = task.spawn(function() lock:with(task.sleep, 10) end)
task.sleep(0.01)
check.eq(lock:available(), 0)
holder:cancel(); task.join_all { holder }
check.eq(lock:available(), 1, "released when the holder is cancelled")
check.raises("size must be an integer >= 1", task.semaphore, -1)

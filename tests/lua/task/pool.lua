-- A pool of n never has more than n tasks running (counted), map keeps input order.
local check = require "check"
local p = task.pool(3)
local running, peak = 0, 0
local function work(x)
  running = running + 1
  if running > peak then peak = running end
  task.sleep(0.01 + (x % 4) * 0.005)
  running = running - 1
  return x * 10
end
local items = {}
for i = 1, 20 do items[i] = i end
local out = p:map(work, items)
check.eq(peak, 3, "peak concurrency of map")
for i = 1, 20 do check.eq(out[i], i * 10, "map result " .. i) end

-- p:spawn waits while the pool is full
running, peak = 0, 0
for i = 1, 10 do p:spawn(work, i) end
check.eq(p:running() <= 3, true)
p:join()
check.eq(peak, 3, "peak concurrency of spawn")
check.eq(p:running(), 0)

-- a slot is freed when a pool task is cancelled or fails
local q = task.pool(1)
local h = q:spawn(task.sleep, 10)
h:cancel()
local h2 = q:spawn(function() error("x") end)
pcall(h2.join, h2)
local h3 = q:spawn(function() return "free" end)
check.eq(h3:join(), "free")

-- map re-raises the first error in input order and cancels the rest
local ran_late = false
local err = check.raises("item 2 failed", p.map, p, function(x)
  if x == 2 then error("item " .. x .. " failed") end
  task.sleep(0.2); if x == 5 then ran_late = true end
  return x
end, { 1, 2, 3, 4, 5 })
task.sleep(0.3)
check.eq(ran_late, false, "items still running were cancelled")
check.raises("size must be an integer >= 1", task.pool, 0)

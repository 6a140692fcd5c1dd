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

-- errors = "collect": every item runs to its end; results by index, errors by index
local finished = 0
local results, errors = p:map(function(x)
  task.sleep(0.01 * (6 - x))           -- later items finish first
  if x % 2 == 0 then error("item " .. x .. " failed") end
  finished = finished + 1
  return x * 10
end, { 1, 2, 3, 4, 5 }, { errors = "collect" })
check.eq(finished, 3, "every successful item ran")
check.eq(results.n, 5)
for _, i in ipairs { 1, 3, 5 } do check.eq(results[i], i * 10, "result " .. i) end
check.eq(results[2], nil); check.eq(results[4], nil)
local failed = {}
for i, e in pairs(errors) do
  failed[#failed + 1] = i
  check.eq(type(e), "string")
  assert(e:find("item " .. i .. " failed", 1, true), e)
end
table.sort(failed)
check.eq(table.concat(failed, ","), "2,4", "errors by index")
-- nothing failed: an empty error table; a non-string error value passes as it is
local r2, e2 = p:map(function(x) return x end, { 7, 8 }, { errors = "collect" })
check.eq(r2[1] + r2[2], 15); check.eq(next(e2), nil, "no errors")
local _, e3 = p:map(function() error({ code = 7 }) end, { 1 }, { errors = "collect" })
check.eq(e3[1].code, 7, "a table error value is kept")
-- the default stays "raise"; bad options name themselves
check.raises("item 2 failed", p.map, p, function(x)
  if x == 2 then error("item 2 failed") end
end, { 1, 2 }, { errors = "raise" })
check.raises('errors must be "raise" or "collect"', p.map, p, print, { 1 }, { errors = "keep" })
check.raises("unknown option", p.map, p, print, { 1 }, { error = "collect" })
check.raises("argument #3 must be an options table", p.map, p, print, { 1 }, "collect")

-- Task runtime figures (run by scripts/bench-tasks.sh with a release build).
local N = tonumber(arg[1]) or 100000

local function rss_kib()
  local f = io.open("/proc/self/status")
  if not f then return 0 end
  local s = f:read("a"); f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)")) or 0
end

-- 1. spawn + join
collectgarbage(); collectgarbage()
local c0, w0 = os.clock(), task.now()
local hs = {}
for i = 1, N do hs[i] = task.spawn(function() return i end) end
for i = 1, N do hs[i]:join() end
local cpu, wall = os.clock() - c0, task.now() - w0
hs = nil
print(("spawn+join: %d tasks, %.2f us CPU per task (%.2f s CPU, %.2f s wall)"):format(N, cpu / N * 1e6, cpu, wall))

-- 2. N concurrent sleepers
collectgarbage(); collectgarbage()
local rss0, lua0 = rss_kib(), collectgarbage("count")
c0, w0 = os.clock(), task.now()
local sleepers = {}
local peak_rss, peak_lua = 0, 0
for i = 1, N do sleepers[i] = task.spawn(task.sleep, 0.5) end
task.spawn(function()
  task.sleep(0.25)
  peak_rss, peak_lua = rss_kib(), collectgarbage("count")
end)
task.join_all(sleepers)
cpu, wall = os.clock() - c0, task.now() - w0
sleepers = nil
print(("sleepers: %d x sleep(0.5) in %.2f s wall, %.2f s CPU (%.2f us each)"):format(N, wall, cpu, cpu / N * 1e6))
print(("sleepers: %.2f KiB RSS per task, %.2f KiB Lua heap per task (RSS %d MiB at peak)"):format(
  (peak_rss - rss0) / N, (peak_lua - lua0) / N, peak_rss // 1024))

-- 3. queue round trips between two tasks (ping over q1, pong over q2)
local R = N * 2
local q1, q2 = task.queue(), task.queue()
local ponger = task.spawn(function()
  for _ = 1, R do q2:put(q1:get()) end
end)
c0, w0 = os.clock(), task.now()
for i = 1, R do q1:put(i); q2:get() end
cpu, wall = os.clock() - c0, task.now() - w0
ponger:join()
print(("queue ping-pong: %d round trips, %.0f round trips/s (%.2f us CPU each)"):format(R, R / wall, cpu / R * 1e6))

-- 4. queue throughput: producer -> consumer through a bounded queue
local q = task.queue { maxsize = 1000 }
local consumer = task.spawn(function() for _ = 1, R do q:get() end end)
w0 = task.now()
for i = 1, R do q:put(i) end
consumer:join()
wall = task.now() - w0
print(("queue stream: %d items, %.0f put/get pairs per s"):format(R, R / wall))

-- drover's take on the classic gevent demos: every call that waits suspends only its own
-- task, so plain sequential code runs concurrently.
--
--   drover run examples/tasks.lua

-- 1. spawn / joinall: three "downloads" in parallel take as long as the slowest one.
local t0 = task.now()
local downloads = {}
for i, url in ipairs { "a.example", "b.example", "c.example" } do
  downloads[i] = task.spawn(function()
    task.sleep(0.1 * i) -- stands in for network I/O
    return url .. " (" .. 100 * i .. " bytes)"
  end)
end
task.join_all(downloads)
for _, h in ipairs(downloads) do print("fetched", h:join()) end
local took = task.now() - t0
print(("spawn/joinall: 3 jobs in %.2fs (sequential would be 0.60s)"):format(took))
assert(took < 0.55, "downloads ran concurrently")

-- 2. A pool over a list: at most 3 at a time, results in input order (GreenPool.imap).
local pool = task.pool(3)
local running, peak = 0, 0
local squares = pool:map(function(n)
  running = running + 1; peak = math.max(peak, running)
  task.sleep(0.02)
  running = running - 1
  return n * n
end, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 })
print("pool.map squares:", table.concat(squares, " "), "peak concurrency:", peak)
assert(peak == 3 and squares[10] == 100)

-- 3. Producer / consumer over a bounded queue, with task_done/join.
local jobs = task.queue { maxsize = 2 }
local done = {}
local workers = {}
for w = 1, 2 do
  workers[w] = task.spawn(function()
    while true do
      local job = jobs:get()
      task.sleep(0.01)
      done[#done + 1] = ("worker %d did %s"):format(w, job)
      jobs:task_done()
    end
  end)
end
for i = 1, 6 do jobs:put("job" .. i) end -- blocks while two jobs are waiting
jobs:join()
for _, w in ipairs(workers) do w:cancel() end
print(("queue: %d jobs done by 2 workers"):format(#done))
assert(#done == 6)

-- 4. An event gate: waiters block until one task opens the gate, then all go at once.
local gate = task.event()
local passed = 0
local waiters = {}
for i = 1, 5 do
  waiters[i] = task.spawn(function() gate:wait(); passed = passed + 1 end)
end
task.sleep(0.05)
print("before the gate opens:", passed, "passed")
gate:set()
task.join_all(waiters)
print("after gate:set():", passed, "passed")
assert(passed == 5)

-- 5. Timeouts and retries.
local ok, err = pcall(task.timeout, 0.05, task.sleep, 10)
print("timeout:", ok, err)
local attempts = 0
local result = task.retry(function(n)
  attempts = n
  if n < 3 then error("flaky") end
  return "worked"
end, { attempts = 5, delay = 0.01 })
print(("retry: %s after %d attempts"):format(result, attempts))

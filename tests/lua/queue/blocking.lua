-- A full queue blocks put until a get; an empty queue blocks get until a put;
-- producer/consumer with task_done/join; every timeout path returns nil, "timeout".
local check = require "check"
local q = task.queue { maxsize = 2 }
q:put(1); q:put(2)
local put_done_at
local producer = task.spawn(function() q:put(3); put_done_at = task.now() end)
task.sleep(0.1)
check.eq(put_done_at, nil, "put blocks while the queue is full")
local got_at = task.now()
check.eq(q:get(), 1)
producer:join()
check.between(put_done_at - got_at, 0, 0.05, "put proceeds right after the get")
check.eq(q:len(), 2)

-- get blocks until a put
local e = task.queue()
local consumer = task.spawn(function() return e:get(), task.now() end)
task.sleep(0.05)
check.eq(consumer:done(), false, "get blocks while the queue is empty")
local put_at = task.now()
e:put("hello")
local v, at = consumer:join()
check.eq(v, "hello"); check.between(at - put_at, 0, 0.05)

-- timeouts
local full = task.queue { maxsize = 1 }
full:put("x")
local t0 = task.now()
local ok, why = full:put("y", { timeout = 0.05 })
check.eq(ok, nil); check.eq(why, "timeout")
check.between(task.now() - t0, 0.04, 0.5, "put timeout waited")
local v2, why2 = task.queue():get { timeout = 0.05 }
check.eq(v2, nil); check.eq(why2, "timeout")
local v3, why3 = task.queue():get(0.01)
check.eq(v3, nil); check.eq(why3, "timeout", "bare number timeout")
check.raises("unknown option 'timout'", full.get, full, { timout = 1 })

-- producer / consumer with task_done and join
local jobs = task.queue { maxsize = 3 }
local processed = {}
local workers = {}
for w = 1, 2 do
  workers[w] = task.spawn(function()
    while true do
      local job = jobs:get()
      task.sleep(0.01)
      processed[#processed + 1] = job
      jobs:task_done()
    end
  end)
end
for i = 1, 10 do jobs:put(i) end
jobs:join()
check.eq(#processed, 10, "join waits for every task_done")
local r, w = jobs:join(0.01)
check.eq(r, true, "join with nothing pending")
local stuck = task.queue()
stuck:put(1)
local r3, w3 = stuck:join(0.02)
check.eq(r3, nil); check.eq(w3, "timeout")
check.raises("called more times", task.queue().task_done, task.queue())
for _, w in ipairs(workers) do w:cancel() end

-- CPU-bound Lua cannot freeze the other tasks: timers keep firing, task.timeout and cancel
-- stop a busy loop, also inside a user coroutine and where Lua cannot yield.
local check = require "check"
local ticks = 0
local ticker = task.spawn(function() while true do task.sleep(0.02); ticks = ticks + 1 end end)

-- A busy loop for 0.5 s of wall time: the ticker keeps ticking meanwhile.
local busy = task.spawn(function()
  local stop = task.now() + 0.5
  local n = 0
  while task.now() < stop do n = n + 1 end
  return n
end)
task.sleep(0.01)
local before = ticks
busy:join()
check.eq(ticks - before >= 5, true, "ticker ran during the busy loop (" .. (ticks - before) .. " ticks)")

-- task.timeout stops an endless loop
local t0 = task.now()
check.raises("timeout: task.timeout(0.2s) expired", task.timeout, 0.2, function()
  local x = 0
  while true do x = x + 1 end
end)
check.between(task.now() - t0, 0.15, 1.5, "endless loop stopped near its deadline")

-- ... also inside a user coroutine
local spin = coroutine.wrap(function() while true do end end)
check.raises("timeout", task.timeout, 0.1, function() spin() end)

-- ... and inside a table.sort comparator, where Lua cannot yield: an error names why
local e = check.raises("stopped inside a call where Lua cannot yield", task.timeout, 0.1, function()
  table.sort({ 5, 4, 3, 2, 1 }, function(a, b) while true do end end)
end)
check.eq(e:find("timeout", 1, true) ~= nil, true, e)

-- cancel from another task stops a busy task
local looping = task.spawn(function() while true do end end)
task.sleep(0.05)
looping:cancel()
check.eq(task.join_all({ looping }, 2), true, "busy task was cancelled")
check.eq(looping:status(), "cancelled")
ticker:cancel()

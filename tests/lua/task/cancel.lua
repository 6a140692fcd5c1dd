-- cancel stops a sleeping task at once, runs its <close> handlers, and never resumes it.
local check = require "check"
local after, closed = false, false
local h = task.spawn(function()
  local guard <close> = setmetatable({}, { __close = function() closed = true end })
  task.sleep(5)
  after = true
end)
task.sleep(0.05)
local t0 = task.now()
h:cancel()
task.join_all({ h })
check.between(task.now() - t0, 0, 0.5, "cancel is prompt")
check.eq(h:status(), "cancelled")
check.eq(closed, true, "<close> ran on cancel")
task.sleep(0.1)
check.eq(after, false, "code after the sleep never ran")

-- a task parked inside a user coroutine (a generator that sleeps) is cancelled too
local steps = 0
local h2 = task.spawn(function()
  local gen = coroutine.wrap(function()
    while true do task.sleep(0.02); steps = steps + 1; coroutine.yield(steps) end
  end)
  while true do gen() end
end)
task.sleep(0.15)
h2:cancel()
task.join_all({ h2 })
local seen = steps
check.eq(h2:status(), "cancelled")
check.eq(seen > 2, true, "the generator ran before the cancel (" .. seen .. " steps)")
task.sleep(0.1)
check.eq(steps, seen, "no step after cancel")

-- cancelling a finished task changes nothing
local h3 = task.spawn(function() return 1 end)
h3:join()
h3:cancel()
check.eq(h3:status(), "done")

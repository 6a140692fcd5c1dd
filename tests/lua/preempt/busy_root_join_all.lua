-- time-limit: 60
-- Regression: a root task preempted while entering task.join_all (inside mlua's async-call
-- wrapper) was never woken again. Spawning many tasks keeps the root busy past the
-- preemption quantum right before each join_all.
local check = require "check"
for round = 1, 5 do
  local hs = {}
  for i = 1, 20000 do hs[i] = task.spawn(task.sleep, 0.05) end
  check.eq(task.join_all(hs, 10), true, "round " .. round .. " joined")
end

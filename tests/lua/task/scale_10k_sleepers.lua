-- 10,000 tasks each sleeping 0.5 s run concurrently: all finish well under 3 s.
local check = require "check"
local t0 = task.now()
local done = 0
local handles = {}
for i = 1, 10000 do
  handles[i] = task.spawn(function() task.sleep(0.5); done = done + 1; return i end)
end
task.join_all(handles)
local elapsed = task.now() - t0
check.eq(done, 10000, "finished tasks")
check.eq(handles[777]:join(), 777, "value of task 777")
check.between(elapsed, 0.5, 3.0, "wall time of 10k x sleep(0.5)")
print(("10000 sleepers in %.2fs"):format(elapsed))

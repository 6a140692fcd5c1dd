-- expect-stdout: grandchild finished
-- Tasks spawned by tasks spawned by tasks all run; the run waits for every one of them.
local check = require "check"
local leaves = 0
local function tree(depth)
  if depth == 0 then task.sleep(0.01); leaves = leaves + 1; return 1 end
  local a = task.spawn(tree, depth - 1)
  local b = task.spawn(tree, depth - 1)
  return a:join() + b:join()
end
check.eq(tree(6), 64, "sum from nested joins")
check.eq(leaves, 64)
-- a grandchild nobody joins still runs to the end before the run exits
task.spawn(function()
  task.spawn(function() task.sleep(0.2); print("grandchild finished") end)
end)

-- expect-exit: 1
-- expect-stderr: error in task 2 (never joined): tests/lua/exit/unjoined_failure.lua:9: lost worker
-- expect-stderr: stack traceback:
-- expect-stdout: root finished
-- reject-stderr: task 3
-- A task that fails with nobody joining it is reported at the end and fails the run;
-- a failure somebody joined and handled is not.
task.spawn(function()
  task.sleep(0.01); error("lost worker")
end)
local handled = task.spawn(function() error("handled") end)
pcall(handled.join, handled)
task.sleep(0.05)
print("root finished")

-- expect-exit: 130
-- interrupt-on: READY
-- expect-stderr: interrupted
-- expect-stdout: closed
-- reject-stdout: never
-- time-limit: 20
-- Ctrl-C cancels every task (their <close> handlers run) and exits 130,
-- even while one task spins in a CPU-bound loop.
for i = 1, 3 do
  task.spawn(function()
    local guard <close> = setmetatable({}, { __close = function() print("closed") end })
    task.sleep(30)
    print("never")
  end)
end
task.spawn(function() local x = 0; while true do x = x + 1 end end)
task.sleep(0.1)
print("READY")
io.stdout:flush()
task.sleep(30)
print("never")

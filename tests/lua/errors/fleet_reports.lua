-- fleet: 3
-- expect-exit: 1
-- expect-stderr: h01 ! failed: tests/lua/errors/fleet_reports.lua:24: command `exit 5` exited with code 5 (pass {check = false} to get the result instead)
-- expect-stderr: h02 ! failed: tests/lua/errors/fleet_reports.lua:27: command `exit 6` exited with code 6 (pass {check = false} to get the result instead)
-- expect-stderr: h02 ! 	tests/lua/errors/fleet_reports.lua:27: in function <tests/lua/errors/fleet_reports.lua:27>
-- expect-stderr: h03 ! failed: tests/lua/errors/fleet_reports.lua:30: command `echo seven >&2; exit 7` exited with code 7; stderr:
-- expect-stderr: h03 ! seven (pass {check = false} to get the result instead)
-- expect-stderr: h03 ! 	tests/lua/errors/fleet_reports.lua:31: in main chunk
-- expect-stderr: == 3 hosts: 3 failed
-- expect-stderr:    failed h01: tests/lua/errors/fleet_reports.lua:24: command `exit 5` exited with code 5 (pass
-- expect-stderr:    failed h02: tests/lua/errors/fleet_reports.lua:27: command `exit 6` exited with code 6 (pass
-- reject-stderr: userdata
-- reject-stderr: h01: command
-- reject-stderr: stack traceback
-- reject-stderr: h01 ! 	tests/lua/errors/fleet_reports.lua:24: in main chunk
-- reject-stderr: [drover]
-- reject-stderr: __mlua
-- Uncaught error values are reported per host with the text and traceback errors always had:
-- raised directly, re-raised by a join, and re-raised by the script after a pcall that
-- looked at err.kind (at the pcall's line: error(err) adds no second position to a value).
local name = host.name
if name == "h01" then
  -- raised where the command ran
  ssh.run("exit 5")
elseif name == "h02" then
  -- re-raised by join in the parent task
  local t = task.spawn(function() ssh.run("exit 6") end)
  t:join()
else
  local ok, err = pcall(ssh.run, "echo seven >&2; exit 7")
  if not ok and err.kind == "exit" and err.code == 7 then error(err) end
end

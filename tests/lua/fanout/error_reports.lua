-- fleet: 3
-- expect-exit: 1
-- expect-stderr: h01 ! failed: tests/lua/fanout/error_reports.lua:18: error object is a table: {code = 7, reason = "disk full"}
-- expect-stderr: h02 ! failed: tests/lua/fanout/error_reports.lua:20: stack overflow
-- expect-stderr: h03 ! failed: tests/lua/fanout/error_reports.lua:26: no route to db
-- expect-stderr: h03 ! 	tests/lua/fanout/error_reports.lua:26: in function <tests/lua/fanout/error_reports.lua:24>
-- expect-stderr: h03 ! 	tests/lua/fanout/error_reports.lua:29: in main chunk
-- expect-stderr: == 3 hosts: 3 failed
-- reject-stderr: table: 0x
-- reject-stderr: h01 ! 	tests/lua/fanout/error_reports.lua:18: in main chunk
-- reject-stderr: stack traceback
-- reject-stderr: raw_xpcall
-- reject-stderr: tail calls
-- reject-stderr: __mlua
-- reject-stderr: [drover]
-- reject-stderr: task failed with
-- Per-host failures read well: a table error shows its fields, a stack overflow its line,
if host.name == "h01" then error({ code = 7, reason = "disk full" }) end
if host.name == "h02" then
  local function recurse(n) return 1 + recurse(n + 1) end
  recurse(1)
end
-- and a traceback shows only the script's frames (no driver, no tail-call marker).
local function fail_deep(what)
  ssh.run("true")
  error(what)
end
local function via_tail_call(what) return fail_deep(what) end
via_tail_call("no route to db")

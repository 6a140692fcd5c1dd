-- needs: sshd*8
-- time-limit: 60
-- One sshd killed mid-run: that host is unreachable, the others ok, exit 1. Ctrl-C (SIGINT
-- to drover) cancels every running host, leaves no remote process behind, exits 130.
local check = require "check"
local fx = require "fixture"
local inv = fx.inventory(8)
local i = " -i " .. fx.q(inv)

-- kill h08's sshd after the run has started (2 hosts at a time: h08 connects last)
local victim = fx.sshd_pid(8)
local out_file = fx.tmpname()
local p = assert(io.popen(("%s exec%s --forks 2 -g all -- 'echo up; sleep 0.5' >%s 2>&1; echo exit=$?")
  :format(fx.q(os.getenv("DROVER_EXE")), i, out_file)))
local deadline = task.now() + 20
while not (fx.read(out_file) or ""):find(" | up", 1, true) do
  assert(task.now() < deadline, "no output")
  task.sleep(0.01)
end
fx.sh("kill " .. victim)
local tail = p:read("a"); p:close()
local out = fx.read(out_file); os.remove(out_file)
check.eq(tail, "exit=1\n", out)
check.eq(out:find("== 8 hosts: 7 ok, 1 unreachable", 1, true) ~= nil, true, out)
check.eq(out:find("unreachable h08: cannot connect", 1, true) ~= nil, true, out)

-- Ctrl-C: remote sleeps are gone afterwards, exit 130
local marker = "sleep 31.4159"
local pid, wait = fx.start_drover(("exec%s -H h01,h02,h03 -- %s"):format(i, fx.q(marker)))
fx.wait_for("remote commands never started", 20, function() return fx.remote_commands(marker) >= 3 end)
fx.sh("kill -INT " .. pid)
local status, text = wait()
check.eq(status, 130, text)
check.eq(text:find("3 cancelled", 1, true) ~= nil, true, text)
fx.wait_for("remote processes left behind", 5, function() return fx.remote_processes(marker) == 0 end)

-- needs: sshd*3
-- time-limit: 60
-- Ctrl-C (SIGINT to drover) during `drover run -g`: running hosts are cancelled, their remote
-- commands get TERM (none is left), the summary counts them cancelled, exit 130.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(3)
local marker = "32.7182"
fx.write(dir .. "/long.lua", ('ssh.run("sleep %s")\n'):format(marker))
local pid_file, log = os.tmpname(), os.tmpname()
local p = assert(io.popen(("sh -c 'echo $$ > %s; exec %s run %s -i %s -g all' >%s 2>&1; echo exit=$?")
  :format(pid_file, fx.q(os.getenv("DROVER_EXE")), fx.q(dir .. "/long.lua"), fx.q(inv), log)))
local function remote_sleeps()
  return tonumber(fx.sh("pgrep -u drover-test -f -c 'sleep " .. marker .. "' || true"))
end
local deadline = task.now() + 20
while remote_sleeps() < 3 do
  assert(task.now() < deadline, "remote commands never started")
  task.sleep(0.02)
end
fx.sh("kill -INT " .. fx.read(pid_file):match("%d+"))
local status = p:read("a"); p:close()
local text = fx.read(log)
check.eq(status, "exit=130\n", text)
check.eq(text:find("== 3 hosts: 3 cancelled", 1, true) ~= nil, true, text)
deadline = task.now() + 5
while remote_sleeps() > 0 do
  assert(task.now() < deadline, "remote processes left behind")
  task.sleep(0.05)
end
os.remove(pid_file); os.remove(log); fx.sh("rm -rf " .. fx.q(dir))

-- needs: sshd*3
-- time-limit: 60
-- Ctrl-C (SIGINT to drover) during `drover run -g`: running hosts are cancelled, their remote
-- commands get TERM (none is left), the summary counts them cancelled, exit 130.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(3)
local marker = "sleep 32.7182"
fx.write(dir .. "/long.lua", ('ssh.run("%s")\n'):format(marker))
local pid, wait = fx.start_drover(("run %s -i %s -g all"):format(fx.q(dir .. "/long.lua"), fx.q(inv)))
fx.wait_for("remote commands never started", 20, function() return fx.remote_commands(marker) >= 3 end)
fx.sh("kill -INT " .. pid)
local code, text = wait()
check.eq(code, 130, text)
check.eq(text:find("== 3 hosts: 3 cancelled", 1, true) ~= nil, true, text)
fx.wait_for("remote processes left behind", 5, function() return fx.remote_processes(marker) == 0 end)
fx.sh("rm -rf " .. fx.q(dir))

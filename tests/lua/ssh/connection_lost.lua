-- needs: sshd*2
-- time-limit: 60
-- A connection lost mid-command is named as such ("connection lost while running ..."), not
-- "ended without an exit status", and a per-host run counts that host unreachable.
local check = require "check"
local fx = require "fixture"

--- Kills every process serving connections of sshd number n (children and grandchildren of
--- the listener the harness started), by PID.
local function cut_connections(n)
  fx.sh("kill -9 " .. fx.sshd_sessions(n))
end

local marker = "sleep 36.5432"
local h = fx.host()
local t = task.spawn(function() return h:run(marker) end)
fx.wait_for("remote command never started", 20, function() return fx.remote_processes(marker) >= 1 end)
cut_connections(1)
local ok, err = pcall(t.join, t)
check.eq(ok, false, "the command cannot succeed")
check.eq(tostring(err):find("connection lost while running `" .. marker .. "`", 1, true) ~= nil, true, tostring(err))
check.eq(tostring(err):find("exit status", 1, true), nil, tostring(err))
-- the host reconnects by itself afterwards
check.eq(h:run("echo back").stdout, "back\n")

-- per-host run: the cut host is unreachable, the other ok
local inv, dir = fx.inventory(2)
local marker2 = "sleep 36.6543"
fx.write(dir .. "/cut.lua", ('if host.name == "h01" then ssh.run("%s") else ssh.run("sleep 2") end\n'):format(marker2))
local pid, wait = fx.start_drover(("run %s -i %s -g all"):format(fx.q(dir .. "/cut.lua"), fx.q(inv)))
fx.wait_for("remote command never started", 20, function() return fx.remote_processes(marker2) >= 1 end)
cut_connections(1)
local code, text = wait()
check.eq(code, 1, text)
check.eq(text:find("== 2 hosts: 1 ok, 1 unreachable", 1, true) ~= nil, true, text)
check.eq(text:find("connection lost while running", 1, true) ~= nil, true, text)
fx.sh("rm -rf " .. fx.q(dir))

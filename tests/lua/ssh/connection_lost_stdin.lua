-- needs: sshd
-- time-limit: 60
-- A command whose connection dies while its stdin is still being sent (the channel's window
-- used up: the command does not read it) fails at once with `connection_lost`, instead of
-- waiting for window space that a dead server never grants.
local check = require "check"
local fx = require "fixture"

-- unique per run: the remote command outlives the killed sshd (it is removed at the end)
local marker = ("sleep 37.%06d"):format(math.random(0, 999999))
local h = fx.host()
local input = string.rep("x", 16 << 20)
local t = task.spawn(function() return h:run(marker, { stdin = input }) end)
fx.wait_for("remote command never started", 20, function() return fx.remote_processes(marker) >= 1 end)
-- the processes serving this sshd's connections: stopped (so the window runs out), then killed
local cut_at = fx.cut_stalled(1)
local ok, err = pcall(t.join, t)
check.eq(ok, false, "the command cannot succeed")
check.eq(task.now() - cut_at < 20, true, ("the command failed after %.1fs"):format(task.now() - cut_at))
check.eq(err.kind, "connection_lost", tostring(err))
check.eq(tostring(err):find("connection lost while running `" .. marker .. "`", 1, true) ~= nil, true, tostring(err))
-- the host reconnects by itself afterwards
check.eq(h:run("echo back").stdout, "back\n")
fx.sh(("kill $(pgrep -u drover-test -f %s) 2>/dev/null || true"):format(fx.q(marker)))

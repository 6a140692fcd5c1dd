-- needs: sshd
-- time-limit: 60
-- A connection that ends under a running command raises a `connection_lost` error value
-- (during), with the text it always had.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local h = fx.host()
local marker = "sleep 37.4321"
local t = task.spawn(function()
  local ok, err = pcall(h.run, h, marker); local at = ev.here()
  return ok, err, at
end)
fx.wait_for("remote command never started", 20, function() return fx.remote_processes(marker) >= 1 end)
-- kill every process serving this sshd's connections (children and grandchildren), by PID
fx.sh("kill -9 " .. fx.sshd_sessions(1))
local ok, err, at = t:join()
ev.expect("connection_lost", h.name, at, ("%s: connection lost while running `%s` (the host or the network closed it; the command may or may not have finished)")
  :format(h.name, marker), ok, err)
check.eq(err.during, "running `" .. marker .. "`")
local again
if err.kind == "connection_lost" then again = h:run("echo back").stdout end
check.eq(again, "back\n", "reconnects after the loss")

-- needs: sshd
-- sshd-config: AuthorizedKeysFile none
-- sshd-config: AuthorizedKeysCommand /bin/sleep 41.25
-- sshd-config: AuthorizedKeysCommandUser nobody
-- A connection that ends while authenticating is unreachable, with a text that says the
-- connection closed, never "authentication failed" (russh answers an attempt on an ended
-- connection as a refusal). sshd here looks up keys only through a command that sleeps; the
-- connection is cut, by PID, while it does.
local check = require "check"
local fx = require "fixture"

local t = task.spawn(function()
  return pcall(function() local h = fx.host(); return h:run("true") end)
end)
local function asking() return tonumber(fx.sh("pgrep -c -f '^/bin/sleep 41.25' || true")) > 0 end
fx.wait_for("sshd never asked its keys command", 20, asking)
fx.sh("kill -9 " .. fx.sshd_sessions(1))
local ok, err = t:join()
check.eq(ok, false, "the connection was cut")
check.eq(err.kind, "unreachable", tostring(err))
check.eq(tostring(err):find("the connection closed while authenticating as " .. os.getenv("DROVER_TEST_SSH_USER"), 1, true) ~= nil,
  true, tostring(err))
check.eq(tostring(err):find("authentication failed", 1, true), nil, tostring(err))

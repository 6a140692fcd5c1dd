-- needs: sshd
-- time-limit: 60
-- A finished host's connection ends with SSH_MSG_DISCONNECT (by application, reason 11), not a
-- bare close: sshd then leaves through its fatal-exit path instead of `exit` and its atexit
-- clean-up of OpenSSL, which cost about 1 ms of server CPU per connection at 500 hosts.
-- sshd (LogLevel DEBUG1) logs "Received disconnect ... :11:" for the one, "Connection closed
-- by" for the other.
local check = require "check"
local fx = require "fixture"

local log_path = os.getenv("DROVER_TEST_SSH_LOG")
local function count(pattern)
  local n = 0
  for _ in (fx.read(log_path) or ""):gmatch(pattern) do n = n + 1 end
  return n
end
local goodbye = "Received disconnect from 127%.0%.0%.1 port %d+:11:"

local inv = fx.inventory(1)
local code, _, err = fx.drover("exec -i " .. fx.q(inv) .. " -g all -- true")
check.eq(code, 0, err)
fx.wait_for("sshd logs drover exec's goodbye", 10, function() return count(goodbye) >= 1 end)

local script = fx.tmpname() .. ".lua"
fx.write(script, 'ssh.run("true")\nssh.run("true")\n')
code, _, err = fx.drover("run " .. fx.q(script) .. " -i " .. fx.q(inv) .. " -g all")
check.eq(code, 0, err)
fx.wait_for("sshd logs drover run's goodbye", 10, function() return count(goodbye) >= 2 end)

-- one connection each (the run's two commands shared one), and none just dropped
check.eq(count(goodbye), 2, fx.read(log_path))
check.eq(count("Connection closed by"), 0, fx.read(log_path))

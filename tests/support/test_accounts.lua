-- The user and groups of the stdlib's account tests: names unique to this run (its pid),
-- looked up here with getent (sshd is this machine), removed by `cleanup`, also when a
-- check failed.
local fx = require "fixture"

local M = {}

local pid = fx.sh("echo $PPID"):gsub("%s+", "")
--- A name no user or group has, for errors ("drovertnone<pid>").
M.missing = "drovertnone" .. pid
--- The test user, and two groups.
M.user, M.group, M.group2 = "drovertu" .. pid, "drovertg" .. pid, "drovertx" .. pid
--- Where the test user's home goes.
M.home = fx.scratch() .. "/home-" .. M.user

--- Removes the user (with its home) and every group the tests make, if they exist.
function M.cleanup()
  fx.sh(("userdel -r %s >/dev/null 2>&1; for g in %s %s %s; do groupdel $g >/dev/null 2>&1; done; true")
    :format(M.user, M.user, M.group, M.group2))
end

--- The `db` (passwd, group, ...) entry of `name` on this machine, "" when there is none.
function M.getent(db, name)
  return (fx.sh(("getent %s %s || true"):format(db, name)):gsub("\n$", ""))
end

return M

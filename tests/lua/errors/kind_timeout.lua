-- needs: sshd
-- A command past its timeout raises a `timeout` error value (command, seconds), with the text
-- it always had.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local h = fx.host()
local t0 = task.now()
local ok, err = pcall(h.run, h, "sleep 5", { timeout = 0.5 }); local at = ev.here()
check.between(task.now() - t0, 0.4, 4, "the timeout ended the command early")
ev.expect("timeout", h.name, at,
  h.name .. ": command `sleep 5` timed out after 0.5s (the remote process was sent TERM)", ok, err)
check.eq(err.command, "sleep 5"); check.eq(err.seconds, 0.5)
local retry
if err.kind == "timeout" then retry = true end
check.eq(retry, true, "branch on err.kind")
-- the connection is fine afterwards
check.eq(h:run("echo after").stdout, "after\n")

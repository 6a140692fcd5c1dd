-- needs: sshd
-- A failed file operation raises an `sftp` error value (op, path, reason), with the text it
-- always had, from host methods and from the sftp module alike.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local h = fx.host()
local there = fx.remote_dir(h)
local here = fx.local_dir()
local missing = there .. "/nope.txt"
local ok, err = pcall(h.get, h, missing, here); local at = ev.here()
check.eq(type(err) == "userdata" and type(err.reason) == "string", true, tostring(err))
ev.expect("sftp", h.name, at, ("%s: sftp get %s: %s"):format(h.name, missing, err.reason), ok, err)
check.eq(err.op, "get"); check.eq(err.path, missing)
check.eq(err.reason, "no such file or directory")

ssh.with(h, function()
  local ok2, err2 = pcall(sftp.read, missing); local at2 = ev.here()
  ev.expect("sftp", h.name, at2, ("%s: sftp read %s: no such file or directory"):format(h.name, missing), ok2, err2)
  check.eq(err2.op, "read")
end)

local fallback
if err.kind == "sftp" and err.reason:find("no such file", 1, true) then fallback = "default config" end
check.eq(fallback, "default config")
h:run("rm -rf " .. fx.q(there)); fx.sh("rm -rf " .. fx.q(here))

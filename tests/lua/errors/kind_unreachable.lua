-- needs: sshd
-- A host whose port is closed raises an `unreachable` error value (address, reason), with the
-- text it always had; so does a connect timeout.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

-- a loopback port nobody listens on: bind one, note it, let it go
local port = tonumber(fx.sh([[python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])']]))
local h = fx.host { port = port }
local name = "127.0.0.1:" .. port
local ok, err = pcall(h.run, h, "true"); local at = ev.here()
check.eq(type(err) == "userdata" and type(err.reason) == "string", true, tostring(err))
ev.expect("unreachable", name, at, ("%s: cannot connect to %s: %s (is sshd running and reachable?)")
  :format(name, name, err.reason), ok, err)
check.eq(err.address, name)
check.eq(err.reason:lower():find("refused", 1, true) ~= nil, true, err.reason)

local skipped = {}
for _, host in ipairs { h } do
  local ok2, e = pcall(host.run, host, "uptime")
  if not ok2 and e.kind == "unreachable" then skipped[#skipped + 1] = e.host end
end
check.list_eq(skipped, { name }, "hosts skipped by err.kind")

-- sftp on an unreachable host is the same kind
local ok3, err3 = pcall(h.read, h, "/etc/hostname"); local at3 = ev.here()
ev.expect("unreachable", name, at3, err.message, ok3, err3)

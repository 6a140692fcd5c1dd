-- needs: sshd
-- A changed host key raises a `host_key` error value (key_type, fingerprint, file, line); an
-- unknown key under the strict policy too. Texts as they always were.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local dir = fx.local_dir()
local kh = dir .. "/known_hosts"
-- a different ed25519 key recorded for this host, on line 2
fx.write(kh, ("# a comment line\n[127.0.0.1]:%d ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
  :format(port))
local changed = fx.host { known_hosts = kh }
local ok, err = pcall(changed.run, changed, "true"); local at = ev.here()
check.eq(type(err) == "userdata" and type(err.fingerprint) == "string", true, tostring(err))
ev.expect("host_key", changed.name, at, ("%s: HOST KEY CHANGED: the server offers %s key %s, but %s:2 records another one; refusing to connect (remove that line if the change is expected)")
  :format(changed.name, err.key_type, err.fingerprint, kh), ok, err)
check.eq(err.fingerprint:sub(1, 7), "SHA256:")
check.eq(err.file, kh); check.eq(err.line, 2)

-- unknown under strict
local strict = fx.host { known_hosts = dir .. "/empty", host_key_policy = "strict" }
local ok2, err2 = pcall(strict.run, strict, "true"); local at2 = ev.here()
check.eq(type(err2) == "userdata" and type(err2.fingerprint) == "string", true, tostring(err2))
ev.expect("host_key", strict.name, at2, ("%s: unknown host key %s %s refused (host key policy is strict; add it to %s)")
  :format(strict.name, err2.key_type, err2.fingerprint, dir .. "/empty"), ok2, err2)

local action
if err.kind == "host_key" then action = "check " .. err.file .. ":" .. err.line end
check.eq(action, "check " .. kh .. ":2")
fx.sh("rm -rf " .. fx.q(dir))

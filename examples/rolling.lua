-- driver: tests/examples/rolling.lua
-- A rolling change: a new release, one batch of hosts at a time. Each host that is not at the
-- release yet is taken out of the load balancer's pool, changed, checked, and put back; a
-- host that fails its health check stays out, and no further batch starts.
--
--   drover run examples/rolling.lua -i inventory.ini -g web --check -- 2.4.1          # what would change
--   drover run examples/rolling.lua -i inventory.ini -g web --serial 1 --max-fail 0% -- 2.4.1
--
-- `--serial 1` runs one host at a time (`--serial 25%`: a quarter of the group per batch);
-- `--max-fail 0%` starts no further batch once any host failed (the summary names it; the
-- hosts not reached are "cancelled"). Hosts already at the release are left alone, so a
-- second run changes nothing. The inventory says where things are (each has a default):
--
--   [group web]
--   hosts = web[01-04]
--   app_service = app                  # the service the release runs as
--   app_conf = /etc/app/app.conf       # its config: the release is its `version = ` line
--   app_drain = /etc/app/drain         # while this file exists, the load balancer's health
--                                      # check takes the host out of the pool
--   app_drain_seconds = 5              # how long in-flight requests get to finish
--   app_health = curl -fsS http://127.0.0.1:8080/health   # the health check (default: the
--                                      # service is running)
--
-- Changing /etc and restarting services needs root: log in as root, or add `sudo = true`.
local file = require "drover.file"
local service = require "drover.service"
local facts = require "drover.facts"

local release = ...
if not release or not release:match("^[%w.+~-]+$") then
  error("usage: drover run examples/rolling.lua -g GROUP --serial N -- RELEASE (such as 2.4.1)", 0)
end
local v = host.vars
local name = v.app_service or "app"
local conf = v.app_conf or "/etc/app/app.conf"
local drain = v.app_drain or "/etc/app/drain"
local line = "version = " .. release
-- check mode changes nothing and starts nothing: there is no new release to check the health of
local checking = require("drover.op").check_mode()

-- At the release already? (sftp.read only reads: it works in check mode too.)
local ok, text = pcall(sftp.read, conf)
if ok and ("\n" .. text):find("\n" .. line .. "\n", 1, true) then
  print(("%s is at %s already"):format(host.name, release))
  return
end

-- The health check, a few times: the service must be running, and the command succeed.
local function healthy()
  for _ = 1, 10 do
    facts.invalidate("service", name)
    local up = facts.service(name).active
    if up and (v.app_health == nil or ssh.run(v.app_health, { check = false, readonly = true }).ok) then
      return true
    end
    task.sleep(0.5)
  end
  return false
end

-- 1. out of the pool, and let in-flight requests finish
file.present(drain, { content = "draining for " .. release .. "\n" })
if not checking then task.sleep(tonumber(v.app_drain_seconds) or 5) end
-- 2. the change
file.line(conf, { line = line, pattern = "^version%s*=" })
service.restarted(name)
-- 3. healthy? If not, the host stays out of the pool and fails: with --max-fail 0% no
-- further batch starts
if not checking and not healthy() then
  error(("%s is not healthy after the change to %s: left out of the pool (%s)"):format(name, release, drain), 0)
end
-- 4. back into the pool
file.absent(drain)
print(("%s: %s"):format(host.name, checking and ("would move to " .. release) or ("at " .. release)))

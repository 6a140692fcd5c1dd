-- needs: sshd
-- time-limit: 30
-- Every service operation against a SysV test service of its own (this machine runs no
-- systemd), as root on the sshd fixture, twice: the first run changes the host (checked
-- here: the daemon's pidfile, ps, the rc links), the second finds it so; restarted always
-- changes. The service and every daemon it started are removed at the end, pass or fail.
local check = require "check"
local fx = require "fixture"
local test_service = require "test_service"
local service = require "drover.service"
local facts = require "drover.facts"

local svc = test_service.create("twice")
local h = fx.host { user = "root" }

local ok, err = pcall(ssh.with, h, function()
  check.eq(h:run("id -u").stdout, "0\n", "logged in as root")
  local name = svc.name
  local twice = check.twice

  check.eq(facts.service(name).manager, "sysv")
  check.eq(svc.running(), false)
  local r = twice("service.running", function() return service.running(name) end, function()
    check.eq(svc.running(), true, "the daemon runs")
  end)
  check.eq(r.reason, "started")
  check.eq(svc.starts(), 1, "started once")
  check.eq(facts.service(name).active, true, "the fact was read again")

  local before = svc.pid()
  r = service.restarted(name)
  check.eq(r.changed, true)
  check.eq(r.reason, "restarted")
  check.eq(svc.running(), true)
  check.eq(svc.starts(), 2, "restarted: started again")
  check.eq(svc.pid() ~= before, true, "a new daemon")
  check.eq(service.restarted(name).changed, true, "restarted always changes")
  check.eq(svc.starts(), 3)

  r = twice("service.stopped", function() return service.stopped(name) end, function()
    check.eq(svc.running(), false, "the daemon is gone")
    check.eq(svc.pid(), nil, "no pidfile")
  end)
  check.eq(r.reason, "stopped")

  check.eq(svc.links(), 0, "not enabled yet")
  r = twice("service.enabled", function() return service.enabled(name) end, function()
    check.eq(svc.links(), 4, "start links in rc2.d..rc5.d")
  end)
  check.eq(r.reason, "enabled")
  check.eq(svc.running(), false, "enabling does not start it")

  -- a service that does not exist: an error naming it (check mode says unknown instead)
  local e = check.raises("no service drover-test-none-0 on this host (sysv)", service.running, "drover-test-none-0")
  check.eq(e:find("service.running drover-test-none-0", 1, true) ~= nil, true, e)
  check.raises("service.stopped: \"a b\" is not a service name", service.stopped, "a b")
  check.raises("service.running: unknown option 'user'", service.running, name, { user = "x" })
end)
svc.remove()
check.eq(fx.sh("test -e " .. fx.q(svc.path) .. " && echo there || echo gone"), "gone\n")
check.eq(svc.links(), 0, "rc links removed")
if not ok then error(err, 0) end

-- needs: sshd
-- ssh.run runs on the task's current host: set by ssh.with, inherited by spawned tasks, seen
-- from user coroutines, restored afterwards.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local h = ssh.connect { address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
  identity = os.getenv("DROVER_TEST_SSH_KEY"), known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"),
  name = "fixture" }
check.raises("ssh.run: no current host", ssh.run, "true")
local out = ssh.with(h, function(a)
  check.eq(ssh.current().name, "fixture")
  local direct = ssh.run("echo " .. a).stdout
  local child = task.spawn(function() return ssh.run("echo child").stdout end)
  local gen = coroutine.wrap(function() coroutine.yield(ssh.run("echo gen").stdout) end)
  return direct .. child:join() .. gen()
end, "direct")
check.eq(out, "direct\nchild\ngen\n")
check.eq(ssh.current(), nil, "restored after ssh.with")
check.eq(ssh.with(h, ssh.run, "hostname >/dev/null; echo ok").host, "fixture")
check.raises("expected a host object", ssh.with, task.event(), function() end)
-- the open-files limit was raised to the hard limit at start; the cap it implies is known
local f = assert(io.popen("sh -c 'ulimit -Hn'")); local hard = f:read("l"); f:close()
if hard ~= "unlimited" then
  check.eq(ssh.max_connections(), tonumber(hard) - 64, "connection cap from the hard limit")
end

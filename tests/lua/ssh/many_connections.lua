-- needs: sshd
-- time-limit: 120
-- 200 connections to one sshd with the default MaxStartups (10:30:100) all succeed: the
-- client caps handshakes in flight per server and retries dropped ones.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local hosts = {}
for i = 1, 200 do
  hosts[i] = ssh.connect { address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
    identity = os.getenv("DROVER_TEST_SSH_KEY"), known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"),
    name = "conn" .. i }
end
local t0 = task.now()
local results = task.pool(200):map(function(h) return h:run("echo $PPID").stdout end, hosts)
local distinct = {}
for i = 1, 200 do distinct[results[i]] = true end
local n = 0
for _ in pairs(distinct) do n = n + 1 end
check.eq(n, 200, "200 separate sessions")
print(("200 connections in %.2fs"):format(task.now() - t0))

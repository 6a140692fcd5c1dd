-- needs: sshd*20
-- time-limit: 90
-- 100 tasks on 20 hosts (20 real sshd) run concurrently: 5 tasks per host, each `sleep 1`,
-- finish in far less than the serial 100 s.
local check = require "check"
local hosts = {}
for i = 1, 20 do
  local p = i == 1 and "DROVER_TEST_SSH" or ("DROVER_TEST_SSH" .. i)
  hosts[i] = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv(p .. "_PORT")),
    user = os.getenv(p .. "_USER"), identity = os.getenv(p .. "_KEY"),
    known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false, name = "host" .. i }
end
local t0 = task.now()
local hs = {}
for i = 1, 100 do
  local h = hosts[(i - 1) % 20 + 1]
  hs[i] = task.spawn(function() return h:run("sleep 1; echo " .. i) end)
end
for i = 1, 100 do
  local r = hs[i]:join()
  check.eq(r.stdout, i .. "\n")
  check.eq(r.host, "host" .. ((i - 1) % 20 + 1))
end
local elapsed = task.now() - t0
check.between(elapsed, 1, 8, "100 x sleep 1 on 20 hosts (serial: 100 s)")
print(("100 tasks on 20 hosts in %.2fs"):format(elapsed))

-- SSH figures (run by scripts/bench-ssh.sh against its own loopback sshd).
local port = tonumber(os.getenv("BENCH_SSH_PORT"))
local N = tonumber(arg[1]) or 500
local function spec(i)
  return { address = "127.0.0.1", port = port, user = os.getenv("BENCH_SSH_USER"), agent = false,
    identity = os.getenv("BENCH_SSH_KEY"), known_hosts = os.getenv("BENCH_KNOWN_HOSTS"), name = "c" .. i }
end
local function rss_kib()
  local f = io.open("/proc/self/status"); local s = f:read("a"); f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- 1. handshakes: N connections, each running `true`, all kept open
collectgarbage()
local rss0 = rss_kib()
local hosts = {}
for i = 1, N do hosts[i] = ssh.connect(spec(i)) end
local c0, w0 = os.clock(), task.now()
task.pool(N):map(function(h) return h:run("true").code end, hosts)
local cpu, wall = os.clock() - c0, task.now() - w0
-- the same N commands again over the now-open connections: what a command alone costs
local c1 = os.clock()
task.pool(N):map(function(h) return h:run("true").code end, hosts)
local cmd_cpu = os.clock() - c1
print(("handshakes: %d in %.2f s = %.0f/s; client CPU %.2f ms per connection (handshake + auth + one command)"):format(
  N, wall, N / wall, cpu / N * 1000))
print(("  of which one command: %.2f ms; handshake + auth alone: %.2f ms client CPU"):format(
  cmd_cpu / N * 1000, (cpu - cmd_cpu) / N * 1000))
collectgarbage()
print(("open connections: %d, RSS %+d KiB = %.0f KiB per connection"):format(N, rss_kib() - rss0, (rss_kib() - rss0) / N))
hosts = nil
collectgarbage()

-- 2. commands over one connection
local h = ssh.connect(spec(0))
h:run("true")
local M = 2000
c0, w0 = os.clock(), task.now()
task.pool(50):map(function() return h:run("true").code end, (function() local t = {} for i = 1, M do t[i] = i end return t end)())
wall = task.now() - w0
print(("commands over one connection: %d in %.2f s = %.0f/s (%.2f ms client CPU each)"):format(M, wall, M / wall,
  (os.clock() - c0) / M * 1000))

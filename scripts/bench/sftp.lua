-- SFTP figures for drover (run by scripts/bench-sftp.sh against its own loopback sshd).
-- args: LOCAL_FILE REMOTE_PATH LOCAL_BACK
local src, remote, back = arg[1], arg[2], arg[3]
local h = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv("BENCH_SSH_PORT")),
  user = os.getenv("BENCH_SSH_USER"), identity = os.getenv("BENCH_SSH_KEY"), agent = false,
  known_hosts = os.getenv("BENCH_KNOWN_HOSTS") }
h:run("true") -- connect first: the figures are for the transfer alone
h:stat("/")   -- and open the sftp session
local size = h:run("true") and io.open(src):seek("end")
local mib = size / (1 << 20)
local function measure(what, fn)
  local c0, w0 = os.clock(), task.now()
  fn()
  local cpu, wall = os.clock() - c0, task.now() - w0
  print(("drover %-8s %7.0f MiB/s  %5.2f s wall  %5.2f s client CPU"):format(what, mib / wall, wall, cpu))
end
measure("upload", function() h:put(src, remote, { skip_same = false }) end)
measure("download", function() h:get(remote, back) end)

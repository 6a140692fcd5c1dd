-- needs: sshd sshd
-- ProxyJump: reach the second sshd through the first over a direct-tcpip channel (no extra
-- process); the first sshd's log shows the forwarded connection; loops are refused.
local check = require "check"
local function host(n, extra)
  local p = n == 1 and "DROVER_TEST_SSH" or "DROVER_TEST_SSH2"
  local s = { address = "127.0.0.1", port = tonumber(os.getenv(p .. "_PORT")), user = os.getenv(p .. "_USER"),
    identity = os.getenv(p .. "_KEY"), known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false }
  for k, v in pairs(extra or {}) do s[k] = v end
  return s
end
local jump = ssh.connect(host(1))
local target = ssh.connect(host(2, { proxy_jump = jump }))
check.eq(target:run("echo through-the-jump").stdout, "through-the-jump\n")
local port2 = os.getenv("DROVER_TEST_SSH2_PORT")
local log = assert(io.open(os.getenv("DROVER_TEST_SSH_LOG"))):read("a")
check.eq(log:find("direct-tcpip", 1, true) ~= nil and log:find("port " .. port2, 1, true) ~= nil, true,
  "the first sshd forwarded the connection:\n" .. log)
-- a chain that loops is refused
local loop = ssh.connect(host(1, { proxy_jump = host(2, { proxy_jump = host(1) }) }))
check.raises("the jump chain loops", loop.run, loop, "true")

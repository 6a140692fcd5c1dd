-- needs: sshd
-- Auth through ssh-agent: the test starts its own agent, adds the client key, and connects
-- with no key given; the agent is stopped by its PID at the end.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local key = os.getenv("DROVER_TEST_SSH_KEY")
local sock = key:match("^(.*)/[^/]*$") .. "/agent.sock"
local p = assert(io.popen("ssh-agent -s -a " .. sock))
local out = p:read("a"); p:close()
local pid = assert(out:match("SSH_AGENT_PID=(%d+)"), "ssh-agent started: " .. out)
local ok = os.execute(("SSH_AUTH_SOCK=%s ssh-add -q %s 2>/dev/null"):format(sock, key))
local stop <close> = setmetatable({}, { __close = function() os.execute("kill " .. pid) end })
check.eq(ok, true, "ssh-add")

local h = ssh.connect { address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
  known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = sock }
check.eq(h:run("echo via-agent").stdout, "via-agent\n")

-- without agent and without keys, authentication fails cleanly and says what was tried
local none = ssh.connect { address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
  known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false }
check.raises("authentication failed for user drover-test (tried: nothing", none.run, none, "true")

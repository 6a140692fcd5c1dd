-- needs: sshd sshd
-- ~/.ssh/config style files: HostName, Port, User, IdentityFile and ProxyJump are honoured
-- for an alias; explicit values win over the file.
local check = require "check"
local p1, p2 = os.getenv("DROVER_TEST_SSH_PORT"), os.getenv("DROVER_TEST_SSH2_PORT")
local dir = os.getenv("DROVER_TEST_SSH_KEY"):match("^(.*)/[^/]*$")
local path = dir .. "/ssh_config"
local f = assert(io.open(path, "w"))
f:write(([[
Host fixture-alias
  HostName 127.0.0.1
  Port %s
  User drover-test
  IdentityFile %s

Host behind-jump
  HostName 127.0.0.1
  Port %s
  User drover-test
  IdentityFile %s
  ProxyJump fixture-alias
]]):format(p1, os.getenv("DROVER_TEST_SSH_KEY"), p2, os.getenv("DROVER_TEST_SSH2_KEY")))
f:close()
local known = os.getenv("DROVER_TEST_KNOWN_HOSTS")
local h = ssh.connect { address = "fixture-alias", ssh_config = path, known_hosts = known, agent = false }
check.eq(h.address, "127.0.0.1"); check.eq(h.port, tonumber(p1)); check.eq(h.user, "drover-test")
check.eq(h.name, "fixture-alias")
check.eq(h:run("echo via-config").stdout, "via-config\n")

local j = ssh.connect { address = "behind-jump", ssh_config = path, known_hosts = known, agent = false }
check.eq(j.port, tonumber(p2))
check.eq(j:run("echo behind-the-jump").stdout, "behind-the-jump\n")
local log = assert(io.open(os.getenv("DROVER_TEST_SSH_LOG"))):read("a")
check.eq(log:find("direct-tcpip", 1, true) ~= nil, true, "went through the first sshd")

-- explicit values win
local e = ssh.connect { address = "fixture-alias", ssh_config = path, known_hosts = known, agent = false,
  user = "someone-else", port = 1 }
check.eq(e.user, "someone-else"); check.eq(e.port, 1)
-- ssh_config = false ignores the file
local n = ssh.connect { address = "fixture-alias", ssh_config = false, known_hosts = known }
check.eq(n.address, "fixture-alias")

-- needs: sshd
-- ssh.run against a real OpenSSH sshd: exit codes, stdout apart from stderr, binary output,
-- check = false, error text, host key accept-new recording, shared connection.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS")
local spec = {
  address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
  identity = os.getenv("DROVER_TEST_SSH_KEY"), known_hosts = known_hosts,
}
local h = ssh.connect(spec)
check.eq(h.port, port)

local r = h:run("echo out; echo err >&2; exit 0")
check.eq(r.ok, true); check.eq(r.code, 0)
check.eq(r.stdout, "out\n"); check.eq(r.stderr, "err\n")
check.eq(r.cmd, "echo out; echo err >&2; exit 0")
check.eq(r.host, "127.0.0.1:" .. port)

-- unknown host key was accepted and recorded (accept-new)
local f = assert(io.open(known_hosts)); local kh = f:read("a"); f:close()
check.eq(kh:find("[127.0.0.1]:" .. port, 1, true) ~= nil, true, "known_hosts records the key: " .. kh)

-- non-zero exit raises with host, command, code and stderr tail
local e = check.raises("exited with code 3", h.run, h, "echo broken >&2; exit 3")
check.eq(e:find("127.0.0.1:" .. port .. ": command `echo broken >&2; exit 3`", 1, true) ~= nil, true, e)
check.eq(e:find("broken", 1, true) ~= nil, true, e)
local r3 = h:run("exit 3", { check = false })
check.eq(r3.ok, false); check.eq(r3.code, 3)
check.raises("unknown option 'chek'", h.run, h, "true", { chek = false })

-- binary output survives
local bin = h:run("printf 'a\\000b\\377c'")
check.eq(bin.stdout, "a\0b\255c")

-- several tasks share the one connection at once
local t0 = task.now()
local hs = {}
for i = 1, 5 do hs[i] = task.spawn(function() return h:run("sleep 1; echo " .. i).stdout end) end
for i = 1, 5 do check.eq(hs[i]:join(), i .. "\n") end
check.between(task.now() - t0, 1, 3.5, "five 1 s commands ran concurrently")

-- a wrong key is refused cleanly; a closed port is reported with the host
local bad = ssh.connect { address = "127.0.0.1", port = port, user = "drover-test", known_hosts = known_hosts,
  key = "not a key" }
check.raises("cannot load identity", bad.run, bad, "true")
local closed = ssh.connect { address = "127.0.0.1", port = 1, user = "x", known_hosts = known_hosts }
check.raises("127.0.0.1:1: cannot connect", closed.run, closed, "true")

-- destination strings
check.raises('ssh.connect: bad destination "u@h:abc": bad port', ssh.connect, "u@h:abc")
check.raises('ssh.connect: bad destination "u@": no host', ssh.connect, "u@")
local parsed = ssh.connect { address = "someone@example.invalid:2222", ssh_config = false }
check.eq(parsed.user, "someone"); check.eq(parsed.port, 2222); check.eq(parsed.name, "example.invalid:2222")

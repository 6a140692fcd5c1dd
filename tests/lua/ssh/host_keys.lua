-- needs: sshd
-- Host key policies against a real sshd: strict refuses an unknown key, accept-new records it,
-- a changed key is refused naming type, fingerprint and known_hosts file:line; key text works.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local dir = os.getenv("DROVER_TEST_KNOWN_HOSTS"):match("^(.*)/[^/]*$")
local function spec(extra)
  local s = { address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
    identity = os.getenv("DROVER_TEST_SSH_KEY") }
  for k, v in pairs(extra) do s[k] = v end
  return s
end

local strict = ssh.connect(spec { known_hosts = dir .. "/kh_strict", host_key_policy = "strict" })
check.raises("unknown host key", strict.run, strict, "true")

local kh = dir .. "/kh_changed"
local f = assert(io.open(kh, "w"))
f:write("# a comment line\n")
-- a different ed25519 key recorded for this host
f:write(("[127.0.0.1]:%d ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"):format(port))
f:close()
local changed = ssh.connect(spec { known_hosts = kh })
local e = check.raises("HOST KEY CHANGED", changed.run, changed, "true")
check.eq(e:find("ED25519", 1, true) ~= nil or e:find("ed25519", 1, true) ~= nil, true, e)
check.eq(e:find("SHA256:", 1, true) ~= nil, true, "fingerprint in: " .. e)
check.eq(e:find(kh .. ":2", 1, true) ~= nil, true, "file:line in: " .. e)

-- the private key given as text
local kf = assert(io.open(os.getenv("DROVER_TEST_SSH_KEY"))); local text = kf:read("a"); kf:close()
local s = spec { known_hosts = dir .. "/kh_text" }
s.identity = nil; s.key = text
local ht = ssh.connect(s)
check.eq(ht:run("echo key-text").stdout, "key-text\n")

-- errors never show the key text
local bad = ssh.connect(spec { known_hosts = dir .. "/kh_text", identity = "/nonexistent/key" })
local be = check.raises("cannot load identity /nonexistent/key", bad.run, bad, "true")
check.eq(be:find("PRIVATE KEY", 1, true), nil)

-- hashed known_hosts entries (`ssh-keygen -H`): a matching one is accepted under strict, a
-- changed one is refused
local function hashed_known_hosts(name, key_line)
  local path = dir .. "/" .. name
  local hf = assert(io.open(path, "w"))
  hf:write(("[127.0.0.1]:%d %s\n"):format(port, key_line))
  hf:close()
  assert(os.execute(("ssh-keygen -q -H -f %q >/dev/null 2>&1"):format(path)))
  local hf2 = assert(io.open(path)); local text = hf2:read("a"); hf2:close()
  check.eq(text:sub(1, 3), "|1|", "hashed entry in " .. path)
  check.eq(text:find("127.0.0.1", 1, true), nil, "host name hidden in " .. path)
  return path
end
local pf = assert(io.open(os.getenv("DROVER_TEST_SSH_HOST_PUB"))); local host_pub = pf:read("l"); pf:close()
local hashed_ok = ssh.connect(spec { known_hosts = hashed_known_hosts("kh_hashed", host_pub),
  host_key_policy = "strict" })
check.eq(hashed_ok:run("echo hashed").stdout, "hashed\n")
local hashed_bad = ssh.connect(spec { known_hosts = hashed_known_hosts("kh_hashed_changed",
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl") })
check.raises("HOST KEY CHANGED", hashed_bad.run, hashed_bad, "true")

-- The SSH test fixture as seen from Lua: hosts on the sshd(s) the harness started, and
-- shell helpers for the local side (tests run on the same machine as sshd).
local fixture = {}

--- A host on the harness's sshd number `n` (1 or absent: the first), with extra spec keys.
function fixture.host(extra, n)
  local suffix = (n == nil or n == 1) and "" or tostring(n)
  local spec = {
    address = "127.0.0.1",
    port = tonumber(os.getenv("DROVER_TEST_SSH" .. suffix .. "_PORT")),
    user = os.getenv("DROVER_TEST_SSH" .. suffix .. "_USER"),
    identity = os.getenv("DROVER_TEST_SSH" .. suffix .. "_KEY"),
    known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"),
    agent = false,
  }
  for k, v in pairs(extra or {}) do spec[k] = v end
  return ssh.connect(spec)
end

--- Runs a local shell command; returns its stdout (fails the test if it fails).
function fixture.sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local ok, _, code = p:close()
  if not ok then error(("local command failed (%s): %s"):format(tostring(code), cmd), 2) end
  return out
end

--- Quotes for a POSIX shell.
function fixture.q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- SHA-256 of a local file.
function fixture.sha256(path)
  return fixture.sh("sha256sum -- " .. fixture.q(path)):sub(1, 64)
end

--- A fresh local directory.
function fixture.local_dir()
  return (fixture.sh("mktemp -d /tmp/drover-test-local.XXXXXX"):gsub("%s+$", ""))
end

--- A fresh directory on the host, owned by the login user.
function fixture.remote_dir(h)
  return (h:run("mktemp -d /tmp/drover-test-remote.XXXXXX").stdout:gsub("%s+$", ""))
end

--- Writes text to a local file.
function fixture.write(path, text)
  local f = assert(io.open(path, "wb")); f:write(text); f:close()
end

--- Reads a local file (nil if absent).
function fixture.read(path)
  local f = io.open(path, "rb"); if not f then return nil end
  local s = f:read("a"); f:close(); return s
end


--- Writes an inventory for the harness's `n` sshd (hosts h01..hNN, groups `odd`/`even` and
--- `all` with both as children) into a fresh directory; returns its path and that directory.
function fixture.inventory(n, extra)
  local dir = fixture.local_dir()
  local lines = { "[defaults]", "user = " .. os.getenv("DROVER_TEST_SSH_USER"),
    "known_hosts = " .. dir .. "/known_hosts", "" }
  local odd, even = {}, {}
  for i = 1, n do
    local suffix = i == 1 and "" or tostring(i)
    local name = ("h%02d"):format(i)
    lines[#lines + 1] = ("[host %s]"):format(name)
    lines[#lines + 1] = "address = 127.0.0.1"
    lines[#lines + 1] = "port = " .. os.getenv("DROVER_TEST_SSH" .. suffix .. "_PORT")
    lines[#lines + 1] = "identity = " .. os.getenv("DROVER_TEST_SSH" .. suffix .. "_KEY")
    lines[#lines + 1] = ""
    table.insert(i % 2 == 1 and odd or even, name)
  end
  lines[#lines + 1] = "[group odd]\nhosts = " .. table.concat(odd, ", ")
  lines[#lines + 1] = "[group even]\nhosts = " .. table.concat(even, ", ")
  lines[#lines + 1] = "[group all]\nchildren = odd, even\n" .. (extra or "")
  local path = dir .. "/inventory.ini"
  fixture.write(path, table.concat(lines, "\n"))
  return path, dir
end

--- Runs drover with `args` (a shell-quoted string); returns exit code, stdout, stderr.
function fixture.drover(args)
  local err = os.tmpname()
  local p = assert(io.popen(("%s %s 2>%s"):format(fixture.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fixture.read(err) or ""
  os.remove(err)
  return code, out, e
end

--- The listening sshd's PID for fixture number `n`.
function fixture.sshd_pid(n)
  local suffix = (n == nil or n == 1) and "" or tostring(n)
  local log = os.getenv("DROVER_TEST_SSH" .. suffix .. "_LOG")
  return fixture.read(log:gsub("sshd%.log$", "sshd.pid")):match("%d+")
end

return fixture

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
  return fixture.scratch_dir("local")
end

--- A fresh directory on the host, owned by the login user.
function fixture.remote_dir(h)
  local base = fixture.q(fixture.scratch() .. "/remote.XXXXXX")
  return (h:run("mktemp -d " .. base).stdout:gsub("%s+$", ""))
end

--- The test's own directory (the harness removes it when the test ends), or /tmp.
function fixture.scratch()
  return os.getenv("DROVER_TEST_TMP") or "/tmp"
end

--- A fresh local directory under the test's own, named `what.XXXXXX`.
function fixture.scratch_dir(what)
  return (fixture.sh("mktemp -d " .. fixture.q(fixture.scratch() .. "/" .. what .. ".XXXXXX")):gsub("%s+$", ""))
end

--- A path for a temporary file under the test's own directory (not created).
function fixture.tmpname()
  fixture.tmp_count = (fixture.tmp_count or 0) + 1
  return ("%s/tmp.%d.%d"):format(fixture.scratch(), fixture.tmp_count, math.random(1 << 30))
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
--- `user` logs in as another user than the test user (`"root"`, for the stdlib's tests).
function fixture.inventory(n, extra, user)
  local dir = fixture.local_dir()
  local lines = { "[defaults]", "user = " .. (user or os.getenv("DROVER_TEST_SSH_USER")),
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
  local err = fixture.tmpname()
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

--- The PIDs (space-separated) of the processes serving sshd N's connections: its children and
--- grandchildren. Waits until there are some: under load they may not be visible at once.
function fixture.sshd_sessions(n)
  local victims
  fixture.wait_for("sshd session processes", 20, function()
    local pid = fixture.sshd_pid(n)
    victims = pid and fixture.sh(("for c in $(pgrep -P %s); do echo $c; pgrep -P $c; done; true"):format(pid)) or ""
    return victims:match("%d") ~= nil
  end)
  return (victims:gsub("%s+", " "))
end

--- Cuts sshd N's connections while a transfer is under way: its session processes are
--- stopped first (so a sender has used up the channel window and waits for more), then
--- killed, by PID. Returns the time of the kill.
function fixture.cut_stalled(n)
  local victims = fixture.sshd_sessions(n)
  fixture.sh("kill -STOP " .. victims)
  task.sleep(0.5)
  local cut_at = task.now()
  fixture.sh("kill -9 " .. victims)
  return cut_at
end

--- The most hosts in flight at once, from output lines `HOST | start NS` and `HOST | end NS`;
--- also the number of such lines.
function fixture.peak_in_flight(out)
  local events = {}
  for what, ns in out:gmatch("| (%a+) (%d+)") do
    events[#events + 1] = { t = tonumber(ns), d = what == "start" and 1 or -1 }
  end
  table.sort(events, function(a, b) return a.t < b.t or (a.t == b.t and a.d < b.d) end)
  local inflight, peak = 0, 0
  for _, e in ipairs(events) do inflight = inflight + e.d; peak = math.max(peak, inflight) end
  return peak, #events
end

--- Starts drover with `args` in the background. Returns its pid and a function that waits
--- for it and returns its exit code and combined output.
function fixture.start_drover(args)
  local pid_file, log = fixture.tmpname(), fixture.tmpname()
  local p = assert(io.popen(("sh -c 'echo $$ > %s; exec %s %s' >%s 2>&1; echo $?")
    :format(pid_file, fixture.q(os.getenv("DROVER_EXE")), args:gsub("'", "'\\''"), log)))
  local pid
  repeat pid = (fixture.read(pid_file) or ""):match("%d+") until pid
  return pid, function()
    local code = tonumber(p:read("a")); p:close()
    local text = fixture.read(log)
    os.remove(pid_file); os.remove(log)
    return code, text
  end
end

--- How many processes of the test user have `marker` in their command line (the command and
--- the `sh -c` that sshd runs it under: Debian's dash does not exec a lone command).
function fixture.remote_processes(marker)
  return tonumber(fixture.sh("pgrep -u drover-test -f -c " .. fixture.q(marker) .. " || true"))
end

--- How many of the test user's processes are the command `marker` itself (their command line
--- starts with it): one per host that started it. Counting `remote_processes` instead counts
--- each host twice, so a wait for N hosts could end once half had started and a signal sent
--- then reach a host whose command sshd had not started yet (seen: `killpg: No such process`).
function fixture.remote_commands(marker)
  return tonumber(fixture.sh("pgrep -u drover-test -f -c " .. fixture.q("^" .. marker) .. " || true"))
end

--- Waits until cond() holds, failing after `secs` seconds with `what`.
function fixture.wait_for(what, secs, cond)
  local deadline = task.now() + secs
  while not cond() do
    assert(task.now() < deadline, what)
    task.sleep(0.02)
  end
end

return fixture

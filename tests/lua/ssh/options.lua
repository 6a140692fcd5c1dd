-- needs: sshd
-- time-limit: 90
-- host:run options (stdin, env, cwd, timeout), the remote process dies on timeout and on
-- cancellation, and 200 tasks share one connection under sshd's default MaxSessions.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local spec = {
  address = "127.0.0.1", port = port, user = os.getenv("DROVER_TEST_SSH_USER"),
  identity = os.getenv("DROVER_TEST_SSH_KEY"), known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"),
}
local h = ssh.connect(spec)

check.eq(h:run("cat", { stdin = "line one\nline 'two'\n" }).stdout, "line one\nline 'two'\n", "stdin")
check.eq(h:run("echo \"$A|$B\"", { env = { A = "x y", B = "it's" } }).stdout, "x y|it's\n", "env")
check.eq(h:run("pwd", { cwd = "/tmp" }).stdout, "/tmp\n", "cwd")
check.raises("not a valid variable name", h.run, h, "true", { env = { ["A;rm"] = "x" } })

-- timeout: the call fails after the timeout and the remote process is gone
local marker = "drover-timeout-" .. port
local t0 = task.now()
check.raises("timed out after 0.5s", h.run, h, "sleep 30 && echo " .. marker, { timeout = 0.5 })
check.between(task.now() - t0, 0.4, 3, "timeout fired on time")
task.sleep(0.5)
-- ("[s]leep" keeps pgrep from matching its own command line)
local ps = h:run("pgrep -f '[s]leep 30 && echo " .. marker .. "' || true").stdout
check.eq(ps, "", "remote process killed after timeout")

-- cancellation: likewise
local marker2 = "drover-cancel-" .. port
local running = task.spawn(function() h:run("sleep 31 && echo " .. marker2) end)
task.sleep(0.5)
check.eq(h:run("pgrep -f '[s]leep 31 && echo " .. marker2 .. "' || true").stdout ~= "", true, "remote process running")
running:cancel()
task.sleep(0.5)
check.eq(h:run("pgrep -f '[s]leep 31 && echo " .. marker2 .. "' || true").stdout, "", "remote process killed on cancel")

-- 200 tasks on one connection (sshd's default MaxSessions 10) all succeed
local hs = {}
for i = 1, 200 do hs[i] = task.spawn(function() return h:run("echo " .. i).stdout end) end
for i = 1, 200 do check.eq(hs[i]:join(), i .. "\n") end

-- 50 MB of output arrives whole
local big = h:run("head -c 50000000 /dev/zero")
check.eq(#big.stdout, 50000000, "50 MB of stdout")

-- output past max_output is cut there (memory stays bounded) and flagged
local cut = h:run("head -c 50000 /dev/zero; head -c 30000 /dev/zero >&2", { max_output = 1000 })
check.eq(#cut.stdout, 1000); check.eq(#cut.stderr, 1000); check.eq(cut.truncated, true)
check.eq(big.truncated, false)

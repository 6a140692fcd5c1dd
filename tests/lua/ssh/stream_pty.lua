-- needs: sshd
-- expect-stdout: fixture | first line
-- expect-stdout: fixture | no newline at end
-- expect-stderr: fixture ! to stderr
-- stream = true sends lines as they arrive, prefixed with the host (stderr marked);
-- pty = true gives the command a terminal.
local check = require "check"
local h = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv("DROVER_TEST_SSH_PORT")),
  user = os.getenv("DROVER_TEST_SSH_USER"), identity = os.getenv("DROVER_TEST_SSH_KEY"),
  known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false, name = "fixture" }
local r = h:run("echo first line; echo to stderr >&2; printf 'no newline at end'", { stream = true })
check.eq(r.stdout, "first line\nno newline at end", "still captured")
check.eq(h:run("test -t 1 && echo tty || echo no-tty", { pty = true }).stdout:gsub("\r", ""), "tty\n")
check.eq(h:run("test -t 1 && echo tty || echo no-tty").stdout, "no-tty\n")

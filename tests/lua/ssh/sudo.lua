-- needs: sshd
-- sudo: the password goes on stdin (never on the command line), the command's own stdin
-- follows it; without a password, sudo -n fails at once. drover-test may sudo only to the
-- unprivileged drover-sudo-target (scripts/test.sh sets that up).
local check = require "check"
local password = os.getenv("DROVER_TEST_SSH_PASSWORD")
local h = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv("DROVER_TEST_SSH_PORT")),
  user = os.getenv("DROVER_TEST_SSH_USER"), identity = os.getenv("DROVER_TEST_SSH_KEY"),
  known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false, ssh_config = false }
local r = h:run("echo \"$SUDO_USER as $(id -un)\"; cat; ps -o args= -p $$", {
  user = "drover-sudo-target", sudo_password = password, stdin = "input after the password\n" })
check.eq(r.stdout:match("^[^\n]*"), "drover-test as drover-sudo-target", r.stdout)
check.eq(r.stdout:find("input after the password", 1, true) ~= nil, true, r.stdout)
check.eq(r.stdout:find(password, 1, true), nil, "password not on any command line")
check.eq(r.stderr, "", "no prompt on stderr")
local e = check.raises("exited with code 1", h.run, h, "true", { user = "drover-sudo-target" })
check.eq(e:find("password is required", 1, true) ~= nil, true, e)
local e2 = check.raises("exited with code 1", h.run, h, "true", { user = "drover-sudo-target", sudo_password = "wrong-pw-000" })
check.eq(e2:find("wrong-pw-000", 1, true), nil)

-- where sudo asks for no password (NOPASSWD here; cached credentials alike) the password is
-- not fed to it, so it never becomes the command's input
local nopass = h:run("cat", { user = "drover-nopass-target", sudo_password = "never-shown-123",
  stdin = "only the input\n" })
check.eq(nopass.stdout, "only the input\n")
check.eq(h:run("id -un", { user = "drover-nopass-target", sudo_password = "x" }).stdout,
  "drover-nopass-target\n")

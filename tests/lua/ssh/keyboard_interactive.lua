-- needs: sshd
-- sshd-config: UsePAM yes
-- sshd-config: PasswordAuthentication no
-- sshd-config: KbdInteractiveAuthentication yes
-- A server that takes passwords only through keyboard-interactive (PAM) accepts the password.
local check = require "check"
local h = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv("DROVER_TEST_SSH_PORT")),
  user = os.getenv("DROVER_TEST_SSH_USER"), password = os.getenv("DROVER_TEST_SSH_PASSWORD"),
  known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false, ssh_config = false }
check.eq(h:run("echo by-keyboard-interactive").stdout, "by-keyboard-interactive\n")
local bad = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv("DROVER_TEST_SSH_PORT")),
  user = os.getenv("DROVER_TEST_SSH_USER"), password = "wrong-one-789",
  known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false, ssh_config = false }
local e = check.raises("tried: password, keyboard-interactive", bad.run, bad, "true")
check.eq(e:find("wrong-one-789", 1, true), nil)

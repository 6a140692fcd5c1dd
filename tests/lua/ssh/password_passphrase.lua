-- needs: sshd
-- Password auth, a wrong password, and an encrypted identity with its passphrase; no secret
-- ever appears in an error.
local check = require "check"
local port = tonumber(os.getenv("DROVER_TEST_SSH_PORT"))
local user, known = os.getenv("DROVER_TEST_SSH_USER"), os.getenv("DROVER_TEST_KNOWN_HOSTS")
local base = { address = "127.0.0.1", port = port, user = user, known_hosts = known, agent = false }
local function spec(extra)
  local s = {}
  for k, v in pairs(base) do s[k] = v end
  for k, v in pairs(extra) do s[k] = v end
  return s
end

local pw = ssh.connect(spec { password = os.getenv("DROVER_TEST_SSH_PASSWORD") })
check.eq(pw:run("echo by-password").stdout, "by-password\n")

local wrong = ssh.connect(spec { password = "not-the-password-xyz" })
local e = check.raises("authentication failed for user drover-test (tried: password, keyboard-interactive)", wrong.run, wrong, "true")
check.eq(e:find("not-the-password-xyz", 1, true), nil, "password not in the error")

-- an encrypted key: generate, authorize, use with its passphrase
local dir = os.getenv("DROVER_TEST_SSH_KEY"):match("^(.*)/[^/]*$")
local keyfile = dir .. "/enc_key"
check.eq(os.execute(("ssh-keygen -q -t ed25519 -N secret-pass-123 -f %s"):format(keyfile)), true)
local pub = assert(io.open(keyfile .. ".pub")):read("a")
local ak = assert(io.open(os.getenv("DROVER_TEST_AUTHORIZED_KEYS"), "a")); ak:write(pub); ak:close()
local enc = ssh.connect(spec { identity = keyfile, passphrase = "secret-pass-123" })
check.eq(enc:run("echo by-encrypted-key").stdout, "by-encrypted-key\n")
local nopass = ssh.connect(spec { identity = keyfile })
local e2 = check.raises("cannot load identity " .. keyfile, nopass.run, nopass, "true")
local badpass = ssh.connect(spec { identity = keyfile, passphrase = "wrong-pass-456" })
local e3 = check.raises("cannot load identity", badpass.run, badpass, "true")
check.eq(e3:find("wrong-pass-456", 1, true), nil, "passphrase not in the error")
check.raises("passphrase_env names DROVER_NO_SUCH_VAR", ssh.connect, spec { identity = keyfile, passphrase_env = "DROVER_NO_SUCH_VAR" })

-- a key the server does not know fails cleanly, naming what was tried
local stray = dir .. "/stray_key"
check.eq(os.execute(("ssh-keygen -q -t ed25519 -N '' -f %s"):format(stray)), true)
local wrongkey = ssh.connect(spec { identity = stray })
check.raises("authentication failed for user drover-test (tried: identity " .. stray .. ")", wrongkey.run, wrongkey, "true")

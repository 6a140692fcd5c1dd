-- needs: sshd
-- Refused credentials raise an `auth` error value (user, tried); an identity that cannot be
-- loaded is `auth` too (path, reason). Texts as they always were.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local user = os.getenv("DROVER_TEST_SSH_USER")
-- no key, no agent: nothing the server accepts
local none = ssh.connect { address = "127.0.0.1", port = tonumber(os.getenv("DROVER_TEST_SSH_PORT")),
  user = user, known_hosts = os.getenv("DROVER_TEST_KNOWN_HOSTS"), agent = false }
local ok, err = pcall(none.run, none, "true"); local at = ev.here()
check.eq(type(err) == "userdata" and type(err.tried) == "string", true, tostring(err))
ev.expect("auth", none.name, at, ("%s: authentication failed for user %s (tried: %s)")
  :format(none.name, user, err.tried), ok, err)
check.eq(err.user, user)
check.eq(err.tried:find("nothing", 1, true) ~= nil, true, err.tried)

-- a key the server does not know
local dir = fx.local_dir()
local stray = dir .. "/stray_key"
fx.sh(("ssh-keygen -q -t ed25519 -N '' -f %s"):format(fx.q(stray)))
local wrong = fx.host { identity = stray }
local ok2, err2 = pcall(wrong.run, wrong, "true"); local at2 = ev.here()
ev.expect("auth", wrong.name, at2, ("%s: authentication failed for user %s (tried: identity %s)")
  :format(wrong.name, user, stray), ok2, err2)

-- an identity that cannot be loaded
local broken = fx.host { identity = dir .. "/no_such_key" }
local ok3, err3 = pcall(broken.run, broken, "true"); local at3 = ev.here()
check.eq(type(err3) == "userdata" and type(err3.reason) == "string", true, tostring(err3))
ev.expect("auth", broken.name, at3, ("%s: cannot load identity %s: %s")
  :format(broken.name, dir .. "/no_such_key", err3.reason), ok3, err3)
check.eq(err3.path, dir .. "/no_such_key")

local why
if err2.kind == "auth" then why = "fix the credentials of " .. err2.host end
check.eq(why, "fix the credentials of " .. wrong.name)
fx.sh("rm -rf " .. fx.q(dir))

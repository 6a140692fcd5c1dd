-- needs: sshd
-- secret(value): shown as <secret> (tostring, string.format, joined text), used for real by
-- the calls that take text (ssh.run's command, env, stdin; sftp.write), and inventory
-- password-like variables are secrets in host.vars.
local check = require "check"
local fx = require "fixture"

local s = secret("pw-unit-5521")
check.eq(tostring(s), "<secret>")
check.eq(("%s"):format(s), "<secret>")
check.eq(secret.is(s), true)
check.eq(secret.is("pw-unit-5521"), false)
check.eq(s:reveal(), "pw-unit-5521")
check.eq(secret.reveal(s), "pw-unit-5521")
check.eq(secret.reveal(3), 3)
check.eq(secret(s), s, "a secret of a secret is itself")
check.eq(s == secret("pw-unit-5521"), true)
check.eq(s == secret("other"), false)
local joined = "a=" .. s .. 1
check.eq(secret.is(joined), true, "joining keeps it secret")
check.eq(tostring(joined), "<secret>")
check.eq(joined:reveal(), "a=pw-unit-55211")
check.raises("expected a string or a secret, got table", secret, {})

local h = fx.host()
check.eq(h:run("printf %s " .. s).stdout, "pw-unit-5521", "a secret command runs as its text")
check.eq(h:run('printf %s "$PW"', { env = { PW = s } }).stdout, "pw-unit-5521")
check.eq(h:run("cat", { stdin = s }).stdout, "pw-unit-5521")
check.raises("host:run: env PW: expected a string or a secret, got table", h.run, h, "true", { env = { PW = {} } })
local dir = fx.remote_dir(h)
h:write(dir .. "/s.txt", s)
check.eq(fx.read(dir .. "/s.txt"), "pw-unit-5521")

-- inventory variables whose names say they hold a secret arrive as secrets
local inv = fx.inventory(1, "db_password = inv-pw-1\napi_token_env = HOME\ncolour = blue\n")
local vars = fx.local_dir() .. "/vars.lua"
fx.write(vars, [[
assert(secret.is(host.vars.db_password), "db_password is a secret")
assert(host.vars.db_password:reveal() == "inv-pw-1")
assert(not secret.is(host.vars.api_token_env), "a *_env name is not itself secret")
assert(host.vars.colour == "blue")
print("shown: " .. tostring(host.vars.db_password))
]])
local code, o, e = fx.drover(("run -i %s -g all %s"):format(fx.q(inv), fx.q(vars)))
check.eq(code, 0, o .. e)
check.eq(o:find("h01 | shown: <secret>", 1, true) ~= nil, true, o)

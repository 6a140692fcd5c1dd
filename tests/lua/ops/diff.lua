-- needs: sshd
-- time-limit: 120
-- --diff shows unified diffs of what operations write; a line holding an inventory
-- password-like variable (or the value of the environment variable a `*_env` one names) is
-- hidden in it, old or new, and a `sensitive = true` file's content never appears: not on
-- stdout, stderr or in --json. The files themselves get the real values.
local check = require "check"
local fx = require "fixture"
local inv = fx.inventory(1, "db_password = hunter-secret-42\napi_token_env = DROVER_OPS_TOKEN\n")
local script = fx.local_dir() .. "/diff.lua"
fx.write(script, [[
local file = require "drover.file"
local base = ...
local pw = host.vars.db_password
file.present(base .. "/app.conf", { content = "user=app\npassword=" .. pw .. "\nport=1\n" })
file.present(base .. "/app.conf", { content = "user=app2\npassword=" .. pw .. "!\nport=2\n" })
file.line(base .. "/app.conf", { line = "extra=1" })
file.template(base .. "/tok.conf", { content = "token={{ tok }}\nname={{ name }}\n",
  vars = { tok = os.getenv("DROVER_OPS_TOKEN"), name = "svc" } })
file.present(base .. "/key.pem", { content = "TOPSECRET-LINE\n", sensitive = true })
file.present(base .. "/key.pem", { content = "TOPSECRET-LINE-2\n", sensitive = true })
]])

local function drover(args)
  local errf = fx.tmpname()
  local p = assert(io.popen(("DROVER_OPS_TOKEN=tok-env-9731 %s %s 2>%s"):format(
    fx.q(os.getenv("DROVER_EXE")), args, errf)))
  local out = p:read("a")
  local _, _, code = p:close()
  local err = fx.read(errf) or ""
  os.remove(errf)
  return code, out, err
end

local function no_secrets(text, what)
  for _, s in ipairs { "hunter-secret-42", "tok-env-9731", "TOPSECRET" } do
    check.eq(text:find(s, 1, true), nil, what .. " shows " .. s .. ":\n" .. text)
  end
end

for _, mode in ipairs { "--check --diff", "--diff", "--diff --json" } do
  local base = fx.remote_dir(fx.host())
  local code, out, err = drover(("run %s %s -i %s -g all %s"):format(fx.q(script), fx.q(base), fx.q(inv), mode))
  check.eq(code, 0, err .. out)
  no_secrets(out .. err, mode)
  if mode:find("json") then
    check.eq(out:find('"diff":"--- /dev/null\\n+++ ' .. base .. '/app.conf\\n', 1, true) ~= nil, true, out)
  else
    local function has(s) check.eq(out:find(s, 1, true) ~= nil, true, mode .. ": " .. s .. " in\n" .. out) end
    has("h01 ~ --- /dev/null\nh01 ~ +++ " .. base .. "/app.conf\n")
    has("h01 ~ +user=app\n")
    has("h01 ~ -user=app\n")
    has("h01 ~ +user=app2\n")
    has("h01 ~ -<line hidden: it contains a secret>\n")
    has("h01 ~ +<line hidden: it contains a secret>\n")
    has("h01 ~ +extra=1\n")
    has("h01 ~ +name=svc\n")
    has("(content hidden: sensitive = true)")
  end
  if mode:find("check") then
    check.eq(fx.read(base .. "/app.conf"), nil, "check mode wrote nothing")
  else
    check.eq(fx.read(base .. "/app.conf"), "user=app2\npassword=hunter-secret-42!\nport=2\nextra=1\n")
    check.eq(fx.read(base .. "/tok.conf"), "token=tok-env-9731\nname=svc\n")
    check.eq(fx.read(base .. "/key.pem"), "TOPSECRET-LINE-2\n")
  end
end

-- without --diff, no diff at all (and still no secret)
local base = fx.remote_dir(fx.host())
local code, out, err = drover(("run %s %s -i %s -g all --json"):format(fx.q(script), fx.q(base), fx.q(inv)))
check.eq(code, 0, err .. out)
check.eq(out:find('"diff":"', 1, true), nil, out)
no_secrets(out .. err, "--json")

-- an operation that fails on a command holding the password: its error (message, the
-- command's stderr, the summary) shows <secret> instead
local failing = fx.local_dir() .. "/failing.lua"
fx.write(failing, [[
local command = require "drover.command"
command.run("echo " .. host.vars.db_password .. " >&2; exit 3")
]])
code, out, err = drover(("run %s -i %s -g all"):format(fx.q(failing), fx.q(inv)))
check.eq(code, 1, err .. out)
no_secrets(out .. err, "a failed operation")
check.eq(err:find("command.run echo <secret> >&2; exit 3: command `echo <secret> >&2; exit 3` exited with code 3", 1, true) ~= nil,
  true, err)

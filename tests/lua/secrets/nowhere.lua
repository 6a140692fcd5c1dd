-- needs: sshd*2
-- time-limit: 120
-- No secret value appears anywhere in the output of a run that uses one: a secret() value
-- and an inventory password-like variable, printed, revealed, logged, echoed by remote
-- commands (streamed and batch), written by operations (diffs), named in failing commands
-- and raised in errors; on stdout and stderr, live, gathered, --json and --out-dir files,
-- through `drover run`, `drover exec` and `drover repl`. The hosts get the real values.
local check = require "check"
local fx = require "fixture"

local SECRETS = { "script-secret-3390", "inv-secret-7781" }
local inv = fx.inventory(2, "db_password = inv-secret-7781\n")

local function no_secrets(text, what)
  for _, s in ipairs(SECRETS) do
    check.eq(text:find(s, 1, true), nil, what .. " shows " .. s .. ":\n" .. text)
  end
  check.eq(text:find("<secret>", 1, true) ~= nil, true, what .. " says <secret>:\n" .. text)
end

local script = fx.local_dir() .. "/uses.lua"
fx.write(script, [[
local file = require "drover.file"
local command = require "drover.command"
local base = ...
local pw = host.vars.db_password
local s = secret("script-secret-3390")
print("vars:", pw, s)
print("revealed:", pw:reveal(), s:reveal())
log.info("log", s:reveal())
ssh.run("echo out " .. s .. "; echo err " .. pw .. " >&2", { stream = true })
file.present(base .. "/a.conf", { content = "user=x\npassword=" .. s .. "\n" })
file.present(base .. "/a.conf", { content = "user=y\npassword=" .. s .. "\n" })
file.template(base .. "/b.conf", { content = "db={{ db_password }}\nname={{ n }}\n", vars = { n = "svc" } })
command.run("echo " .. s .. " > " .. base .. "/c.txt", { creates = base .. "/c.txt" })
return s:reveal()
]])

for _, mode in ipairs { "--diff", "--check --diff", "--diff --json", "-b --diff", "--out-dir" } do
  local base = fx.remote_dir(fx.host())
  local extra = mode
  local outdir
  if mode == "--out-dir" then
    outdir = fx.local_dir() .. "/out"
    extra = "--diff --out-dir " .. fx.q(outdir)
  end
  local code, out, err = fx.drover(("run %s %s -i %s -H h01 %s"):format(fx.q(script), fx.q(base), fx.q(inv), extra))
  check.eq(code, 0, mode .. ": " .. err .. out)
  no_secrets(out .. err, mode)
  if outdir then
    local files = fx.sh("cat " .. fx.q(outdir) .. "/*")
    no_secrets(files, "--out-dir files")
  end
  if mode:find("check") then
    check.eq(fx.read(base .. "/a.conf"), nil, "check mode wrote nothing")
  else
    check.eq(fx.read(base .. "/a.conf"), "user=y\npassword=script-secret-3390\n")
    check.eq(fx.read(base .. "/b.conf"), "db=inv-secret-7781\nname=svc\n")
    check.eq(fx.read(base .. "/c.txt"), "script-secret-3390\n")
  end
  if mode:find("diff") and not mode:find("json") then
    check.eq(out:find("+user=y", 1, true) ~= nil, true, mode .. ": the diff shows what holds no secret:\n" .. out)
  end
end

-- errors: a failing command that holds the password, and an error raised with a secret
local failing = fx.local_dir() .. "/failing.lua"
fx.write(failing, [[
local s = secret("script-secret-3390")
if host.name == "h01" then
  ssh.run("echo " .. host.vars.db_password .. " >&2; exit 3")
end
error("boom " .. s:reveal())
]])
for _, mode in ipairs { "", "--json", "-b" } do
  local code, out, err = fx.drover(("run %s -i %s -g all %s"):format(fx.q(failing), fx.q(inv), mode))
  check.eq(code, 1, err .. out)
  no_secrets(out .. err, "failed run " .. mode)
end
-- a script without hosts: its error is the run's own
local alone = fx.local_dir() .. "/alone.lua"
fx.write(alone, 'local s = secret("script-secret-3390")\nprint(s:reveal())\nerror("boom " .. s:reveal())\n')
local code, out, err = fx.drover("run " .. fx.q(alone))
check.eq(code, 1, err .. out)
no_secrets(out .. err, "a script without hosts")

-- batch commands: the inventory's password-like variable in command output
code, out, err = fx.drover(("exec -i %s -g all -- echo inv-secret-7781"):format(fx.q(inv)))
check.eq(code, 0, err .. out)
no_secrets(out .. err, "drover exec")
code, out, err = fx.drover(("exec --json -i %s -g all -- 'echo inv-secret-7781 >&2; exit 4'"):format(fx.q(inv)))
check.eq(code, 1, err .. out)
no_secrets(out .. err, "drover exec --json, failing")

-- the REPL: values, revealed strings, errors and shell lines
local lines = fx.local_dir() .. "/lines.lua"
fx.write(lines, table.concat({
  's = secret("script-secret-3390")',
  "s",
  "s:reveal()",
  "{ s, x = s:reveal() }",
  'inventory.host("h01").vars.db_password:reveal()',
  "!echo inv-secret-7781",
  'error("boom " .. s:reveal())',
  "",
}, "\n"))
code, out, err = fx.drover(("repl -i %s -g all < %s"):format(fx.q(inv), fx.q(lines)))
check.eq(code, 1, "piped, a line that failed makes the exit code 1: " .. err .. out)
check.eq(out:find("{ <secret>, x = \"<secret>\" }", 1, true) ~= nil, true, out)
no_secrets(out .. err, "drover repl")

-- needs: sshd
-- time-limit: 120
-- drover run --check changes nothing on the host (looked at here: sshd is this machine) and
-- reports exactly the changes the real run then makes, dependent steps included (a file in
-- a directory an earlier step makes, a line in a file an earlier step writes); a command is
-- "unknown"; plain ssh.run and sftp writes are skipped ("would run"), readonly ssh.run runs.
local check = require "check"
local fx = require "fixture"
local inv = fx.inventory(1)
local base = fx.remote_dir(fx.host())
local script = fx.local_dir() .. "/deploy.lua"
fx.write(script, [[
local file = require "drover.file"
local command = require "drover.command"
local base = ...
file.directory(base .. "/srv/app", { mode = "0750" })
file.present(base .. "/srv/app/app.conf", { content = "port = 8080\ndebug = false\n", mode = "0640" })
file.line(base .. "/srv/app/app.conf", { line = "debug = false", pattern = "^debug" })
file.line(base .. "/srv/app/extra.conf", { line = "x = 1", create = true })
file.template(base .. "/srv/app/motd", { content = "hi {{ who }}\n", vars = { who = "ops" } })
file.directory(base .. "/srv", { mode = "0755" })
file.absent(base .. "/old.conf")
local r = command.run("touch " .. base .. "/ran", { creates = base .. "/ran" })
print("command changed: " .. tostring(r.changed))
local plain = ssh.run("touch " .. base .. "/plain")
print("plain skipped: " .. tostring(plain.skipped))
print("readonly says: " .. ssh.run("echo looked", { readonly = true }).stdout:gsub("\n", ""))
local w = sftp.write(base .. "/written", "x")
print("write skipped: " .. tostring(w.skipped))
local facts = require "drover.facts"
print("facts read in check mode: " .. facts.os().id .. " " .. facts.file(base).type)
]])
fx.write(base .. "/old.conf", "old\n")
fx.sh("chown drover-test " .. fx.q(base .. "/old.conf"))

local function tree()
  return fx.sh("cd " .. fx.q(base) .. " && find . -printf '%p %m %s\\n' | sort")
end

-- op events of a --json run: "module.op target" -> changed ("true", "false", "unknown")
local function ops(out)
  local got, order = {}, {}
  for line in out:gmatch("[^\n]+") do
    if line:find('"event":"op"', 1, true) then
      local changed = line:match('"changed":"?(%a+)"?')
      local key = ("%s.%s %s"):format(line:match('"module":"(.-)"'), line:match('"op":"(.-)"'),
        line:match('"target":"(.-)"'):gsub(base:gsub("%p", "%%%0"), "BASE"))
      got[key] = changed
      order[#order + 1] = key
      check.eq(line:match('"host":"(.-)"'), "h01", line)
      check.eq(line:match('"elapsed_ms":%d+') ~= nil, true, line)
    end
  end
  return got, order
end

local before = tree()
local code, out, err = fx.drover(("run %s %s -i %s -g all --check --json"):format(fx.q(script), fx.q(base), fx.q(inv)))
check.eq(code, 0, err .. out)
check.eq(tree(), before, "check mode changed nothing on the host")
local predicted, order = ops(out)
check.eq(out:find('"line":"readonly says: looked"', 1, true) ~= nil, true, out)
check.eq(out:find('"line":"plain skipped: true"', 1, true) ~= nil, true, out)
check.eq(out:find('"line":"write skipped: true"', 1, true) ~= nil, true, out)
-- facts only read: they run in check mode as in a real run
local os_id = fx.sh(". /etc/os-release && printf %s \"$ID\"")
check.eq(out:find('"line":"facts read in check mode: ' .. os_id .. ' directory"', 1, true) ~= nil, true, out)
check.eq(out:find('"line":"command changed: unknown"', 1, true) ~= nil, true, out)
check.eq(predicted["file.directory BASE/srv/app"], "true")
check.eq(predicted["file.present BASE/srv/app/app.conf"], "true", "a file in a directory only predicted")
check.eq(predicted["file.line BASE/srv/app/app.conf"], "false", "a line already in a file only predicted")
check.eq(predicted["file.line BASE/srv/app/extra.conf"], "true", "a line in a new file in a predicted directory")
check.eq(predicted["file.template BASE/srv/app/motd"], "true")
check.eq(predicted["file.directory BASE/srv"], "unknown", "the mode mkdir -p gives a parent is the umask's")
check.eq(predicted["file.absent BASE/old.conf"], "true")
check.eq(predicted["command.run touch BASE/ran"], "unknown")
check.eq(predicted["ssh.run touch BASE/plain"], "unknown", out)
check.eq(predicted["sftp.write BASE/written"], "unknown")
check.eq(predicted["ssh.run echo looked"], nil, "a readonly command is no op")
check.eq(#order, 10, table.concat(order, "\n"))

-- the same run for real: the changes check mode predicted, nothing else
code, out, err = fx.drover(("run %s %s -i %s -g all --json"):format(fx.q(script), fx.q(base), fx.q(inv)))
check.eq(code, 0, err .. out)
local real = ops(out)
for key, changed in pairs(predicted) do
  if key:match("^file%.") and changed ~= "unknown" then
    check.eq(real[key], changed, key .. ": check mode said " .. changed)
  end
end
check.eq(real["file.directory BASE/srv"], "false", "mkdir -p made it 0755 under umask 022")
check.eq(real["command.run touch BASE/ran"], "true")
check.eq(fx.read(base .. "/srv/app/app.conf"), "port = 8080\ndebug = false\n")
check.eq(fx.read(base .. "/plain") ~= nil, true, "ssh.run ran for real")

-- done: check mode now predicts no change at all, and the host stays as it is
before = tree()
code, out, err = fx.drover(("run %s %s -i %s -g all --check"):format(fx.q(script), fx.q(base), fx.q(inv)))
check.eq(code, 0, err .. out)
check.eq(tree(), before)
check.eq(out:find("would change", 1, true), nil, out)
check.eq(out:find("h01 ~ file.present " .. base .. "/srv/app/app.conf: ok\n", 1, true) ~= nil, true, out)
check.eq(out:find("h01 ~ would run: touch " .. base .. "/plain\n", 1, true) ~= nil, true, out)
check.eq(err:find("   ops h01: ok=10 changed=0 unknown=2\n", 1, true) ~= nil, true, err)

-- and the first check run, as a person reads it
fx.sh("rm -rf " .. fx.q(base .. "/srv") .. " " .. fx.q(base .. "/ran"))
code, out, err = fx.drover(("run %s %s -i %s -g all --check"):format(fx.q(script), fx.q(base), fx.q(inv)))
check.eq(code, 0, err .. out)
check.eq(out:find("h01 ~ file.directory " .. base .. "/srv/app: would change (created)\n", 1, true) ~= nil, true, out)
check.eq(out:find("h01 ~ command.run touch " .. base .. "/ran: unknown (would run; what it changes is not predicted)\n", 1, true) ~= nil, true, out)
check.eq(err:find("== 1 host: 1 ok (1 would change)\n", 1, true) ~= nil, true, err)

-- a mode-only change predicted, then a line in that file: planned against the host's content
local conf = base .. "/srv/app/app.conf"
local chained = fx.local_dir() .. "/chained.lua"
fx.write(chained, ([[
local file = require "drover.file"
file.present(%q, { mode = "0600" })
file.line(%q, { line = "port = 9090", pattern = "^port" })
]]):format(conf, conf))
code, out, err = fx.drover(("run %s %s -i %s -g all"):format(fx.q(script), fx.q(base), fx.q(inv)))
check.eq(code, 0, err .. out)
before = tree()
code, out, err = fx.drover(("run %s -i %s -g all --check --diff"):format(fx.q(chained), fx.q(inv)))
check.eq(code, 0, err .. out)
check.eq(tree(), before)
check.eq(out:find("h01 ~ file.present " .. conf .. ": would change (mode 0640 -> 0600)\n", 1, true) ~= nil, true, out)
check.eq(out:find("h01 ~ file.line " .. conf .. ": would change (line 1 replaced)\n", 1, true) ~= nil, true, out)
check.eq(out:find("h01 ~ -port = 8080\nh01 ~ +port = 9090\n", 1, true) ~= nil, true, out)

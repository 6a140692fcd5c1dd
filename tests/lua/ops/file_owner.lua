-- needs: sshd
-- file.present and file.directory with owner and group, logged in as root on the sshd
-- fixture (sshd is this machine: stat here sees the result): each twice (changed, then
-- done), a changed owner says so, check mode predicts it and changes nothing.
local check = require "check"
local fx = require "fixture"
local file = require "drover.file"
local h = fx.host { user = "root" }
local dir = fx.remote_dir(h)
local owner = os.getenv("DROVER_TEST_SSH_USER")
local function stat(p) return (fx.sh("stat -c %U:%G:%a " .. fx.q(p)):gsub("\n$", "")) end

ssh.with(h, function()
  check.eq(h:run("id -u").stdout, "0\n", "logged in as root")
  local d = dir .. "/srv"
  check.twice("file.directory owner", function()
    return file.directory(d, { owner = owner, group = owner, mode = "0750" })
  end, function() check.eq(stat(d), owner .. ":" .. owner .. ":750") end)

  local p = d .. "/app.conf"
  check.twice("file.present owner", function()
    return file.present(p, { content = "a=1\n", owner = owner, group = owner, mode = "0640" })
  end, function() check.eq(stat(p), owner .. ":" .. owner .. ":640") end)

  -- back to root: the reason names the change
  local r = check.twice("file.present chown", function()
    return file.present(p, { owner = "root", group = "root" })
  end, function() check.eq(stat(p), "root:root:640") end)
  check.eq(r.reason:find("owner " .. owner .. " -> root", 1, true) ~= nil, true, r.reason)
  check.eq(r.reason:find("group " .. owner .. " -> root", 1, true) ~= nil, true, r.reason)
end)

-- check mode: predicted, nothing changed
local inv = fx.inventory(1, nil, "root")
local script = fx.local_dir() .. "/owner.lua"
fx.write(script, ([[
local file = require "drover.file"
print(file.present(%q, { owner = %q }).changed)
print(file.present(%q, { owner = %q }).changed)
]]):format(dir .. "/srv/app.conf", owner, dir .. "/srv/app.conf", owner))
local code, out, err = fx.drover(("run %s -i %s -g all --check"):format(fx.q(script), fx.q(inv)))
check.eq(code, 0, err .. out)
local first = out:find("h01 | true\n", 1, true)
check.eq(first ~= nil and out:find("h01 | false\n", first, true) ~= nil, true, "predicted, then seen done: " .. out)
check.eq(out:find("would change (owner root -> " .. owner .. ")", 1, true) ~= nil, true, out)
check.eq(stat(dir .. "/srv/app.conf"), "root:root:640", "check mode changed nothing")

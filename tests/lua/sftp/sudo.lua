-- needs: sshd
-- sftp.put with sudo: into a directory only drover-sudo-target may write (drover-test may sudo
-- only to that user, with its password; scripts/test.sh sets that up). The file lands owned by
-- the sudo user with the asked mode, skip_same hashes through sudo, and nothing is left in /tmp,
-- even when the put is the last statement of a script and drover exits right after it.
local check = require "check"
local fx = require "fixture"
local password = os.getenv("DROVER_TEST_SSH_PASSWORD")
local h = fx.host()
local here = fx.local_dir()
local locked = fx.scratch_dir("locked")
fx.sh("chown drover-sudo-target " .. fx.q(locked) .. " && chmod 0700 " .. fx.q(locked))
fx.write(here .. "/app.conf", "key = value\n")
local staging_before = h:run("ls -d /tmp/.drover-put-* 2>/dev/null | wc -l").stdout

-- without sudo: permission denied, with the hint
local e = check.raises("permission denied", h.put, h, here .. "/app.conf", locked .. "/app.conf")
check.eq(e:find("sudo = true", 1, true) ~= nil, true, e)

local opts = { user = "drover-sudo-target", sudo_password = password, mode = "0640" }
local r = h:put(here .. "/app.conf", locked .. "/app.conf", opts)
check.eq(r.changed, true); check.eq(r.bytes, 12)
check.eq(fx.sh("stat -c '%U %a' " .. fx.q(locked .. "/app.conf")), "drover-sudo-target 640\n")
check.eq(fx.read(locked .. "/app.conf"), "key = value\n")
-- the same content again: hashed through sudo, nothing sent
check.eq(h:put(here .. "/app.conf", locked .. "/app.conf", opts).changed, false)
-- new content replaces it
fx.write(here .. "/app.conf", "key = other\n")
check.eq(h:put(here .. "/app.conf", locked .. "/app.conf", opts).changed, true)
check.eq(fx.read(locked .. "/app.conf"), "key = other\n")
-- a wrong password fails cleanly without showing it, and leaves the old file
local e2 = check.raises("sudo install failed", h.put, h, here .. "/app.conf", locked .. "/app.conf",
  { user = "drover-sudo-target", sudo_password = "wrong-pw-111", skip_same = false })
check.eq(e2:find("wrong-pw-111", 1, true), nil, e2)
check.eq(fx.read(locked .. "/app.conf"), "key = other\n")

-- the staging copy is removed before the call returns, also when it fails
check.eq(h:run("ls -d /tmp/.drover-put-* 2>/dev/null | wc -l").stdout, staging_before, "no staging left")
check.eq(fx.sh("ls -A " .. fx.q(locked)), "app.conf\n", "no temp left in the destination")

-- A sudo put as the last statement of a script run by its own drover process (without
-- targets, and per host) leaves no staging copy behind when that process exits at once,
-- whether the put succeeds or fails. Each run uploads a unique marker, looked for in every
-- /tmp/.drover-put-* afterwards (this test runs as root locally, so it can read them).
local function staged_copies(marker)
  return fx.sh("find /tmp -maxdepth 2 -path '/tmp/.drover-put-*' -type f -exec grep -lF "
    .. fx.q(marker) .. " {} + 2>/dev/null | wc -l")
end
local inv = fx.inventory(1)
local runs = {
  { name = "controller", password = password, code = 0,
    head = "local h = require('fixture').host()\nh:put", args = "" },
  { name = "per-host", password = password, code = 0,
    head = "sftp.put", args = " -i " .. fx.q(inv) .. " -H h01" },
  { name = "failing", password = "wrong-pw-222", code = 1,
    head = "local h = require('fixture').host()\nh:put", args = "" },
}
for _, run in ipairs(runs) do
  local marker = ("drover-last-statement-%s-%d"):format(run.name, math.random(1, 1e9))
  local src, dest = here .. "/" .. run.name .. ".conf", locked .. "/" .. run.name .. ".conf"
  fx.write(src, marker .. "\n")
  local script = here .. "/" .. run.name .. ".lua"
  fx.write(script, ("%s(%q, %q, { user = 'drover-sudo-target', sudo_password = %q, mode = '0640' })\n")
    :format(run.head, src, dest, run.password))
  local code, out, err = fx.drover("run " .. fx.q(script) .. run.args)
  check.eq(code, run.code, run.name .. ": " .. out .. err)
  check.eq(fx.read(dest), run.code == 0 and marker .. "\n" or nil, run.name)
  check.eq(staged_copies(marker), "0\n", run.name .. ": staging copy left in /tmp/.drover-put-*")
end
fx.sh("rm -rf " .. fx.q(here) .. " " .. fx.q(locked))

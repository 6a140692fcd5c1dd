-- needs: sshd
-- sftp.put with sudo: into a directory only drover-sudo-target may write (drover-test may sudo
-- only to that user, with its password; scripts/test.sh sets that up). The file lands owned by
-- the sudo user with the asked mode, skip_same hashes through sudo, and nothing is left in /tmp.
local check = require "check"
local fx = require "fixture"
local password = os.getenv("DROVER_TEST_SSH_PASSWORD")
local h = fx.host()
local here = fx.local_dir()
local locked = fx.sh("mktemp -d /tmp/drover-test-locked.XXXXXX"):gsub("%s+$", "")
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

task.sleep(0.2) -- staging cleanup runs beside the failed call
check.eq(h:run("ls -d /tmp/.drover-put-* 2>/dev/null | wc -l").stdout, staging_before, "no staging left")
check.eq(fx.sh("ls -A " .. fx.q(locked)), "app.conf\n", "no temp left in the destination")
fx.sh("rm -rf " .. fx.q(here) .. " " .. fx.q(locked))

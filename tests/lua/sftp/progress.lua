-- needs: sshd
-- expect-stderr: /progress.bin 100% (8.0 of 8.0 MiB)
-- expect-stderr: /renamed.bin 100% (8.0 of 8.0 MiB)
-- reject-stderr: small.txt
-- Transfers of 1 MiB or more report progress to the output sink (`host ~ path N% (...)` on
-- stderr in scripts) when asked to; small ones stay quiet.
local check = require "check"
local fx = require "fixture"
local h = fx.host()
local here, there = fx.local_dir(), fx.remote_dir(h)
fx.sh("head -c 8388608 /dev/urandom > " .. fx.q(here .. "/progress.bin"))
fx.write(here .. "/small.txt", "small\n")
check.eq(h:put(here .. "/progress.bin", there .. "/progress.bin", { progress = true }).bytes, 8388608)
h:put(here .. "/small.txt", there .. "/small.txt", { progress = true })
ssh.with(h, function()
  sftp.rename(there .. "/progress.bin", there .. "/renamed.bin")
  check.eq(sftp.get(there .. "/renamed.bin", here .. "/back.bin", { progress = true }).bytes, 8388608)
end)
fx.sh("rm -rf " .. fx.q(here)); h:run("rm -rf " .. fx.q(there))
-- the module functions need a current host
check.raises("sftp.put: no current host", sftp.put, "a", "b")
local ok, e = pcall(function() sftp.stat("/x") end)
check.eq(ok, false); check.eq(tostring(e):find("progress.lua:%d+: sftp.stat: no current host") ~= nil, true, tostring(e))

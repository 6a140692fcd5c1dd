-- needs: sshd
-- time-limit: 120
-- Overwrites are atomic. A cancelled upload leaves the old file and no temp file. A
-- connection cut mid-upload (its sshd processes killed) fails the upload at once with a
-- `connection_lost` error and leaves the old file intact byte for byte; the orphaned temp
-- file is removed by the next upload to that directory once stale, while a fresh one
-- (someone else's upload in progress) is left alone.
local check = require "check"
local fx = require "fixture"
local fixture_dir = os.getenv("DROVER_TEST_KNOWN_HOSTS"):match("^(.*)/[^/]*$")
local h = fx.host()
local here, there = fx.local_dir(), fx.remote_dir(h)
local target = there .. "/big.bin"
fx.sh("head -c 1000000 /dev/urandom > " .. fx.q(here .. "/old.bin"))
fx.sh("head -c 400000000 /dev/zero > " .. fx.q(here .. "/new.bin"))
h:put(here .. "/old.bin", target)
local old_sum = fx.sha256(here .. "/old.bin")

local function temps()
  return fx.sh(("find %s -name '.big.bin.drover-*.tmp' -size +1M"):format(fx.q(there)))
end
local function wait_for_temp()
  local deadline = task.now() + 30
  while temps() == "" do
    assert(task.now() < deadline, "the upload never started")
    task.sleep(0.005)
  end
end

-- 1. cancellation mid-upload
local t = task.spawn(function() return h:put(here .. "/new.bin", target) end)
wait_for_temp()
t:cancel()
check.eq(pcall(t.join, t), false)
check.eq(t:status(), "cancelled")
local deadline = task.now() + 10
while fx.sh(("find %s -name '.big.bin.drover-*'"):format(fx.q(there))) ~= "" do
  assert(task.now() < deadline, "temp file left after cancel")
  task.sleep(0.02)
end
check.eq(fx.sha256(target), old_sum, "old file intact after cancel")

-- 2. the connection is cut mid-upload
local t2 = task.spawn(function() return h:put(here .. "/new.bin", target) end)
wait_for_temp()
-- every process serving this sshd's connections (children and grandchildren of the
-- listener the harness started), by PID. They are stopped first, so that the upload has
-- used up the channel's window and waits for more when the connection dies (the state in
-- which an upload used to hang until the request timeout, several times over).
local cut_at = fx.cut_stalled(1)
local ok, err = pcall(t2.join, t2)
check.eq(ok, false, "the cut upload fails")
-- promptly: well under the 60 s a request may wait for its reply
check.eq(task.now() - cut_at < 20, true, ("the cut upload failed after %.1fs"):format(task.now() - cut_at))
check.eq(err.kind, "connection_lost", tostring(err))
check.eq(tostring(err):find("connection lost while sftp put " .. target, 1, true) ~= nil, true, tostring(err))
check.eq(fx.sha256(target), old_sum, "old file intact byte for byte after the cut")
local orphan = temps():gsub("%s+$", "")
check.eq(orphan ~= "", true, "the orphaned temp file is still there")

-- 3. the next upload removes the stale orphan, not a fresh temp of another upload
fx.sh("touch -d '-2 minutes' " .. fx.q(orphan))
local fresh = there .. "/.big.bin.drover-0123456789abcdef.tmp"
-- (h reconnects by itself: its connection ended)
h:write(fresh, "someone else's upload in progress")
local h2 = fx.host()
local r = h2:put(here .. "/old.bin", target, { skip_same = false })
check.eq(r.changed, true)
check.eq(fx.read(orphan), nil, "stale orphan removed")
check.eq(fx.read(fresh) ~= nil, true, "fresh temp kept")
check.eq(fx.sha256(target), old_sum)
fx.sh("rm -rf " .. fx.q(here) .. " " .. fx.q(there))

-- needs: sshd
-- time-limit: 30
-- Devices, FIFOs and other special files are refused on both sides before a byte is read,
-- each quickly and with a clear error, and the sftp session stays usable: get/read of
-- /dev/zero and of a remote FIFO, put of /dev/zero and of a local FIFO. A pseudo-file that
-- reports size 0 (/proc/...) is still read to its end.
local check = require "check"
local fx = require "fixture"
local h = fx.host()
local here, there = fx.local_dir(), fx.remote_dir(h)
h:run("mkfifo " .. fx.q(there .. "/fifo") .. " && printf ok > " .. fx.q(there .. "/ok"))
fx.sh("mkfifo " .. fx.q(here .. "/fifo"))

local function quickly(needle, fn, ...)
  local started = task.now()
  local e = check.raises(needle, fn, ...)
  check.between(task.now() - started, 0, 10, "refused at once: " .. e)
  return e
end

local e = quickly("/dev/zero: is a character device, not a regular file; refusing to read it", h.get, h, "/dev/zero", here .. "/zero")
check.eq(e:find("regular files, directories and symlinks", 1, true) ~= nil, true, e)
check.eq(fx.sh("ls -A " .. fx.q(here)), "fifo\n", "no local file or temp left by the refused get")
quickly("is a character device", h.read, h, "/dev/zero")
quickly(there .. "/fifo: is a FIFO, not a regular file", h.get, h, there .. "/fifo", here .. "/f")
quickly("is a FIFO", h.read, h, there .. "/fifo")
-- a symlink to a device is followed to it, and refused
h:run("ln -s /dev/zero " .. fx.q(there .. "/zero-link"))
quickly("is a character device", h.get, h, there .. "/zero-link", here .. "/z")

quickly("/dev/zero: local: is a character device, not a regular file", h.put, h, "/dev/zero", there .. "/zero")
quickly("local: is a FIFO, not a regular file", h.put, h, here .. "/fifo", there .. "/fifo-copy")
check.eq(h:stat(there .. "/zero"), nil, "nothing created remotely")
check.eq(h:run("ls -A " .. fx.q(there)).stdout, "fifo\nok\nzero-link\n", "no remote temp files")

-- the session is not blocked by any of it
check.eq(h:read(there .. "/ok"), "ok")
h:get(there .. "/ok", here .. "/ok")
check.eq(fx.read(here .. "/ok"), "ok")

-- a pseudo-file reporting size 0 is read to its end
check.eq(h:stat("/proc/self/status").size, 0)
local status = h:read("/proc/self/status")
check.eq(status:find("Name:", 1, true) ~= nil, true, status)
h:get("/proc/self/status", here .. "/status")
check.eq((fx.read(here .. "/status") or ""):find("Name:", 1, true) ~= nil, true)
fx.sh("rm -rf " .. fx.q(here)); h:run("rm -rf " .. fx.q(there))

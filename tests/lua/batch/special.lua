-- needs: sshd
-- time-limit: 40
-- `drover get /dev/zero`, `drover get` of a remote FIFO and `drover put /dev/zero` each end
-- at once with a clear error (exit 1) instead of copying without end or hanging.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
fx.sh("chmod 755 " .. fx.q(dir))
local i = " -i " .. fx.q(inv)
local remote = dir .. "/remote"
fx.sh(("mkdir %s && chown drover-test %s"):format(fx.q(remote), fx.q(remote)))
fx.sh("su drover-test -s /bin/sh -c " .. fx.q("mkfifo " .. fx.q(remote .. "/fifo")))

local function refused(args, needle)
  local started = task.now()
  local code, out, err = fx.drover(args)
  check.between(task.now() - started, 0, 15, "ends quickly: " .. args)
  check.eq(code, 1, args .. ": " .. out .. err)
  check.eq(err:find(needle, 1, true) ~= nil, true, err)
end
refused(("get%s -H h01 /dev/zero %s"):format(i, fx.q(dir .. "/out")),
  "failed h01: sftp get /dev/zero: is a character device, not a regular file; refusing to read it")
refused(("get%s -H h01 %s %s"):format(i, fx.q(remote .. "/fifo"), fx.q(dir .. "/out")),
  "sftp get " .. remote .. "/fifo: is a FIFO, not a regular file")
check.eq(fx.sh("find " .. fx.q(dir .. "/out") .. " -type f | wc -l"), "0\n", "nothing downloaded")
refused(("put%s -H h01 /dev/zero %s"):format(i, fx.q(remote .. "/zero")),
  "/dev/zero: local: is a character device, not a regular file")
check.eq(fx.sh("ls -A " .. fx.q(remote)), "fifo\n", "nothing uploaded")
fx.sh("rm -rf " .. fx.q(dir))

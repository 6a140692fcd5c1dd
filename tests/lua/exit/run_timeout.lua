-- needs: sshd
-- time-limit: 60
-- --timeout without targets bounds the whole controller run: its tasks are cancelled (remote
-- commands get TERM), it says so, and exits 1.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
local marker = "sleep 35.1234"
fx.write(dir .. "/slow.lua", ("inventory.host('h01'):run(%q)\n"):format(marker))
local t0 = task.now()
local code, out, err = fx.drover(("run %s -i %s --timeout 1.5"):format(fx.q(dir .. "/slow.lua"), fx.q(inv)))
check.eq(code, 1, out .. err)
check.eq(task.now() - t0 < 15, true, "the run was not stopped in time")
check.eq(err:find("timed out after 1.5s (--timeout)", 1, true) ~= nil, true, err)
fx.wait_for("remote process left behind", 5, function() return fx.remote_processes(marker) == 0 end)
fx.sh("rm -rf " .. fx.q(dir))

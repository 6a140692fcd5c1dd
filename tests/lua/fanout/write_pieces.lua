-- needs: sshd
-- time-limit: 60
-- io.write in a per-host script costs time linear in what is written: 5,000 one-byte writes
-- make one line (they took minutes when the pending text was rescanned on every write), and
-- 1 MiB without a newline goes out in 64 KiB pieces, its newline adding no empty line.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
fx.write(dir .. "/w.lua", [[
for _ = 1, 5000 do io.write("y") end
io.write("\n")
io.write(string.rep("z", 1024 * 1024))
io.write("\n")
print("end")
]])
local t0 = task.now()
local code, out, err = fx.drover(("run %s -i %s -g all"):format(fx.q(dir .. "/w.lua"), fx.q(inv)))
local took = task.now() - t0
check.eq(code, 0, err)
local lines = {}
for line in out:gmatch("[^\n]*\n") do lines[#lines + 1] = line:gsub("\n$", "") end
check.eq(lines[1], "h01 | " .. string.rep("y", 5000))
for i = 2, 17 do check.eq(lines[i], "h01 | " .. string.rep("z", 65536), "piece " .. (i - 1)) end
check.eq(lines[18], "h01 | end")
check.eq(#lines, 18)
check.eq(took < 20, true, ("took %.1f s"):format(took))
fx.sh("rm -rf " .. fx.q(dir))

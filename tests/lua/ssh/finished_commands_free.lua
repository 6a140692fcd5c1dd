-- needs: sshd
-- A finished command's memory is freed when it ends, not when Lua collects the call: mlua
-- keeps an async call's future until the GC runs, and a command's future (its russh channel
-- and buffers) is about 100 KiB, so 300 commands with the collector stopped held ~30 MB
-- (a per-host script of 20 commands on 100 hosts peaked at 253 MB; now 34 MB).
local check = require "check"
local fx = require "fixture"

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local text = f:read("a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)"))
end

local h = fx.host()
h:run("true") -- connected, first allocations made
collectgarbage("collect")
collectgarbage("stop")
local before = rss_kib()
for _ = 1, 300 do h:run("true") end
task.sleep(0.2)
local grown = rss_kib() - before
collectgarbage("restart")
check.eq(grown < 10 * 1024, true, ("300 finished commands still hold %d KiB"):format(grown))

-- needs: sshd*2
-- time-limit: 90
-- Lua memory is limited (DROVER_LUA_MEMORY): running out raises a catchable "not enough
-- memory" error in the task that asked, instead of aborting the process with every other
-- host's remote command left running.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
fx.write(dir .. "/hog.lua", [[
local ok, err = pcall(string.rep, "x", 200 * 1024 * 1024)
assert(not ok and tostring(err):find("not enough memory"), tostring(err))
if host.name == "h01" then
  local keep = {}
  for i = 1, 1e9 do keep[i] = string.rep("y", 1024 * 1024) .. i end
else
  ssh.run("sleep 1")
  print("h02 survived")
end
]])
local errf = fx.tmpname()
local p = assert(io.popen(("DROVER_LUA_MEMORY=64M %s run %s -i %s -g all 2>%s")
  :format(fx.q(os.getenv("DROVER_EXE")), fx.q(dir .. "/hog.lua"), fx.q(inv), errf)))
local out = p:read("a")
local _, _, code = p:close()
local err = fx.read(errf) or ""
os.remove(errf)
check.eq(code, 1, out .. err)
check.eq(out:find("h02 | h02 survived", 1, true) ~= nil, true, out .. err)
check.eq(err:find("== 2 hosts: 1 ok, 1 failed", 1, true) ~= nil, true, err)
check.eq(err:find("failed h01: ", 1, true) ~= nil and err:find("not enough memory", 1, true) ~= nil, true, err)
check.eq(err:find("memory allocation of", 1, true), nil, err)
check.eq(err:find("the Lua memory limit was reached", 1, true) ~= nil, true, err)
check.eq(err:find("stack overflow", 1, true), nil, err)

-- the default limit follows what the process may really use (here an address-space rlimit,
-- as a container's cgroup limit): a script past it fails cleanly instead of the process
-- being killed or aborting
fx.write(dir .. "/oom.lua", 'local t = {} for i = 1, 1e9 do t[i] = string.rep("y", 1 << 20) .. i end\n')
p = assert(io.popen(("sh -c 'ulimit -v 1500000; exec \"$0\" run \"$1\"' %s %s 2>&1")
  :format(fx.q(os.getenv("DROVER_EXE")), fx.q(dir .. "/oom.lua"))))
local text = p:read("a")
_, _, code = p:close()
check.eq(code, 1, text)
check.eq(text:find("the Lua memory limit was reached", 1, true) ~= nil, true, text)

-- a bad limit is a setup error before anything runs
fx.write(dir .. "/noop.lua", "")
p = assert(io.popen(("DROVER_LUA_MEMORY=lots %s run %s 2>&1"):format(fx.q(os.getenv("DROVER_EXE")), fx.q(dir .. "/noop.lua"))))
text = p:read("a")
_, _, code = p:close()
check.eq(code, 2, text)
check.eq(text:find("DROVER_LUA_MEMORY=lots: expected a size", 1, true) ~= nil, true, text)
fx.sh("rm -rf " .. fx.q(dir))

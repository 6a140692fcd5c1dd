-- needs: sshd*4
-- Without targets the script runs once on the controller and reaches hosts itself through
-- the inventory module (one host object, so one connection, per name).
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(4)
fx.write(dir .. "/controller.lua", [[
local hosts = inventory.hosts("all:!h04")
assert(#hosts == 3, "3 hosts")
assert(inventory.host("h01") == hosts[1], "one object per name")
assert(inventory.host("nope") == nil)
print(table.concat(inventory.groups(), ","))
local jobs = {}
for _, h in ipairs(hosts) do
  jobs[#jobs + 1] = task.spawn(function() return h.name .. "=" .. h:run("echo $((2 + 3))").stdout:gsub("\n", "") end)
end
local out = {}
for _, j in ipairs(jobs) do out[#out + 1] = j:join() end
print(table.concat(out, " "))
local ok, e = pcall(inventory.hosts, "wbe")
print(e)
]])
local code, out, err = fx.drover("run " .. fx.q(dir .. "/controller.lua") .. " -i " .. fx.q(inv))
check.eq(code, 0, err)
check.eq(out:find("all,even,odd\nh01=5 h02=5 h03=5\n", 1, true) ~= nil, true, out)
check.eq(out:find("inventory.hosts: \"wbe\" is neither a group nor a host", 1, true) ~= nil, true, out)
fx.sh("rm -rf " .. fx.q(dir))

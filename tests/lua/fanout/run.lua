-- needs: sshd*8
-- time-limit: 90
-- drover run SCRIPT -g all: the script runs once per host, all at once, with `host`,
-- `ssh.run` and `host.vars` referring to that host; one host's error is that host's outcome
-- (shown with its traceback); --timeout, unreachable hosts, barrier and once, --serial with
-- --max-fail, --json.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(8, "colour = teal\n[host dead]\naddress = 127.0.0.1\nport = 1\n")
local i = " -i " .. fx.q(inv)
local function script(name, text)
  local path = dir .. "/" .. name
  fx.write(path, text)
  return fx.q(path)
end

local s1 = script("hello.lua", [[
local r = ssh.run("sleep 1; echo $((6 * 7))")
print(("hello from %s colour=%s answer=%s groups=%s"):format(host.name, host.vars.colour,
  r.stdout:gsub("\n", ""), table.concat(host.groups, ",")))
print("args:", ...)
if host.name == "h03" then
  local function deeper() error("boom on " .. host.name) end
  deeper()
end
]])
local t0 = task.now()
local code, out, err = fx.drover("run " .. s1 .. i .. " -g all -- one two")
local wall = task.now() - t0
check.eq(code, 1, err)
check.between(wall, 0.9, 4, "8 hosts × sleep 1")
for n = 1, 8 do
  local name = ("h%02d"):format(n)
  local grp = n % 2 == 1 and "all,odd" or "all,even"
  check.eq(out:find(("%s | hello from %s colour=teal answer=42 groups=%s\n"):format(name, name, grp), 1, true) ~= nil, true, out)
  check.eq(out:find(name .. " | args:\tone\ttwo\n", 1, true) ~= nil, true, out)
end
check.eq(err:find("h03 ! failed: " .. dir .. "/hello.lua:6: boom on h03", 1, true) ~= nil, true, err)
check.eq(err:find("in local 'deeper'", 1, true) ~= nil, true, "traceback: " .. err)
check.eq(err:find("== 8 hosts: 7 ok, 1 failed", 1, true) ~= nil, true, err)

-- an unreachable host, and --timeout marking only the slow host
local s2 = script("slow.lua", [[
if host.name == "h02" then ssh.run("sleep 20") end
ssh.run("true")
]])
code, out, err = fx.drover("run " .. s2 .. i .. " -H h01,h02,h03,dead --timeout 3")
check.eq(code, 1)
check.eq(err:find("== 4 hosts: 2 ok, 1 unreachable, 1 timed_out", 1, true) ~= nil, true, err)
check.eq(err:find("unreachable dead:", 1, true) ~= nil, true, err)
check.eq(err:find("timed_out h02: timed out after 3s", 1, true) ~= nil, true, err)

-- barrier and once
local s3 = script("sync.lua", [[
calls = (calls or 0) + 1 -- globals are shared by every host's task
task.sleep(host.name == "h05" and 0.5 or 0)
print("before", task.now())
task.barrier("b")
print("after", task.now())
local v = task.once("setup", function() once_runs = (once_runs or 0) + 1; return "token-" .. host.name end)
print("once", v, once_runs)
]])
code, out, err = fx.drover("run " .. s3 .. i .. " -g all")
check.eq(code, 0, err)
local last_before, first_after = 0, math.huge
for t in out:gmatch("| before\t([%d.]+)") do last_before = math.max(last_before, tonumber(t)) end
for t in out:gmatch("| after\t([%d.]+)") do first_after = math.min(first_after, tonumber(t)) end
check.eq(first_after >= last_before, true, out)
local tokens = {}
for v, runs in out:gmatch("| once\t(%S+)\t(%d+)") do tokens[v] = true; check.eq(runs, "1", out) end
check.eq(select(2, out:gsub("| once\t", "")), 8, out)
check.eq(next(tokens, next(tokens)), nil, "one value for all: " .. out)

-- --serial 2 --max-fail 10%: h01 fails in the first batch, no further batch starts
local s4 = script("roll.lua", [[
if host.name == "h01" then error("bad deploy") end
print("deployed")
]])
code, out, err = fx.drover("run " .. s4 .. i .. " -g all --serial 2 --max-fail 10%")
check.eq(code, 1)
check.eq(select(2, out:gsub("| deployed", "")), 1, out)
check.eq(err:find("== 8 hosts: 1 ok, 1 failed, 6 cancelled", 1, true) ~= nil, true, err)
check.eq(err:find("not started: 1 of 8 hosts failed, over --max-fail 10%", 1, true) ~= nil, true, err)

-- --forks 2: never more than 2 hosts in flight (remote start and end times)
local s5 = script("forks.lua", [[
print(ssh.run("echo start $(date +%s%N); sleep 0.2; echo end $(date +%s%N)").stdout)
]])
code, out, err = fx.drover("run " .. s5 .. i .. " -g all --forks 2")
check.eq(code, 0, err)
local peak, lines = fx.peak_in_flight(out)
check.eq(lines, 16, out)
check.between(peak, 1, 2, "hosts in flight with --forks 2")

-- --json
code, out, err = fx.drover("run " .. s4 .. i .. " -H h02 --json")
check.eq(code, 0, err)
check.eq(out:find('{"event":"line","host":"h02","line":"deployed","stream":"stdout","ts":', 1, true) ~= nil, true, out)
check.eq(out:find('"event":"finished"', 1, true) ~= nil and out:find('"outcome":"ok"', 1, true) ~= nil, true, out)

-- usage errors: exit 2 before any host runs
code, out, err = fx.drover("run " .. s4 .. i .. " -g nope")
check.eq(code, 2)
code, out, err = fx.drover("run " .. s4 .. i .. " -g all --max-fail 5%")
check.eq(code, 2); check.eq(err:find("--max-fail needs --serial", 1, true) ~= nil, true, err)
fx.sh("rm -rf " .. fx.q(dir))

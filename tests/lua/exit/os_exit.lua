-- needs: sshd*3
-- time-limit: 90
-- os.exit never ends the process under other hosts' feet.
-- In a per-host run it ends that host's script: 0/true is ok, another code is failed; the
-- other hosts finish, the summary is printed, and pcall cannot catch it.
-- In a controller run it ends the run with its code, cancelling every task (their remote
-- commands get TERM).
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(3)
fx.write(dir .. "/per_host.lua", [[
if host.name == "h01" then pcall(os.exit, 3); print("after os.exit: must not run") end
if host.name == "h02" then os.exit(true) end
ssh.run("sleep 1")
print("h03 finished its script")
]])
local code, out, err = fx.drover(("run %s -i %s -g all"):format(fx.q(dir .. "/per_host.lua"), fx.q(inv)))
check.eq(code, 1, out .. err)
check.eq(out:find("must not run", 1, true), nil, out)
check.eq(out:find("h03 | h03 finished its script", 1, true) ~= nil, true, out)
check.eq(err:find("== 3 hosts: 2 ok, 1 failed", 1, true) ~= nil, true, err)
check.eq(err:find("failed h01: os.exit(3)", 1, true) ~= nil, true, err)

-- os.exit in a task the host's script spawned ends the whole script of that host
fx.write(dir .. "/spawned.lua", [[
if host.name == "h01" then
  task.spawn(function() os.exit(5) end)
  task.sleep(0.5)
  print("h01 continued: must not happen")
end
]])
code, out, err = fx.drover(("run %s -i %s -g all"):format(fx.q(dir .. "/spawned.lua"), fx.q(inv)))
check.eq(code, 1, out .. err)
check.eq(out:find("must not happen", 1, true), nil, out)
check.eq(err:find("failed h01: os.exit(5)", 1, true) ~= nil, true, err)
check.eq(err:find("== 3 hosts: 2 ok, 1 failed", 1, true) ~= nil, true, err)

-- where a task cannot suspend, os.exit raises a clear error and records nothing
fx.write(dir .. "/gsub.lua", [[
local ok, e = pcall(string.gsub, "a", "a", function() os.exit(7) end)
assert(not ok and tostring(e):find("os.exit"), tostring(e))
print("still here")
]])
code, out, err = fx.drover(("run %s"):format(fx.q(dir .. "/gsub.lua")))
check.eq(code, 0, out .. err)
check.eq(out, "still here\n", out .. err)

-- all hosts exit 0: the run is ok
fx.write(dir .. "/all_ok.lua", "os.exit(0)\nerror('not reached')\n")
code, out, err = fx.drover(("run %s -i %s -g all"):format(fx.q(dir .. "/all_ok.lua"), fx.q(inv)))
check.eq(code, 0, out .. err)
check.eq(err:find("== 3 hosts: 3 ok", 1, true) ~= nil, true, err)

-- controller run: os.exit(4) cancels the task running a remote command, exit code 4
local marker = "sleep 34.5678"
fx.write(dir .. "/controller.lua", ([[
local h = inventory.host("h01")
local t = task.spawn(function() h:run(%q) end)
while h:run("pgrep -u drover-test -fx '%s' || true").stdout == "" do task.sleep(0.05) end
os.exit(4)
]]):format(marker, marker))
code, out, err = fx.drover(("run %s -i %s"):format(fx.q(dir .. "/controller.lua"), fx.q(inv)))
check.eq(code, 4, out .. err)
fx.wait_for("remote process left behind", 5, function() return fx.remote_processes(marker) == 0 end)

-- bad codes are caller errors
fx.write(dir .. "/bad.lua", "os.exit(300)\n")
code, out, err = fx.drover(("run %s"):format(fx.q(dir .. "/bad.lua")))
check.eq(code, 1, out .. err)
check.eq(err:find("os.exit: code must be an integer from 0 to 255, got 300", 1, true) ~= nil, true, err)
fx.sh("rm -rf " .. fx.q(dir))

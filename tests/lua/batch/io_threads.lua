-- needs: sshd*2
-- time-limit: 60
-- drover exec runs its network I/O on its own thread (no tokio worker pool: fewer wakes
-- between threads, less client CPU per host); drover run keeps the pool, so that Lua that
-- computes never holds up a connection. Seen from /proc while each runs a remote sleep.
local check = require "check"
local fx = require "fixture"
local inv = fx.inventory(2)
local dir = fx.local_dir()

--- The names of drover's threads while its two hosts run `marker`, and its exit code/output.
local function threads(args, marker)
  local pid, wait = fx.start_drover(args)
  fx.wait_for("both hosts run " .. marker, 20, function() return fx.remote_commands(marker) >= 2 end)
  local names = fx.sh("cat /proc/" .. pid .. "/task/*/comm")
  local code, text = wait()
  check.eq(code, 0, text)
  return names
end

local function count(names, name)
  local n = 0
  for line in names:gmatch("[^\n]+") do if line == name then n = n + 1 end end
  return n
end

local names = threads("exec -i " .. fx.q(inv) .. " -g all -- 'sleep 1.3'", "sleep 1.3")
check.eq(count(names, "drover-io"), 0, names)

fx.write(dir .. "/nap.lua", 'ssh.run("sleep 1.4")\n')
names = threads("run " .. fx.q(dir .. "/nap.lua") .. " -i " .. fx.q(inv) .. " -g all", "sleep 1.4")
check.eq(count(names, "drover-io") >= 1, true, names)

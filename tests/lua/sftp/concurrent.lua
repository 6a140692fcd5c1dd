-- needs: sshd*10
-- 20 tasks uploading different files to one host over its one connection, and 10 hosts
-- receiving the same file at once.
local check = require "check"
local fx = require "fixture"
local here = fx.local_dir()
local h = fx.host()
local there = fx.remote_dir(h)
fx.sh("head -c 3000000 /dev/urandom > " .. fx.q(here .. "/shared.bin"))
local want = fx.sha256(here .. "/shared.bin")

local jobs = {}
for i = 1, 20 do
  local path = ("%s/f%02d"):format(here, i)
  fx.write(path, ("file %d\n"):format(i):rep(i * 1000))
  jobs[i] = task.spawn(function() return h:put(path, ("%s/f%02d"):format(there, i)) end)
end
for i, job in ipairs(jobs) do
  local r = job:join()
  check.eq(r.changed, true)
  check.eq(h:read(("%s/f%02d"):format(there, i)), ("file %d\n"):format(i):rep(i * 1000))
end

local hosts = {}
for n = 1, 10 do hosts[n] = fx.host({}, n) end
local results = task.pool(10):map(function(host)
  local dir = fx.remote_dir(host)
  host:put(here .. "/shared.bin", dir .. "/shared.bin")
  local sum = host:run("sha256sum " .. fx.q(dir .. "/shared.bin")).stdout:sub(1, 64)
  host:run("rm -rf " .. fx.q(dir))
  return sum
end, hosts)
for n = 1, 10 do check.eq(results[n], want, "host " .. n) end
fx.sh("rm -rf " .. fx.q(here)); h:run("rm -rf " .. fx.q(there))

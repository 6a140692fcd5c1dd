-- fleet: 3
-- Each host's copy of a per-host script has its own globals: an assignment without `local`
-- stays with the host that made it (it used to be one global that every host overwrote, so
-- every host printed the last host's path); reads fall back to the shared globals; `shared`
-- is the table hosts share on purpose.
target = "/tmp/" .. host.name
ssh.run("sleep 0.2")
assert(target == "/tmp/" .. host.name, "host " .. host.name .. " sees target " .. tostring(target))
assert(rawget(_G, "target") == nil, "the assignment reached the shared globals")
assert(type(string.format) == "function" and ssh ~= nil, "shared globals are readable")
shared.count = (shared.count or 0) + 1
task.barrier("counted")
assert(shared.count == 3, "shared.count = " .. tostring(shared.count))
-- a task the script spawns sees the host's globals too
local seen = task.spawn(function() return target end):join()
assert(seen == "/tmp/" .. host.name, "spawned task sees " .. tostring(seen))

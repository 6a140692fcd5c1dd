-- needs: sshd*2
-- drover run SCRIPT --json with targets: io.write and io.stdout:write go through the renderer
-- like print (whole lines; a partial line waits until its newline or the host's end), so
-- stdout is JSON only; every host has a `started` event before its lines and its end.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local path = dir .. "/write.lua"
fx.write(path, [[
io.write("a", 1, "b")
io.stdout:write("c\nd"):write(2.5, "\n")
task.sleep(0.05)
print("e", host.name)
io.write("tail of ", host.name)
]])
local code, out, err = fx.drover("run " .. fx.q(path) .. " -i " .. fx.q(inv) .. " -g all --json")
check.eq(code, 0, err)
local events = {}
for line in out:gmatch("[^\n]+") do
  check.eq(line:match('^{.*"event":"[%a_]+".*,"ts":%d+,"v":1}$') ~= nil, true, "not a JSON event line: " .. line)
  -- (the time is checked by tests/lua/batch/json_events.lua)
  events[#events + 1] = (line:gsub(',"ts":%d+', ""))
end
for _, name in ipairs({ "h01", "h02" }) do
  local seen = {}
  for i, line in ipairs(events) do
    if line:find('"host":"' .. name .. '"', 1, true) then seen[#seen + 1] = line end
  end
  local function line_event(text)
    return ('{"event":"line","host":"%s","line":"%s","stream":"stdout","v":1}'):format(name, text)
  end
  check.list_eq(seen, {
    ('{"event":"started","host":"%s","v":1}'):format(name),
    line_event("a1bc"),
    line_event("d2.5"),
    line_event("e\\t" .. name),
    line_event("tail of " .. name),
    seen[6],
  }, "events of " .. name)
  check.eq(seen[6]:find('"event":"finished"', 1, true) ~= nil, true, seen[6])
end

-- the same without --json: lines prefixed by their host, the partial line included
code, out, err = fx.drover("run " .. fx.q(path) .. " -i " .. fx.q(inv) .. " -H h01")
check.eq(code, 0, err)
check.eq(out:find("h01 | a1bc\nh01 | d2.5\nh01 | e\th01\nh01 | tail of h01\n", 1, true) ~= nil, true, out)

-- writes to other files are untouched, and a bad argument is the script's error
local file = dir .. "/written.txt"
fx.write(path, ([[
local f = assert(io.open(%q, "w"))
f:write("to the file\n"); f:close()
io.write({})
]]):format(file))
code, out, err = fx.drover("run " .. fx.q(path) .. " -i " .. fx.q(inv) .. " -H h01")
check.eq(code, 1, err)
check.eq(fx.read(file), "to the file\n")
check.eq(err:find("write.lua:3: bad argument #1 to 'write' (string expected, got table)", 1, true) ~= nil, true, err)
fx.sh("rm -rf " .. fx.q(dir))

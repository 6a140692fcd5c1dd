-- needs: sshd*3
-- Every --json line has a time ("ts", Unix milliseconds, in order of writing), and drover run
-- emits a `started` event for each host before that host's lines and end, as exec does.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(3)
local script = dir .. "/hello.lua"
fx.write(script, 'task.sleep(0.2)\nprint("hello from " .. host.name)\n')
local before = os.time() * 1000

local function events(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local ts = line:match('"ts":(%d+)')
    check.eq(ts ~= nil, true, "every line has ts: " .. line)
    list[#list + 1] = { line = line, ts = tonumber(ts), event = line:match('"event":"([%a_]+)"'),
      host = line:match('"host":"([^"]+)"') }
  end
  return list
end

local function check_times(list)
  local after = (os.time() + 1) * 1000
  for i, e in ipairs(list) do
    check.between(e.ts, before - 1000, after, "a plausible Unix time in ms: " .. e.line)
    -- (the wall clock; monotonic unless it is stepped back meanwhile: 1 s of slack)
    if i > 1 then check.eq(e.ts >= list[i - 1].ts - 1000, true, "in order: " .. e.line) end
  end
  check.eq(list[#list].ts - list[1].ts >= 150, true, "spans the 0.2 s sleep")
end

for _, cmd in ipairs {
  "run " .. fx.q(script) .. " -i " .. fx.q(inv) .. " -g all --json",
  "exec -i " .. fx.q(inv) .. " -g all --json -- 'sleep 0.2; echo hi'",
} do
  local code, out, err = fx.drover(cmd)
  check.eq(code, 0, err)
  local list = events(out)
  check_times(list)
  for _, h in ipairs { "h01", "h02", "h03" } do
    local kinds = {}
    for _, e in ipairs(list) do
      if e.host == h then kinds[#kinds + 1] = e.event end
    end
    check.list_eq(kinds, { "started", "line", "finished" }, cmd .. ": events of " .. h)
  end
  check.eq(list[1].event, "run_started", out)
  check.eq(list[#list].event, "summary", out)
end
fx.sh("rm -rf " .. fx.q(dir))

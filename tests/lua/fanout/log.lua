-- needs: sshd*2
-- The `log` module in a per-host run: each line is its host's (child tasks too), on stderr
-- as `host: [level] text` live, inside the host's block with -b, a `log` event with --json;
-- `log.debug` only with -v; `log.error` reports without raising. Without a host: `[level] text`.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local path = dir .. "/log.lua"
fx.write(path, [[
print("p1", host.name)
log.info("starting", host.name, 3)
log.debug("detail of", host.name)
task.spawn(function() log.warn("child of", host.name) end):join()
log.error("bad on", host.name)
print("p2", host.name)
]])
local function run(flags)
  return fx.drover(("run %s -i %s -g all %s"):format(fx.q(path), fx.q(inv), flags))
end
local function has(text, needle) return text:find(needle, 1, true) ~= nil end

-- live: log lines on stderr, in order, prints alone on stdout; debug only with -v
-- (hosts run side by side: their lines interleave)
local function lines_of(text, prefix)
  local mine = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, #prefix) == prefix then mine[#mine + 1] = line .. "\n" end
  end
  return table.concat(mine)
end
for _, verbose in ipairs({ false, true }) do
  local code, out, err = run(verbose and "-v" or "")
  check.eq(code, 0, err)
  for _, name in ipairs({ "h01", "h02" }) do
    local debug = verbose and ("%s: [debug] detail of\t%s\n"):format(name, name) or ""
    local expected = ("%s: [info] starting\t%s\t3\n%s%s: [warn] child of\t%s\n%s: [error] bad on\t%s\n")
      :format(name, name, debug, name, name, name, name)
    check.eq(lines_of(err, name .. ": "), expected, "stderr of " .. name)
    check.eq(lines_of(out, name .. " "), ("%s | p1\t%s\n%s | p2\t%s\n"):format(name, name, name, name))
  end
  check.eq(has(err, "[debug]"), verbose, err)
  check.eq(has(out, "[info]"), false, "log lines on stdout: " .. out)
  check.eq(has(err, "== 2 hosts: 2 ok"), true, "log.error must not fail the host: " .. err)
end

-- gather: a host's log lines stay in its block, in order with its prints
local code, out, err = run("-b")
check.eq(code, 0, err)
for _, name in ipairs({ "h01", "h02" }) do
  local block = ("%s (1)\n-------\np1\t%s\n[info] starting\t%s\t3\n[warn] child of\t%s\n[error] bad on\t%s\np2\t%s\n")
    :format(name, name, name, name, name, name)
  check.eq(has(out, block), true, "block of " .. name .. ":\n" .. out)
end
check.eq(has(out, "[debug]"), false, out)
check.eq(has(err, "[info]"), false, "gathered log lines also on stderr: " .. err)
code, out, err = run("-b -v")
check.eq(code, 0, err)
check.eq(has(out, "[info] starting\th01\t3\n[debug] detail of\th01\n[warn] child of\th01\n"), true, out)

-- JSON: log events with level, host and text, in order between the host's start and end
local function events_of(json, name)
  local seen = {}
  for line in json:gmatch("[^\n]+") do
    check.eq(line:match('^{.*"event":"[%a_]+".*,"ts":%d+,"v":1}$') ~= nil, true, "not a JSON event line: " .. line)
    -- (the time is checked by tests/lua/batch/json_events.lua)
    line = line:gsub(',"ts":%d+', "")
    if has(line, '"host":"' .. name .. '"') then seen[#seen + 1] = line end
  end
  return seen
end
local function log_event(name, level, text)
  return ('{"event":"log","host":"%s","level":"%s","text":"%s","v":1}'):format(name, level, text)
end
local function line_event(name, text)
  return ('{"event":"line","host":"%s","line":"%s","stream":"stdout","v":1}'):format(name, text)
end
for _, verbose in ipairs({ false, true }) do
  code, out, err = run(verbose and "--json -v" or "--json")
  check.eq(code, 0, err)
  check.eq(err, "", "stderr with --json")
  for _, name in ipairs({ "h01", "h02" }) do
    local seen = events_of(out, name)
    local expected = {
      ('{"event":"started","host":"%s","v":1}'):format(name),
      line_event(name, "p1\\t" .. name),
      log_event(name, "info", "starting\\t" .. name .. "\\t3"),
    }
    if verbose then expected[#expected + 1] = log_event(name, "debug", "detail of\\t" .. name) end
    expected[#expected + 1] = log_event(name, "warn", "child of\\t" .. name)
    expected[#expected + 1] = log_event(name, "error", "bad on\\t" .. name)
    expected[#expected + 1] = line_event(name, "p2\\t" .. name)
    expected[#expected + 1] = seen[#expected + 1]
    check.list_eq(seen, expected, "events of " .. name .. (verbose and " with -v" or ""))
    check.eq(has(seen[#seen], '"event":"finished"'), true, seen[#seen])
  end
end

-- without targets: no host; log.error reports and the script goes on
fx.write(path, [[
log.warn("no host", 1)
log.error("still running")
log.debug("hidden")
print("after")
]])
code, out, err = fx.drover("run " .. fx.q(path))
check.eq(code, 0, err)
check.eq(err, "[warn] no host\t1\n[error] still running\n")
check.eq(out, "after\n")
code, out, err = fx.drover("run -v " .. fx.q(path))
check.eq(code, 0, err)
check.eq(err, "[warn] no host\t1\n[error] still running\n[debug] hidden\n")
fx.sh("rm -rf " .. fx.q(dir))

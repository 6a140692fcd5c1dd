-- needs: sshd*3
-- time-limit: 150
-- examples/rolling.lua run as its comment says, against three fixture hosts (logged in as
-- root), a SysV test service and a config at release 1.0 each: check mode changes nothing
-- (looked at here: sshd is this machine) and reports the changes the real run then makes;
-- --serial 1 changes one host at a time; a second run changes nothing and restarts nothing;
-- a host failing its health check stays drained and, with --max-fail 0%, no further batch
-- starts.
local check = require "check"
local fx = require "fixture"
local test_service = require "test_service"

local N = 3
local services, base, inv_dir = {}, fx.scratch_dir("remote"), fx.local_dir()
for i = 1, N do services[i] = test_service.create("roll" .. i) end
local function path(i, what) return ("%s/h%02d.%s"):format(base, i, what) end

local function inventory(unhealthy)
  local lines = { "[defaults]", "user = root", "known_hosts = " .. inv_dir .. "/known_hosts",
    "app_drain_seconds = 0", "" }
  for i = 1, N do
    local suffix = i == 1 and "" or tostring(i)
    lines[#lines + 1] = ("[host h%02d]\naddress = 127.0.0.1\nport = %s\nidentity = %s"):format(i,
      os.getenv("DROVER_TEST_SSH" .. suffix .. "_PORT"), os.getenv("DROVER_TEST_SSH" .. suffix .. "_KEY"))
    lines[#lines + 1] = "app_service = " .. services[i].name
    lines[#lines + 1] = "app_conf = " .. path(i, "conf")
    lines[#lines + 1] = "app_drain = " .. path(i, "drain")
    if i == unhealthy then lines[#lines + 1] = "app_health = false" end
    lines[#lines + 1] = ""
  end
  lines[#lines + 1] = "[group web]\nhosts = h01, h02, h03\n"
  local p = inv_dir .. "/inventory.ini"
  fx.write(p, table.concat(lines, "\n"))
  return p
end

-- events of a --json run: op changes {"HOST module.op target" = changed}, their count, and
-- each host's started and finished times
local function events(out)
  local got, n, span = {}, 0, {}
  for line in out:gmatch("[^\n]+") do
    local ev, h = line:match('"event":"(%a+)"'), line:match('"host":"(.-)"')
    if ev == "op" then
      local key = ("%s %s.%s %s"):format(h, line:match('"module":"(.-)"'), line:match('"op":"(.-)"'),
        line:match('"target":"(.-)"'))
      got[key], n = line:match('"changed":"?(%a+)"?'), n + 1
    elseif ev == "started" or ev == "finished" then
      span[h] = span[h] or {}
      span[h][ev] = tonumber(line:match('"ts":(%d+)'))
    end
  end
  return got, n, span
end

local function run(extra, release, unhealthy, want_code)
  local code, out, err = fx.drover(("run examples/rolling.lua -i %s -g web %s -- %s"):format(
    fx.q(inventory(unhealthy)), extra, release))
  check.eq(code, want_code or 0, err .. out)
  return out, err
end

local function on_disk()
  local s = fx.sh("cd " .. fx.q(base) .. " && ls && cat *.conf")
  for i = 1, N do s = s .. " " .. services[i].starts() end
  return s
end

local function expect(got, n, hosts, want, what)
  check.eq(n, 4 * #hosts, what .. ": four steps per host")
  for _, i in ipairs(hosts) do
    local h = ("h%02d"):format(i)
    check.eq(got[h .. " file.present " .. path(i, "drain")], want, what .. " " .. h .. ": drained")
    check.eq(got[h .. " file.line " .. path(i, "conf")], want, what .. " " .. h .. ": changed")
    check.eq(got[h .. " service.restarted " .. services[i].name], want, what .. " " .. h .. ": restarted")
    check.eq(got[h .. " file.absent " .. path(i, "drain")], want, what .. " " .. h .. ": back in the pool")
  end
end

local function body()
  for i = 1, N do fx.write(path(i, "conf"), "listen = 8080\nversion = 1.0\n") end

  -- check mode: every host would go through the four steps; nothing happens
  local before = on_disk()
  local got, n = events(run("--check --serial 1 --max-fail 0% --json", "2.0"))
  check.eq(on_disk(), before, "check mode changed nothing")
  expect(got, n, { 1, 2, 3 }, "true", "check")

  -- for real, one host at a time
  local out, span
  out = run("--serial 1 --max-fail 0% --json", "2.0")
  got, n, span = events(out)
  expect(got, n, { 1, 2, 3 }, "true", "real")
  for i = 1, N do
    check.eq(fx.read(path(i, "conf")), "listen = 8080\nversion = 2.0\n")
    check.eq(fx.read(path(i, "drain")), nil, "back in the pool")
    check.eq(services[i].starts(), 1, "restarted once")
    check.eq(services[i].running(), true)
  end
  check.eq(span.h02.started >= span.h01.finished and span.h03.started >= span.h02.finished, true,
    "one batch after the other: " .. out)

  -- again: at the release already, nothing is done (real and check mode)
  for _, extra in ipairs { "--serial 1 --json", "--check --json" } do
    out = run(extra, "2.0")
    got, n = events(out)
    check.eq(n, 0, extra .. ": no operation")
    check.eq(select(2, out:gsub("is at 2%.0 already", "")), N, out)
  end
  check.eq(services[1].starts() + services[2].starts() + services[3].starts(), 3, "no restart")

  -- h02 fails its health check: it stays drained, h03 is not touched
  local err
  out, err = run("--serial 1 --max-fail 0% --json", "3.0", 2, 1)
  got, n = events(out)
  check.eq(n, 7, "h01's four steps, h02's first three: " .. out)
  check.eq(fx.read(path(1, "conf")), "listen = 8080\nversion = 3.0\n")
  check.eq(fx.read(path(2, "drain")), "draining for 3.0\n", "h02 stays out of the pool")
  check.eq(fx.read(path(3, "conf")), "listen = 8080\nversion = 2.0\n", "h03 not reached")
  check.eq(services[3].starts(), 1, "h03 not restarted")
  check.eq(out:find("is not healthy after the change to 3.0: left out of the pool", 1, true) ~= nil, true, out)
  local outcomes = {}
  for line in out:gmatch("[^\n]+") do
    if line:find('"event":"finished"', 1, true) then
      outcomes[#outcomes + 1] = line:match('"host":"(.-)"') .. " " .. line:match('"outcome":"(.-)"')
    end
  end
  table.sort(outcomes)
  check.list_eq(outcomes, { "h01 ok", "h02 failed", "h03 cancelled" }, out .. err)
end

local ok, e = pcall(body)
for _, s in ipairs(services) do s.remove() end
if not ok then error(e, 0) end

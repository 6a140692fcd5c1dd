-- needs: sshd*2
-- time-limit: 150
-- examples/deploy_config.lua run as its comment says, against two fixture hosts (logged in as
-- root) and a SysV test service each (tests/support/test_service.lua): check mode changes
-- nothing (the files and the services' start logs looked at here: sshd is this machine) and
-- reports the changes the real run then makes; a second run changes nothing and restarts
-- nothing; a changed inventory value re-renders and restarts that host only.
local check = require "check"
local fx = require "fixture"
local test_service = require "test_service"

local services = { test_service.create("deploy1"), test_service.create("deploy2") }
local base = fx.scratch_dir("remote")
local inv_dir = fx.local_dir()
local function conf(i) return ("%s/h%02d/app.conf"):format(base, i) end

local function inventory(h01_port)
  local lines = { "[defaults]", "user = root", "known_hosts = " .. inv_dir .. "/known_hosts", "" }
  for i = 1, 2 do
    local suffix = i == 1 and "" or tostring(i)
    lines[#lines + 1] = ("[host h%02d]\naddress = 127.0.0.1\nport = %s\nidentity = %s"):format(i,
      os.getenv("DROVER_TEST_SSH" .. suffix .. "_PORT"), os.getenv("DROVER_TEST_SSH" .. suffix .. "_KEY"))
    lines[#lines + 1] = "app_service = " .. services[i].name
    lines[#lines + 1] = "app_conf = " .. conf(i)
    if i == 1 then lines[#lines + 1] = "app_workers = 8" end
    if i == 1 and h01_port then lines[#lines + 1] = "app_port = " .. h01_port end
    lines[#lines + 1] = ""
  end
  lines[#lines + 1] = "[group web]\nhosts = h01, h02\n"
  local path = inv_dir .. "/inventory.ini"
  fx.write(path, table.concat(lines, "\n"))
  return path
end

-- op events of a --json run: {"HOST module.op target" = changed}, and how many
local function ops(out)
  local got, n = {}, 0
  for line in out:gmatch("[^\n]+") do
    if line:find('"event":"op"', 1, true) then
      local key = ("%s %s.%s %s"):format(line:match('"host":"(.-)"'), line:match('"module":"(.-)"'),
        line:match('"op":"(.-)"'), line:match('"target":"(.-)"'))
      got[key], n = line:match('"changed":"?(%a+)"?'), n + 1
    end
  end
  return got, n
end

local function run(extra, port)
  local code, out, err = fx.drover(("run examples/deploy_config.lua -i %s -g web %s"):format(fx.q(inventory(port)),
    extra))
  check.eq(code, 0, err .. out)
  return out, err
end

local function on_disk()
  return fx.sh("cd " .. fx.q(base) .. " && find . | sort && cat h0*/app.conf 2>/dev/null; true")
    .. services[1].starts() .. " " .. services[2].starts()
end

local function body()
  local function expect(got, n, want, what)
    check.eq(n, 6, what .. ": three steps per host")
    for i = 1, 2 do
      local h, dir = ("h%02d"):format(i), conf(i):match("^(.*)/")
      local w = want[i]
      check.eq(got[h .. " file.directory " .. dir], w[1], what .. " " .. h .. " directory")
      check.eq(got[h .. " file.template " .. conf(i)], w[2], what .. " " .. h .. " template")
      check.eq(got[h .. " service." .. w[3] .. " " .. services[i].name], w[4], what .. " " .. h .. " service")
    end
  end

  -- check mode: would make both files and restart both services; nothing happens
  local before = on_disk()
  local got, n = ops(run("--check --json"))
  check.eq(on_disk(), before, "check mode changed nothing")
  check.eq(services[1].starts() + services[2].starts(), 0, "no service started")
  local first = { { "true", "true", "restarted", "true" }, { "true", "true", "restarted", "true" } }
  expect(got, n, first, "check")

  -- the real run: exactly that
  got, n = ops(run("--json"))
  expect(got, n, first, "real")
  check.eq(fx.read(conf(1)), ("# %s on h01: written by drover (examples/deploy_config.lua), edits are lost\n"
    .. "listen = 8080\nworkers = 8\nlog_level = info\n"):format(services[1].name))
  check.eq(fx.read(conf(2)):match("workers = 4\n") ~= nil, true, fx.read(conf(2)))
  for i = 1, 2 do
    check.eq(services[i].starts(), 1, "started once")
    check.eq(services[i].running(), true)
  end

  -- again, for real and in check mode: nothing to do, no restart
  local done = { { "false", "false", "running", "false" }, { "false", "false", "running", "false" } }
  for _, extra in ipairs { "--json", "--check --json" } do
    got, n = ops(run(extra))
    expect(got, n, done, extra)
    check.eq(services[1].starts() .. services[2].starts(), "11", extra .. ": no restart")
  end

  -- a new port for h01: check mode shows the diff and the restart, the real run does it there only
  before = on_disk()
  local out, err = run("--check --diff", 9090)
  check.eq(on_disk(), before, "check mode changed nothing")
  for _, want in ipairs {
    "h01 ~ file.template " .. conf(1) .. ": would change (content changed)\n",
    "h01 ~ -listen = 8080\nh01 ~ +listen = 9090\n",
    "h01 ~ service.restarted " .. services[1].name .. ": would change (would restart)\n",
    "h02 ~ file.template " .. conf(2) .. ": ok\n",
    "h02 ~ service.running " .. services[2].name .. ": ok\n",
  } do
    check.eq(out:find(want, 1, true) ~= nil, true, ("no %q in\n%s%s"):format(want, out, err))
  end
  got, n = ops(run("--json", 9090))
  expect(got, n, { { "false", "true", "restarted", "true" }, { "false", "false", "running", "false" } }, "port")
  check.eq(fx.read(conf(1)):match("listen = 9090\n") ~= nil, true, fx.read(conf(1)))
  check.eq(services[1].starts() .. services[2].starts(), "21", "h01 restarted, h02 not")
end

local ok, err = pcall(body)
for _, s in ipairs(services) do s.remove() end
if not ok then error(err, 0) end

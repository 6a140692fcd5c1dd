-- needs: sshd
-- time-limit: 40
-- drover run --check on service operations changes nothing on the host (the test service's
-- pidfile, its log of starts, ps, the rc links: looked at here, sshd is this machine) and
-- predicts exactly what the real run then does, the later steps reading the earlier ones'
-- predicted effect (running twice: the second is ok; stopped after restarted: would stop).
-- A service that does not exist is "unknown" in check mode, an error for real.
local check = require "check"
local fx = require "fixture"
local test_service = require "test_service"

local svc = test_service.create("check")
local inv, dir = fx.inventory(1, nil, "root")
local script = dir .. "/services.lua"
fx.write(script, [[
local service = require "drover.service"
local name = ...
service.running(name)
service.running(name)
service.enabled(name)
service.restarted(name)
service.stopped(name)
service.enabled(name)
]])
local missing = dir .. "/missing.lua"
fx.write(missing, [[
local r = require("drover.service").running("drover-test-none-0")
print("missing: " .. tostring(r.changed) .. " (" .. r.reason .. ")")
]])

-- op events of a --json run, in order: "op changed reason"
local function ops(out)
  local got = {}
  for line in out:gmatch("[^\n]+") do
    if line:find('"event":"op"', 1, true) then
      got[#got + 1] = ("%s %s %s"):format(line:match('"op":"(.-)"'), line:match('"changed":"?(%a+)"?'),
        line:match('"reason":"(.-)"'))
      check.eq(line:match('"target":"(.-)"'), svc.name, line)
    end
  end
  return table.concat(got, "\n")
end

local function host_state()
  return ("running=%s pid=%s starts=%d links=%d"):format(tostring(svc.running()), tostring(svc.pid()),
    svc.starts(), svc.links())
end

local ok, err = pcall(function()
  local run = ("run %s %s -i %s -g all --json"):format(fx.q(script), fx.q(svc.name), fx.q(inv))
  local before = host_state()
  local code, out, e = fx.drover(run .. " --check")
  check.eq(code, 0, e .. out)
  check.eq(host_state(), before, "check mode changed nothing")
  check.eq(before, "running=false pid=nil starts=0 links=0")
  local predicted = ops(out)
  check.eq(predicted, table.concat({
    "running true would start", "running false nil", "enabled true would enable",
    "restarted true would restart", "stopped true would stop", "enabled false nil",
  }, "\n"))

  code, out, e = fx.drover(run)
  check.eq(code, 0, e .. out)
  local real = ops(out)
  -- the same changes, in the words of a real run
  check.eq(real, (predicted:gsub("would start", "started"):gsub("would enable", "enabled")
    :gsub("would restart", "restarted"):gsub("would stop", "stopped")))
  check.eq(host_state(), "running=false pid=nil starts=2 links=4", "what the real run did")

  -- the same again in check mode: the host as the real run left it
  code, out, e = fx.drover(run .. " --check")
  check.eq(code, 0, e .. out)
  check.eq(ops(out), table.concat({
    "running true would start", "running false nil", "enabled false nil",
    "restarted true would restart", "stopped true would stop", "enabled false nil",
  }, "\n"))
  check.eq(host_state(), "running=false pid=nil starts=2 links=4")

  -- a service that is not there (yet): unknown in check mode, an error for real
  code, out, e = fx.drover(("run %s -i %s -g all --check"):format(fx.q(missing), fx.q(inv)))
  check.eq(code, 0, e .. out)
  check.eq(out:find("missing: unknown (service drover-test-none-0 does not exist yet (an earlier step may install it))", 1, true) ~= nil, true, out)
  code, out, e = fx.drover(("run %s -i %s -g all"):format(fx.q(missing), fx.q(inv)))
  check.eq(code ~= 0, true, out)
  check.eq((e .. out):find("service.running drover-test-none-0 on h01: no service drover-test-none-0 on this host (sysv)", 1, true) ~= nil, true, e .. out)
end)
svc.remove()
if not ok then error(err, 0) end

-- needs: sshd
-- The command layer of drover.service for every init system (pure: systemd and OpenRC do not
-- run here, so their paths are checked as text and as sh syntax), and the systemd path of
-- the operations' plans in check mode, on facts an earlier step predicted (check mode runs
-- nothing, so the host's own init system does not matter there).
local check = require "check"
local fx = require "fixture"
local service = require "drover.service"

local cmd = service.command
check.eq(cmd("start", "nginx", "systemd"), "systemctl start -- nginx.service")
check.eq(cmd("enable", "nginx", "systemd"), "systemctl enable -- nginx.service")
check.eq(cmd("restart", "getty@tty1.service", "systemd"), "systemctl restart -- getty@tty1.service")
check.eq(cmd("stop", "app.socket", "systemd"), "systemctl stop -- app.socket", "a unit type is kept")
check.eq(cmd("start", "sshd", "openrc"):find("rc-service sshd start </dev/null", 1, true) ~= nil, true)
check.eq(cmd("enable", "sshd", "openrc"):find("rc-update add sshd default", 1, true) ~= nil, true)
local sysv_start = cmd("start", "ssh", "sysv")
check.eq(sysv_start:find("exec service ssh start </dev/null", 1, true) ~= nil, true, sysv_start)
check.eq(sysv_start:find("exec /etc/init.d/ssh start </dev/null", 1, true) ~= nil, true, sysv_start)
local sysv_enable = cmd("enable", "ssh", "sysv")
for _, want in ipairs { "update-rc.d ssh defaults", "chkconfig --add ssh && chkconfig ssh on",
  "rc-update add ssh default", "exit 127" } do
  check.eq(sysv_enable:find(want, 1, true) ~= nil, true, want .. " in " .. sysv_enable)
end
for _, m in ipairs { "systemd", "openrc", "sysv" } do
  for _, a in ipairs { "start", "stop", "restart", "enable" } do
    local c = cmd(a, "it's", m)
    fx.sh("sh -n -c " .. fx.q(c))
    check.eq(c:find("'it'\\''s", 1, true) ~= nil, true, "quoted: " .. c)
  end
end
check.raises('no action "reload"', cmd, "reload", "x", "sysv")
check.raises('no init system "upstart"', cmd, "start", "x", "upstart")

-- systemd plans in check mode, from predicted facts
local dir = fx.local_dir()
local script = dir .. "/systemd.lua"
fx.write(script, [=[
local facts = require "drover.facts"
local service = require "drover.service"
local function unit(name, active, enabled, state)
  facts.predict("service", name, { manager = "systemd", exists = true, active = active,
    enabled = enabled, unit_file_state = state })
end
unit("drover-a", false, false, "disabled")
unit("drover-b", true, true, "enabled")
unit("drover-c", true, nil, "static")
facts.predict("service", "drover-d", { manager = "systemd", exists = false, active = false, enabled = false })
for _, step in ipairs {
  { "running", "drover-a" }, { "enabled", "drover-a" }, { "running", "drover-b" },
  { "enabled", "drover-b" }, { "stopped", "drover-b" }, { "stopped", "drover-b" },
  { "enabled", "drover-c" }, { "restarted", "drover-c" }, { "running", "drover-d" }, { "restarted", "drover-d" },
} do
  local r = service[step[1]](step[2])
  print(("%s %s: %s (%s)"):format(step[1], step[2], tostring(r.changed), tostring(r.reason)))
end
]=])
local inv = fx.inventory(1, nil, "root")
local code, out, err = fx.drover(("run %s --check -i %s -g all"):format(fx.q(script), fx.q(inv)))
check.eq(code, 0, err .. out)
for _, line in ipairs {
  "running drover-a: true (would start)",
  "enabled drover-a: true (would enable)",
  "running drover-b: false (nil)",
  "enabled drover-b: false (nil)",
  "stopped drover-b: true (would stop)",
  "stopped drover-b: false (nil)",
  "enabled drover-c: unknown (cannot tell whether drover-c is enabled (systemd unit file state static))",
  "restarted drover-c: true (would restart)",
  "running drover-d: unknown (service drover-d does not exist yet (an earlier step may install it))",
  -- (an unknown step predicts nothing: the next one on it is unknown too)
  "restarted drover-d: unknown (service drover-d does not exist yet (an earlier step may install it))",
} do
  check.eq(out:find(line, 1, true) ~= nil, true, line .. " in\n" .. out)
end

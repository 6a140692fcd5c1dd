--- drover.service: services of the current host by the state they should be in: running,
--- stopped, restarted (always), enabled at boot. systemd when it runs on the host
--- (/run/systemd/system exists: `systemctl`), else OpenRC (`rc-service`, `rc-update`) or
--- SysV init scripts (`service NAME ACTION`, or `/etc/init.d/NAME ACTION` without `service`;
--- enabling through update-rc.d, chkconfig or rc-update, whichever the host has). The state
--- is read with drover.facts' `service` fact; after starting or stopping, the op reads it
--- again and fails if the service did not get there. In check mode nothing runs: a service
--- that does not exist (yet: an earlier step may install it) is `changed = "unknown"`,
--- `restarted` is always `changed = true` ("would restart").
---
--- ```lua
--- local service = require "drover.service"
--- service.running("nginx")
--- service.enabled("nginx")
--- if conf.changed then service.restarted("nginx") end
--- service.stopped("apache2", { sudo = true })
--- ```
local op = require "drover.op"
local facts = require "drover.facts"
local shell = require "drover.shell"
local core = require "drover.opcore"

local service = {}

local error, pairs, tostring, type = error, pairs, tostring, type
local ssh = ssh

-- Where service, update-rc.d and chkconfig live: not on every login user's PATH.
local PATH = "PATH=$PATH:/usr/sbin:/sbin; export PATH; "

-- systemd's unit for `name` (".service" unless it names its type).
local function unit_of(name)
  return name:find("%.%a+$") and name or name .. ".service"
end

local actions = { start = true, stop = true, restart = true, enable = true }

--- The command that does `action` ("start", "stop", "restart" or "enable") to the service
--- `name` under `manager` ("systemd", "openrc" or "sysv", as facts.service says). Pure.
---@param action "start"|"stop"|"restart"|"enable"
---@param name string
---@param manager "systemd"|"openrc"|"sysv"
---@return string
function service.command(action, name, manager)
  if not actions[action] then error(("service.command: no action %q"):format(tostring(action)), 2) end
  local q = shell.quote(name)
  if manager == "systemd" then
    return "systemctl " .. action .. " -- " .. shell.quote(unit_of(name))
  elseif manager == "openrc" then
    if action == "enable" then return PATH .. "rc-update add " .. q .. " default" end
    return PATH .. "rc-service " .. q .. " " .. action .. " </dev/null"
  elseif manager == "sysv" then
    if action == "enable" then
      return PATH .. table.concat({
        "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d " .. q .. " defaults",
        "elif command -v chkconfig >/dev/null 2>&1; then chkconfig --add " .. q .. " && chkconfig " .. q .. " on",
        "elif command -v rc-update >/dev/null 2>&1; then rc-update add " .. q .. " default",
        "else echo 'no update-rc.d, chkconfig or rc-update found' >&2; exit 127; fi",
      }, "\n")
    end
    -- (an init script's daemon must not keep the command's output open: stdin from /dev/null)
    return PATH .. "if command -v service >/dev/null 2>&1; then exec service " .. q .. " " .. action
      .. " </dev/null; else exec /etc/init.d/" .. q .. " " .. action .. " </dev/null; fi"
  end
  error(("service.command: no init system %q (systemd, openrc or sysv)"):format(tostring(manager)), 2)
end

-- A name the init system and a shell read as one service: checked at the caller's line.
local function valid_name(name)
  if type(name) ~= "string" or name == "" then
    return "the service name must be a non-empty string, got " .. (type(name) == "string" and '""' or type(name))
  end
  if name:find("^%-") or name:find("[%s/:'\"$`\\]") then
    return ("%q is not a service name"):format(name)
  end
  return nil
end

local function via(opts)
  return opts.sudo and { sudo = true } or nil
end

local function read(name, opts)
  return facts.service(name, via(opts))
end

-- The change for a service that does not exist: in check mode unknown (an earlier step may
-- install it, and the host cannot say yet), else an error naming it.
local function missing(name, st, reason)
  if core.mode().check then
    return { reason = reason, unknown = ("service %s does not exist yet (an earlier step may install it)")
      :format(name) }
  end
  error(("no service %s on this host (%s)"):format(name, st.manager), 0)
end

-- Records `st` with `changes` applied as the service's predicted state. A service that does
-- not exist (an unknown step) gets no prediction: the steps after it stay unknown too.
local function predict(name, st, changes)
  if not st.exists then return end
  local p = { predicted = true }
  for k, v in pairs(st) do p[k] = v end
  for k, v in pairs(changes) do p[k] = v end
  facts.predict("service", name, p)
end

-- Runs `action` on the host; with `want_active`, reads the state again and fails unless the
-- service is (or is not) running now.
local function act(name, opts, action, st, want_active)
  ssh.run(service.command(action, name, st.manager), { sudo = opts.sudo or nil })
  if want_active == nil then return nil end
  facts.invalidate("service", name)
  local now = facts.service(name, via(opts))
  if now.active ~= want_active then
    error(("`%s` succeeded, but %s is still %s (status %s)"):format(action, name,
      now.active and "running" or "not running", tostring(now.state)), 0)
  end
  return nil
end

local function service_facts(name) return { { "service", name } } end

local options = { sudo = "boolean" }

-- A word of the reason: "start" in check mode ("would start"), "started" in a real run.
local function said(check_word, done_word)
  return core.mode().check and ("would " .. check_word) or done_word
end

-- An operation that leaves the service running (`active` true) or not: `action` ("start",
-- "stop", "restart") when it is not so already, or always (`always`, a restart).
local function activity(op_name, action, done_word, active, always)
  return op.define {
    module = "service", name = op_name, options = options, target = valid_name,
    read = read,
    plan = function(name, _, st)
      if not st.exists then return missing(name, st, said(action, done_word)) end
      if not always and (st.active and true or false) == active then return nil end
      return { reason = said(action, done_word) }
    end,
    apply = function(name, opts, _, st) return act(name, opts, action, st, active) end,
    predict = function(name, _, _, st) predict(name, st, { active = active }) end,
    facts = service_facts,
  }
end

--- The service `name` is running: started if it is not.
---@type fun(name: string, opts?: {sudo?: boolean}): drover.op.Result
service.running = activity("running", "start", "started", true)

--- The service `name` is not running: stopped if it is.
---@type fun(name: string, opts?: {sudo?: boolean}): drover.op.Result
service.stopped = activity("stopped", "stop", "stopped", false)

--- The service `name` restarted (started if it was not running): always a change.
---@type fun(name: string, opts?: {sudo?: boolean}): drover.op.Result
service.restarted = activity("restarted", "restart", "restarted", true, true)

--- The service `name` starts at boot: `systemctl enable`; update-rc.d NAME defaults,
--- chkconfig or rc-update for init scripts. A systemd unit that cannot be enabled or
--- disabled (static, generated, indirect) is an error, in check mode `changed = "unknown"`.
---@type fun(name: string, opts?: {sudo?: boolean}): drover.op.Result
service.enabled = op.define {
  module = "service", name = "enabled", options = options, target = valid_name,
  read = read,
  plan = function(name, _, st)
    local reason = said("enable", "enabled")
    if not st.exists then return missing(name, st, reason) end
    if st.enabled == nil then
      local why = ("cannot tell whether %s is enabled (%s unit file state %s)"):format(name,
        st.manager, tostring(st.unit_file_state))
      if core.mode().check then return { reason = reason, unknown = why } end
      error(why, 0)
    end
    if st.enabled then return nil end
    return { reason = reason }
  end,
  apply = function(name, opts, _, st)
    act(name, opts, "enable", st, nil)
    facts.invalidate("service", name)
    if not facts.service(name, via(opts)).enabled then
      error(("`enable` succeeded, but %s is still not enabled"):format(name), 0)
    end
  end,
  predict = function(name, _, _, st) predict(name, st, { enabled = true }) end,
  facts = service_facts,
}

return service

--- drover.group: groups of the current host by the state they should be in (shadow-utils'
--- `groupadd` / `groupmod`; Alpine needs its `shadow` package). The result is `{changed,
--- reason}`: "created", or what differs ("gid 1001 -> 1500"). In check mode the group is
--- predicted into drover.facts' overlay, so that a `user.present(name, {group = ...})` after
--- it plans against the group it would create. Changing users and groups needs root: log in
--- as root or pass `sudo = true`.
---
--- ```lua
--- local group = require "drover.group"
--- group.present("app", { system = true })
--- group.present("deploy", { gid = 1500 })
--- ```
local op = require "drover.op"
local facts = require "drover.facts"
local shell = require "drover.shell"
local shadow = require "drover.shadow"

local group = {}

local error, ssh = error, ssh

local function run(cmd, opts)
  return ssh.run(cmd, { sudo = opts.sudo or nil })
end

--- Makes sure the group `name` exists, with `gid` when given (`groupmod -g` changes it on an
--- existing group). `system` (a system group's gid range) applies when it is created.
---@type fun(name: string, opts?: {gid?: integer, system?: boolean, sudo?: boolean}): drover.op.Result
group.present = op.define {
  module = "group", name = "present",
  options = { gid = "number", system = "boolean", sudo = "boolean" },
  target = function(name) return shadow.bad_name("group", name) end,
  read = function(name) return facts.group(name) end,
  plan = function(_, opts, st)
    local bad = shadow.bad_id("gid", opts.gid)
    if bad then error(bad, 0) end
    local change
    if st == nil then
      change = { reason = "created" }
    elseif st.unknown then
      return { reason = "created", unknown = ("whether it exists is not known: %s"):format(st.unknown) }
    elseif opts.gid ~= nil and st.gid ~= opts.gid then
      if st.gid == nil then
        return { reason = "gid", unknown = "its gid after an earlier step is not known before that step runs" }
      end
      change = { reason = ("gid %d -> %d"):format(st.gid, opts.gid) }
    else
      return nil
    end
    shadow.require_tool(st == nil and "groupadd" or "groupmod")
    return change
  end,
  apply = function(name, opts, _, st)
    local gid = opts.gid and (" -g " .. opts.gid) or ""
    if st == nil then
      run("groupadd" .. gid .. (opts.system and " -r" or "") .. " -- " .. shell.quote(name), opts)
    else
      run("groupmod" .. gid .. " -- " .. shell.quote(name), opts)
    end
  end,
  -- what groupadd picks for a gid is not predicted: nil (a later step asking is unknown)
  predict = function(name, opts, _, st)
    facts.predict("group", name, {
      name = name, gid = opts.gid or (st and st.gid) or nil, members = st and st.members or {},
      predicted = true,
    })
  end,
  -- groupmod -g also moves the users whose primary group it is
  facts = function(name) return { { "group", name }, { "user", nil } } end,
}

return group

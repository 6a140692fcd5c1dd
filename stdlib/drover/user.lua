--- drover.user: users of the current host by the state they should be in (shadow-utils'
--- `useradd` / `usermod` / `userdel`; Alpine needs its `shadow` package, busybox's adduser
--- is not used). `user.present` changes only what differs from the options given and says
--- what (`shell /bin/sh -> /bin/bash, groups +docker`); options it is not given stay as they
--- are. It never takes a password: the account it makes has a locked one (`!` in
--- /etc/shadow), for keys or sudo rules to be added by other steps. In check mode the user
--- (and the groups it joins) are predicted into drover.facts' overlay, so that
--- `group.present "app"` then `user.present("app", {group = "app"})` says both would be
--- created. Changing users needs root: log in as root or pass `sudo = true`.
---
--- ```lua
--- local group = require "drover.group"
--- local user = require "drover.user"
--- group.present("app", { system = true })
--- user.present("app", { group = "app", system = true, home = "/srv/app", shell = "/usr/sbin/nologin" })
--- user.present("alice", { groups = { "sudo" }, append = true, shell = "/bin/bash", comment = "Alice" })
--- user.absent("olduser", { remove_home = true })
--- ```
local op = require "drover.op"
local facts = require "drover.facts"
local shell = require "drover.shell"
local shadow = require "drover.shadow"

local user = {}

local type, error, ipairs, pairs, table = type, error, ipairs, pairs, table
local ssh = ssh

local function run(cmd, opts)
  return ssh.run(cmd, { sudo = opts.sudo or nil })
end

-- A field of /etc/passwd: no ':' or newline (they would make another entry); paths absolute.
local function bad_field(key, v, path)
  if v == nil then return nil end
  if v:find("[:\n]") then return ("option '%s' must not contain ':' or a newline"):format(key) end
  if path and v:sub(1, 1) ~= "/" then return ("option '%s' must be an absolute path, got %q"):format(key, v) end
  return nil
end

-- The options' values, beyond their types: nil if fine, else why.
local function bad_values(opts)
  local bad = shadow.bad_id("uid", opts.uid)
    or (opts.group and shadow.bad_name("group", opts.group))
    or bad_field("home", opts.home, true) or bad_field("shell", opts.shell, true)
    or bad_field("comment", opts.comment, false)
  if bad then return bad end
  for _, g in ipairs(opts.groups or {}) do
    bad = shadow.bad_name("group", g)
    if bad then return "option 'groups': " .. bad end
  end
  return nil
end

-- The primary group a user gets: the one named, else (when it is created) its own group,
-- named like it: `-g NAME` when that group exists, else `useradd -U` makes it (whatever
-- USERGROUPS_ENAB says, so that what happens is known beforehand).
local function primary_of(name, opts)
  return opts.group or name
end

-- `list` as a set, without `except`.
local function set_of(list, except)
  local s = {}
  for _, g in ipairs(list) do if g ~= except then s[g] = true end end
  return s
end

-- Sorted names of the keys of `a` that are not in `b`.
local function minus(a, b)
  local out = {}
  for k in pairs(a) do if not b[k] then out[#out + 1] = k end end
  table.sort(out)
  return out
end

-- Whether a new user gets a home directory: by default, except system users (as useradd -r).
local function create_home_of(opts)
  if opts.create_home == nil then return not opts.system end
  return opts.create_home
end

local present_options = {
  uid = "number", group = "string", groups = "string[]", append = "boolean", home = "string",
  shell = "string", system = "boolean", comment = "string", create_home = "boolean",
  sudo = "boolean",
}

local function present_read(name, opts)
  local cur = { st = facts.user(name), groups = {} }
  if opts.group or cur.st == nil then cur.primary = facts.group(primary_of(name, opts)) end
  for _, g in ipairs(opts.groups or {}) do cur.groups[g] = facts.group(g) or false end
  return cur
end

-- What usermod must change, as words for the reason and its options; or why it is unknown.
local function modifications(name, opts, cur)
  local st = cur.st
  local words, args, unknown = {}, {}, nil
  local function field(key, label, flag, fmt)
    local want, have = opts[key], st[label]
    if want == nil or want == have then return end
    if have == nil then
      unknown = ("its %s after an earlier step is not known before that step runs"):format(key)
      return
    end
    words[#words + 1] = ("%s " .. fmt .. " -> " .. fmt):format(key, have, want)
    args[#args + 1] = flag .. " " .. shell.quote(tostring(want))
  end
  field("uid", "uid", "-u", "%d")
  field("home", "home", "-d", "%s")
  field("shell", "shell", "-s", "%s")
  field("comment", "gecos", "-c", "%q")
  local groups = st.groups
  if groups == nil and (opts.group or opts.groups) then
    unknown = "its groups after an earlier step are not known before that step runs"
  end
  local primary = groups and groups[1]
  if opts.group and groups and primary ~= opts.group then
    words[#words + 1] = ("group %s -> %s"):format(primary, opts.group)
    args[#args + 1] = "-g " .. shell.quote(opts.group)
    primary = opts.group
  end
  if opts.groups and groups then
    -- (`id -Gn` names the primary group once: it is no supplementary group to compare)
    local have, want = set_of({ table.unpack(groups, 2) }, primary), set_of(opts.groups, primary)
    local add, remove = minus(want, have), opts.append and {} or minus(have, want)
    if #add > 0 or #remove > 0 then
      local w = {}
      for _, g in ipairs(add) do w[#w + 1] = "+" .. g end
      for _, g in ipairs(remove) do w[#w + 1] = "-" .. g end
      words[#words + 1] = "groups " .. table.concat(w, " ")
      local list = opts.append and add or minus(want, {})
      -- (`-G ''`: in no supplementary group)
      args[#args + 1] = (opts.append and "-a " or "") .. "-G " .. shell.quote(table.concat(list, ","))
    end
  end
  return words, args, unknown
end

local function present_plan(name, opts, cur)
  local bad = bad_values(opts)
  if bad then error(bad, 0) end
  local named = { table.unpack(opts.groups or {}) }
  if opts.group then table.insert(named, 1, opts.group) end
  for _, g in ipairs(named) do
    if not (g == opts.group and cur.primary or cur.groups[g]) then
      error(("group %s does not exist (group.present makes it)"):format(g), 0)
    end
  end
  -- a group an earlier step may have removed (user.absent of its user)
  for _, grp in ipairs { cur.primary or false, table.unpack(named) } do
    grp = type(grp) == "string" and cur.groups[grp] or grp
    if grp and grp.unknown then
      return { reason = "group " .. grp.name,
        unknown = ("whether group %s exists is not known: %s"):format(grp.name, grp.unknown) }
    end
  end
  if cur.st == nil then
    shadow.require_tool("useradd")
    return { reason = "created" }
  end
  local words, args, unknown = modifications(name, opts, cur)
  if #words == 0 and not unknown then return nil end
  local reason = table.concat(words, ", ")
  if unknown and reason ~= "" then unknown = reason .. "; " .. unknown end
  shadow.require_tool("usermod")
  return { reason = reason, unknown = unknown, args = args }
end

local function present_apply(name, opts, change, cur)
  local q = shell.quote(name)
  if cur.st ~= nil then
    run("usermod " .. table.concat(change.args, " ") .. " -- " .. q, opts)
    return
  end
  local args = {}
  if opts.uid then args[#args + 1] = "-u " .. opts.uid end
  if opts.group or cur.primary then
    args[#args + 1] = "-g " .. shell.quote(primary_of(name, opts))
  else
    args[#args + 1] = "-U"
  end
  if opts.groups and #opts.groups > 0 then
    args[#args + 1] = "-G " .. shell.quote(table.concat(opts.groups, ","))
  end
  if opts.home then args[#args + 1] = "-d " .. shell.quote(opts.home) end
  if opts.shell then args[#args + 1] = "-s " .. shell.quote(opts.shell) end
  if opts.comment then args[#args + 1] = "-c " .. shell.quote(opts.comment) end
  if opts.system then args[#args + 1] = "-r" end
  args[#args + 1] = create_home_of(opts) and "-m" or "-M"
  run("useradd " .. table.concat(args, " ") .. " -- " .. q, opts)
end

-- The skeleton directory useradd -m copies into a new home (SKEL of /etc/default/useradd)
-- and the paths below it (a probe: it runs in check mode, which is where this is asked).
local function skeleton()
  local r = ssh.run([[skel=$(sed -n 's/^SKEL=//p' /etc/default/useradd 2>/dev/null); ]]
    .. [[skel=${skel:-/etc/skel}; echo "$skel"; ! [ -d "$skel" ] || (cd "$skel" && find . -mindepth 1)]],
    { readonly = true })
  local lines = {}
  for l in r.stdout:gmatch("[^\n]+") do lines[#lines + 1] = l end
  local skel, entries = table.remove(lines, 1) or "/etc/skel", {}
  for _, l in ipairs(lines) do entries[#entries + 1] = l:gsub("^%./", "") end
  return skel, entries
end

-- The groups `name` is in after the step: primary first (as `id -Gn`).
local function groups_after(name, opts, cur)
  local old = cur.st and cur.st.groups or {}
  local primary = opts.group or old[1] or name
  local out, seen = { primary }, { [primary] = true }
  local function add(g)
    if not seen[g] then out[#out + 1], seen[g] = g, true end
  end
  if opts.groups and not opts.append then
    for _, g in ipairs(opts.groups) do add(g) end
  else
    for i = 2, #old do add(old[i]) end
    for _, g in ipairs(opts.groups or {}) do add(g) end
  end
  return out
end

local function present_predict(name, opts, _, cur)
  local st = cur.st or {}
  local after = groups_after(name, opts, cur)
  if cur.st == nil and not cur.primary then
    -- useradd -U makes the user's own group; its gid is useradd's choice
    facts.predict("group", name, { name = name, members = {}, predicted = true })
  end
  local gid = st.gid
  if opts.group or cur.st == nil then gid = cur.primary and cur.primary.gid or nil end
  facts.predict("user", name, {
    name = name, uid = opts.uid or st.uid, gid = gid,
    gecos = opts.comment or st.gecos or (cur.st == nil and "" or nil),
    home = opts.home or st.home, shell = opts.shell or st.shell,
    groups = (cur.st == nil or st.groups) and after or nil, predicted = true,
  })
  -- the home directory useradd -m makes (its mode is login.defs' HOME_MODE: not known),
  -- with copies of the skeleton directory's files in it
  if cur.st == nil and opts.home and create_home_of(opts) and not facts.file(opts.home) then
    facts.predict("file", opts.home, {
      type = "directory", owner = name, group = after[1], predicted = true,
    })
    local skel, entries = skeleton(opts)
    for _, rel in ipairs(entries) do
      local f = facts.file(skel .. "/" .. rel)
      if f then
        f.owner, f.group, f.uid, f.gid, f.predicted = name, after[1], nil, nil, true
        facts.predict("file", opts.home .. "/" .. rel, f)
      end
    end
  end
  -- the supplementary groups' member lists
  local member = set_of({ table.unpack(after, 2) })
  for _, g in ipairs(after) do
    local grp = facts.group(g)
    if grp and member[g] then
      local has = false
      for _, m in ipairs(grp.members or {}) do has = has or m == name end
      if not has then
        grp.members = grp.members or {}
        grp.members[#grp.members + 1] = name
        grp.predicted = true
        facts.predict("group", g, grp)
      end
    end
  end
end

local function present_facts(name, opts, cur)
  local out = { { "user", name }, { "group", nil } }
  if cur.st == nil then out[#out + 1] = { "file", opts.home } end
  return out
end

--- Makes sure the user `name` exists with the attributes given: `uid`, `group` (the primary
--- group's name; it must exist: group.present makes it), `groups` (supplementary groups,
--- exactly these unless `append = true`), `home`, `shell`, `comment`; `system` and
--- `create_home` (default: true except for system users) apply when it is created. A user
--- created without `group` gets its own group, named like it (made when missing).
---@type fun(name: string, opts?: {uid?: integer, group?: string, groups?: string[], append?: boolean, home?: string, shell?: string, system?: boolean, comment?: string, create_home?: boolean, sudo?: boolean}): drover.op.Result
user.present = op.define {
  module = "user", name = "present", options = present_options,
  target = function(name) return shadow.bad_name("user", name) end,
  read = present_read, plan = present_plan, apply = present_apply, predict = present_predict,
  facts = present_facts,
}

--- Makes sure there is no user `name` (`userdel`; `remove_home = true`: with its home
--- directory and mail spool, `userdel -r`). userdel may also remove the user's own group
--- (USERGROUPS_ENAB): check mode leaves a later step on that group `unknown`.
---@type fun(name: string, opts?: {remove_home?: boolean, sudo?: boolean}): drover.op.Result
user.absent = op.define {
  module = "user", name = "absent",
  options = { remove_home = "boolean", sudo = "boolean" },
  target = function(name) return shadow.bad_name("user", name) end,
  read = function(name) return facts.user(name) end,
  plan = function(_, opts, st)
    if st == nil then return nil end
    if st.predicted and opts.remove_home and st.home == nil then
      return { reason = "removed", unknown = "its home after an earlier step is not known before that step runs" }
    end
    shadow.require_tool("userdel")
    return { reason = "removed" }
  end,
  apply = function(name, opts)
    run("userdel " .. (opts.remove_home and "-r " or "") .. "-- " .. shell.quote(name), opts)
  end,
  predict = function(name, opts, _, st)
    facts.predict("user", name, false)
    if opts.remove_home and st.home then facts.predict("file", st.home, false) end
    local own = st.groups and st.groups[1] == name
    if own then
      facts.predict("group", name, {
        name = name, predicted = true, unknown = "userdel may have removed it with user " .. name,
      })
    end
  end,
  facts = function(name, opts, st)
    local out = { { "user", name }, { "group", nil } }
    if opts.remove_home then out[#out + 1] = { "file", st.home } end
    return out
  end,
}

return user

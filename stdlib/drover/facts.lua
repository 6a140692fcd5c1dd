--- drover.facts: what a host is, read-only. Each fact is one remote command and a pure parser
--- (`facts.parse`); values are cached per host for the current run (`task.run_state()`: one
--- per eval, script run or per-host run), so asking twice costs one command. An operation that
--- changes a fact's source calls `facts.invalidate`; check mode records predicted values with
--- `facts.predict`, which later reads return without probing.
---
--- ```lua
--- local facts = require "drover.facts"
--- if facts.os().id == "debian" and not facts.file("/etc/app.conf") then ... end
--- ```
local parse = require "drover.facts.parse"
local commands = require "drover.facts.commands"
local shell = require "drover.shell"

local facts = { parse = parse }

local type, tostring, error, pairs, ipairs = type, tostring, error, pairs, ipairs
local ssh, task = ssh, task

-- Key of the facts that take none.
local NO_KEY = ""

--- A fact's definition: how to ask the host and how to read the answer.
---@class drover.facts.Source
---@field command fun(key: string?): string       the one remote command
---@field read fun(result: RunResult, key: string?): any, string?  value (false: absent), or nil and why it failed
---@field key? fun(key: any): string               the key as stored (normalised), or raises
---@field derived? fun(cache: table, key: string): any  a value answered from other cached data, if any
---@field lookup? fun(cache: table, key: string?, via: drover.facts.Via?): any, string?  answers from its own cache (`cache.whole`) instead of command + read per key
---@field invalidate? fun(cache: table, key: string)  drops what `key` makes stale
---@field predicted? fun(cache: table, key: string)  after a prediction for `key`

--- Every fact, by name.
---@type table<string, drover.facts.Source>
local sources = {}

-- The one place a fact reaches the host. The command runs under sh whatever the login
-- shell is (the facts' commands are POSIX sh); the result names the fact's own command.
-- Facts only read, so they run in check mode too (readonly).
---@param cmd string
---@param via? drover.facts.Via
---@return RunResult
local function probe(cmd, via)
  local opts = { check = false, readonly = true }
  if via then opts.sudo, opts.user, opts.sudo_password = via.sudo, via.user, via.sudo_password end
  local r = ssh.run("sh -c " .. shell.quote(cmd), opts)
  r.cmd = cmd
  return r
end

--- How a fact is read: as the login user (default) or through sudo, for what only another
--- user may see (a file in a root-only directory). The value is the host's either way, so
--- both share one cache.
---@class drover.facts.Via
---@field sudo? boolean
---@field user? string           sudo to this user (default root)
---@field sudo_password? string

local via_keys = { sudo = "boolean", user = "string", sudo_password = true }

-- `via` checked: a table of known keys, or nil.
local function check_via(name, via, level)
  if via == nil then return nil end
  if type(via) ~= "table" then
    error(("facts.%s: options must be a table, got %s"):format(name, type(via)), level + 1)
  end
  for k, v in pairs(via) do
    local want = via_keys[k]
    if want == nil then
      error(("facts.%s: unknown option '%s' (options: sudo, user, sudo_password)")
        :format(name, tostring(k)), level + 1)
    end
    if want ~= true and type(v) ~= want then
      error(("facts.%s: option '%s' must be a %s, got %s"):format(name, k, want, type(v)), level + 1)
    end
  end
  return via
end

-- "host NAME (user@address:port)": one cache per machine reached, whichever host object.
local function current_host(what)
  local h = ssh.current()
  if h == nil then
    error(("facts.%s: no current host (use ssh.with(host, fn), or run the script on targets)")
      :format(what), 3)
  end
  return h
end

-- The cache of `name` on the current host in this run: {values = {[key] = {value, predicted}}}.
local function cache_of(h, name)
  local state = task.run_state()
  local mine = state["drover.facts"]
  if mine == nil then
    mine = {}
    state["drover.facts"] = mine
  end
  local id = tostring(h)
  local per_host = mine[id]
  if per_host == nil then
    per_host = {}
    mine[id] = per_host
  end
  local c = per_host[name]
  if c == nil then
    c = { values = {} }
    per_host[name] = c
  end
  return c
end

-- A copy, so that callers changing a fact's table do not change the cache.
local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

local function source_of(name, level)
  local s = sources[name]
  if s == nil then
    local known = {}
    for n in pairs(sources) do known[#known + 1] = n end
    table.sort(known)
    error(("facts: no fact named %s (facts: %s)"):format(tostring(name), table.concat(known, ", ")),
      level + 1)
  end
  return s
end

local function key_of(s, name, key, level)
  if s.key then
    local ok, k = pcall(s.key, key)
    if not ok then error(("facts.%s: %s"):format(name, tostring(k)), level + 1) end
    return k
  end
  if key == nil then return NO_KEY end
  return tostring(key)
end

-- Runs fetch() unless another task is already fetching `slot` of cache `c`: then waits for
-- it and returns nothing (the caller reads the cache again). Tasks asking for the same fact
-- at once make one command.
local function single_flight(c, slot, fetch)
  local pending = c.pending
  if pending == nil then
    pending = {}
    c.pending = pending
  end
  local busy = pending[slot]
  if busy then
    busy:wait()
    return nil, nil, true
  end
  busy = task.event()
  pending[slot] = busy
  local ok, v, why = pcall(fetch)
  pending[slot] = nil
  busy:set()
  if not ok then error(v, 0) end
  return v, why
end

--- The fact `name` of the current host for `key` (a path, a user name, ...; nil for facts
--- that take none): nil when absent, else its value, cached for this run.
---@param name string
---@param key? string
---@param via? drover.facts.Via  read through sudo (when not cached yet)
---@return any
function facts.get(name, key, via)
  local h = current_host(name)
  local s = source_of(name, 2)
  local k = key_of(s, name, key, 2)
  via = check_via(name, via, 2)
  local c = cache_of(h, name)
  local hit = c.values[k]
  if hit == nil and s.derived then
    local v = s.derived(c, k)
    if v ~= nil then hit = { v } end
  end
  while hit == nil do
    local arg = k ~= NO_KEY and k or nil
    local v, why, waited
    if s.lookup then
      v, why = s.lookup(c, arg, via)
    else
      v, why, waited = single_flight(c, k, function()
        return s.read(probe(s.command(arg), via), arg)
      end)
    end
    if waited then
      hit = c.values[k]
    else
      if v == nil then
        error(("facts.%s%s on %s: %s"):format(name, arg and ("(" .. k .. ")") or "",
          h.name, why or "no answer"), 2)
      end
      hit = { v }
      if not s.lookup then c.values[k] = hit end
    end
  end
  if hit[1] == false then return nil end
  return copy(hit[1])
end

--- Records `value` as what the fact `name` for `key` will be on the current host (check mode's
--- overlay): later `facts.get(name, key)` returns it without asking the host. `false` means
--- "absent".
---@param name string
---@param key string?
---@param value any
function facts.predict(name, key, value)
  local h = current_host(name)
  local s = source_of(name, 2)
  local k = key_of(s, name, key, 2)
  if value == nil then
    error(("facts.predict: value for %s(%s) is nil (false means absent)"):format(name, tostring(key)), 2)
  end
  local c = cache_of(h, name)
  c.values[k] = { copy(value), predicted = true }
  if s.predicted then s.predicted(c, k) end
end

--- Check mode: records that an earlier step would change the host's `name` facts in ways no
--- prediction says (a package install writes files, a command may do anything), so that a
--- value read from the host after it is not certain. The first reason is kept.
---@param name string
---@param why string   the step, as "pkg.installed nginx"
function facts.uncertain(name, why)
  local c = cache_of(current_host(name), name)
  c.uncertain = c.uncertain or why
end

--- The step that made the `name` facts of the current host uncertain (see facts.uncertain),
--- or nil.
---@param name string
---@return string?
function facts.uncertainty(name)
  return cache_of(current_host(name), name).uncertain
end

--- Forgets the cached value of the fact `name` for `key` on the current host (all its keys
--- when `key` is nil): the next read asks the host again.
---@param name string
---@param key? string
function facts.invalidate(name, key)
  local h = current_host(name)
  local s = source_of(name, 2)
  local c = cache_of(h, name)
  if key == nil then
    c.values, c.whole = {}, nil
    return
  end
  local k = key_of(s, name, key, 2)
  if s.invalidate then
    s.invalidate(c, k)
  else
    c.values[k] = nil
  end
end

-- An error text for a failed probe: the command's own words.
local function failed(r)
  local err = (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")
  if err == "" then err = "no output" end
  local code = r.code and ("exit " .. r.code) or ("signal " .. tostring(r.signal))
  return ("`%s` failed (%s): %s"):format(r.cmd, code, err)
end

---------------------------------------------------------------------------------------------
-- file

local ABSENT = commands.ABSENT

-- The command said "absent" (and nothing failed).
local function said_absent(r)
  return r.ok and r.stdout:gsub("%s+$", "") == ABSENT
end

local function file_key(path)
  if type(path) ~= "string" or path == "" then
    error("path must be a non-empty string, got " .. (type(path) == "string" and '""' or type(path)), 0)
  end
  local p = path:gsub("//+", "/")
  if #p > 1 then p = p:gsub("/$", "") end
  return p
end

-- The ancestors of `path` ("/a/b/c": "/a/b", "/a").
local function parents(path)
  local out = {}
  local p = path
  while true do
    p = p:match("^(.+)/[^/]*$")
    if p == nil or p == "" then break end
    out[#out + 1] = p
  end
  if path:sub(1, 1) == "/" and path ~= "/" then out[#out + 1] = "/" end
  return out
end

sources.file = {
  key = file_key,
  command = commands.file,
  read = function(r)
    if said_absent(r) then return false end
    if not r.ok then return nil, failed(r) end
    local v, why = parse.file(r.stdout)
    if v == nil then return nil, why end
    return v
  end,
  -- In check mode a path under a directory predicted absent (or predicted not to be a
  -- directory) is absent too.
  derived = function(c, path)
    for _, p in ipairs(parents(path)) do
      local hit = c.values[p]
      if hit and hit.predicted then
        if hit[1] == false or (type(hit[1]) == "table" and hit[1].type ~= "directory") then
          return false
        end
        return nil
      end
    end
    return nil
  end,
  -- A path's cached entries below it go with it (a removed tree takes its files along).
  invalidate = function(c, path)
    local prefix = path == "/" and "/" or path .. "/"
    for k in pairs(c.values) do
      if k == path or k:sub(1, #prefix) == prefix then c.values[k] = nil end
    end
  end,
}

--- The file, directory or link at `path` (not followed), or nil when there is none: type
--- ("file", "directory", "link" or "other"), mode ("0644"), owner, group, uid, gid, size,
--- sha256 (files), target (links).
---@param path string
---@param via? drover.facts.Via
---@return drover.facts.File?
function facts.file(path, via)
  return facts.get("file", path, via)
end

--- The one command the fact `name` runs on a host for `key` (what its parser reads).
---@param name string
---@param key? string
---@return string
function facts.command(name, key)
  local s = source_of(name, 2)
  local k = key_of(s, name, key, 2)
  return s.command(k ~= NO_KEY and k or nil)
end

-- A source whose command prints something its parser reads, whatever the exit code when
-- `any_exit` (else a non-zero exit is the error).
local function parsed_by(parser, any_exit)
  return function(r)
    if not r.ok and not any_exit then return nil, failed(r) end
    local v, why = parser(r.stdout)
    if v == nil then
      if not r.ok then return nil, failed(r) end
      return nil, why
    end
    return v
  end
end

-- Names of users, groups and services: one word a shell and the tools read as a name.
local function name_key(what)
  return function(name)
    if type(name) ~= "string" or name == "" then
      error(what .. " must be a non-empty string, got "
        .. (type(name) == "string" and '""' or type(name)), 0)
    end
    if name:find("^%-") or name:find("[%s/:]") then
      error(("%s %q is not a valid name"):format(what, name), 0)
    end
    return name
  end
end

---------------------------------------------------------------------------------------------
-- os

sources.os = {
  command = commands.os,
  read = parsed_by(parse.os),
}

--- The operating system: os-release's fields lowercased (id, version_id, name, pretty_name,
--- version_codename, ..., `like` from ID_LIKE) and uname's kernel, kernel_name and arch.
---@param via? drover.facts.Via
---@return drover.facts.Os
function facts.os(via)
  return facts.get("os", nil, via)
end

---------------------------------------------------------------------------------------------
-- pkg: one command lists every installed package; single packages are read from that list


sources.pkg = {
  command = commands.pkg,
  read = parsed_by(parse.pkg),
}

-- The list (and manager) of the current host, asked once per run: `cache.whole`.
local function pkg_whole(c, via)
  while c.whole == nil do
    local v, why, waited = single_flight(c, "\0whole", function()
      return sources.pkg.read(probe(sources.pkg.command(), via))
    end)
    if not waited then
      if v == nil then return nil, why end
      c.whole = v
    end
  end
  return c.whole
end

-- A single package is read from the whole list, which is what is cached (so that a change
-- to any package, which may have changed others, drops it all); only predictions are kept
-- per name, and the whole list is returned with them applied.
sources.pkg.lookup = function(c, name, via)
  local whole, why = pkg_whole(c, via)
  if whole == nil then return nil, why end
  if name ~= nil then return whole.packages[name] or false end
  local all = copy(whole.packages)
  for k, hit in pairs(c.values) do
    if k ~= NO_KEY then
      if hit[1] == false then all[k] = nil else all[k] = copy(hit[1]) end
    end
  end
  return all
end

sources.pkg.invalidate = function(c, name)
  c.values[name] = nil
  c.whole = nil
end

--- The installed packages (name → {version, arch}), or with `name` that package's entry
--- (nil when it is not installed). dpkg, rpm or apk, whichever the host has
--- (`facts.pkg_manager()`).
---@param name? string
---@param via? drover.facts.Via
---@return table|drover.facts.Package|nil
function facts.pkg(name, via)
  return facts.get("pkg", name, via)
end

--- The host's package manager: "dpkg", "rpm" or "apk".
---@param via? drover.facts.Via
---@return "dpkg"|"rpm"|"apk"
function facts.pkg_manager(via)
  local h = current_host("pkg_manager")
  local whole, why = pkg_whole(cache_of(h, "pkg"), check_via("pkg_manager", via, 2))
  if whole == nil then error(("facts.pkg_manager on %s: %s"):format(h.name, why), 2) end
  return whole.manager
end

---------------------------------------------------------------------------------------------
-- service

sources.service = {
  key = name_key("service name"),
  command = commands.service,
  read = parsed_by(parse.service),
}

--- The service `name` (a systemd unit, `.service` implied; or an init.d script where
--- systemd does not run): exists, active, enabled (nil where it does not apply), manager.
---@param name string
---@param via? drover.facts.Via
---@return drover.facts.Service
function facts.service(name, via)
  return facts.get("service", name, via)
end

---------------------------------------------------------------------------------------------
-- user, group

sources.user = {
  key = name_key("user name"),
  command = commands.user,
  read = function(r)
    if said_absent(r) then return false end
    return parsed_by(parse.user)(r)
  end,
}

--- The user `name` (getent passwd, with its groups), or nil when there is none.
---@param name string
---@param via? drover.facts.Via
---@return drover.facts.User?
function facts.user(name, via)
  return facts.get("user", name, via)
end

sources.group = {
  key = name_key("group name"),
  command = commands.group,
  read = function(r)
    if said_absent(r) then return false end
    return parsed_by(parse.group)(r)
  end,
}

--- The group `name` (getent group), or nil when there is none.
---@param name string
---@param via? drover.facts.Via
---@return drover.facts.Group?
function facts.group(name, via)
  return facts.get("group", name, via)
end

---------------------------------------------------------------------------------------------
-- mem, disk, cpu

sources.mem = {
  command = commands.mem,
  read = parsed_by(parse.meminfo),
}

--- Memory in bytes (/proc/meminfo): total, available, free, swap_total, swap_free, fields.
---@param via? drover.facts.Via
---@return drover.facts.Mem
function facts.mem(via)
  return facts.get("mem", nil, via)
end

sources.disk = {
  command = commands.disk,
  read = function(r, path)
    if said_absent(r) then return false end
    if not r.ok then return nil, failed(r) end
    local rows, why = parse.df(r.stdout)
    if rows == nil then return nil, why end
    if path == nil then return rows end
    if rows[1] == nil then return nil, "df printed no row for it" end
    return rows[1]
  end,
}

--- File systems (df -Pk, sizes in bytes): every row, or with `path` the one holding it (nil
--- when `path` does not exist).
---@param path? string
---@param via? drover.facts.Via
---@return drover.facts.Disk[]|drover.facts.Disk|nil
function facts.disk(path, via)
  return facts.get("disk", path, via)
end

sources.cpu = {
  command = commands.cpu,
  read = parsed_by(parse.cpu),
}

--- Processors: count (usable, nproc), processors (listed in /proc/cpuinfo), model, vendor.
---@param via? drover.facts.Via
---@return drover.facts.Cpu
function facts.cpu(via)
  return facts.get("cpu", nil, via)
end

return facts

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
---@field derived? fun(cache: table, key: string?): any  a value answered from other cached data, if any

--- Every fact, by name.
---@type table<string, drover.facts.Source>
local sources = {}

-- The one place a fact reaches the host.
---@param cmd string
---@return RunResult
local function probe(cmd)
  return ssh.run(cmd, { check = false })
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

--- The fact `name` of the current host for `key` (a path, a user name, ...; nil for facts
--- that take none): nil when absent, else its value, cached for this run.
---@param name string
---@param key? string
---@return any
function facts.get(name, key)
  local h = current_host(name)
  local s = source_of(name, 2)
  local k = key_of(s, name, key, 2)
  local c = cache_of(h, name)
  local hit = c.values[k]
  if hit == nil and s.derived then
    local v = s.derived(c, k)
    if v ~= nil then hit = { v } end
  end
  if hit == nil then
    local r = probe(s.command(k ~= NO_KEY and k or nil))
    local v, why = s.read(r, k ~= NO_KEY and k or nil)
    if v == nil then
      error(("facts.%s%s on %s: %s"):format(name, k ~= NO_KEY and ("(" .. k .. ")") or "",
        h.name, why or "no answer"), 2)
    end
    hit = { v }
    c.values[k] = hit
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

-- Marks what the command prints for a path that does not exist.
local ABSENT = "drover-facts:absent"

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
  command = function(path)
    local q = shell.quote(path)
    -- stat does not follow links; a regular file's sha256 follows; a link's target comes
    -- from readlink. "No such file" and "Not a directory" mean absent, other failures are
    -- errors (permission, stat missing).
    return table.concat({
      "LC_ALL=C; export LC_ALL",
      "out=$(stat -c '" .. parse.STAT_FORMAT .. "' -- " .. q .. " 2>&1) || { case $out in "
        .. "*'No such file or directory'*|*'Not a directory'*) echo " .. ABSENT .. "; exit 0;; "
        .. "esac; printf '%s\\n' \"$out\" >&2; exit 1; }",
      "printf '%s\\n' \"$out\"",
      "case $out in *'|symbolic link') readlink -- " .. q .. ";; "
        .. "*'|regular file'|*'|regular empty file') sha256sum -- " .. q .. ";; esac",
    }, "\n")
  end,
  read = function(r)
    if not r.ok then return nil, failed(r) end
    if r.stdout:gsub("%s+$", "") == ABSENT then return false end
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
---@return drover.facts.File?
function facts.file(path)
  return facts.get("file", path)
end

return facts

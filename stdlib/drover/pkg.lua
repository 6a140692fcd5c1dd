--- drover.pkg: packages of the current host, installed or removed, by name. The manager
--- follows the host's package database (`facts.pkg_manager()`): dpkg → apt-get
--- (DEBIAN_FRONTEND=noninteractive, existing configuration files kept), rpm → dnf (yum where
--- there is no dnf), apk → apk. A list is one command for the packages that need it, none
--- when none do (`changed = false`); after it, one `log.info` line per package (tagged with
--- the host: "pkg.installed nginx: installed 1.24.0-1 (1/3)"), read back from the package
--- database, so a package the command did not install is an error, not a silent success.
---
--- Check mode runs no package manager command that changes anything: it says "would install
--- a, b" (`changed = true`) and predicts the packages installed in drover.facts' overlay, so
--- later steps agree. With apt, it looks the packages up in the index (`apt-cache policy`);
--- one not in it yet is still `changed = true`, its reason saying so ("would install a (a
--- not in the package index yet)"): an earlier step (a repository added, `update = true`)
--- may put it there, and a real run either installs it or fails naming it.
---
--- ```lua
--- local pkg = require "drover.pkg"
--- pkg.installed({ "nginx", "curl" }, { update = true, sudo = true })
--- pkg.installed("htop", { version = "3.2.2-2" })
--- pkg.removed("telnet", { purge = true })
--- ```
local op = require "drover.op"
local facts = require "drover.facts"
local shell = require "drover.shell"
local core = require "drover.opcore"

local pkg = {}

local type, error, ipairs, pairs, tostring = type, error, ipairs, pairs, tostring
local ssh, log = ssh, log

-- apt takes the dpkg lock for as long as another apt or dpkg runs: wait for it a while
-- instead of failing at once.
local APT_LOCK_WAIT = "DPkg::Lock::Timeout=120"

-- `-o KEY=VALUE` for each apt configuration option, sorted (one command line per input).
local function apt_config(options)
  local keys, out = {}, {}
  for k in pairs(options or {}) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do out[#out + 1] = "-o " .. shell.quote(k .. "=" .. tostring(options[k])) end
  return table.concat(out, " ")
end

local function words(list)
  local out = {}
  for i, w in ipairs(list or {}) do out[i] = shell.quote(w) end
  return table.concat(out, " ")
end

-- "a b c" (command words) from parts, empty ones left out.
local function line(parts)
  local out = {}
  for _, p in ipairs(parts) do if p ~= "" then out[#out + 1] = p end end
  return table.concat(out, " ")
end

local actions = { install = true, remove = true, purge = true, update = true, policy = true }

--- The command that does `action` to `names` on a host whose package database is `manager`
--- (facts.pkg_manager's word: "dpkg", "rpm" or "apk"). `action`: "install", "remove",
--- "purge", "update" (refresh the index) or "policy" (apt only: what the index offers).
--- `opts.version` pins the (one) package's version, `opts.apt_options` are `-o` options of
--- every apt command, `opts.extra_args` extra words of install, remove and purge. Pure.
---@param action "install"|"remove"|"purge"|"update"|"policy"
---@param manager "dpkg"|"rpm"|"apk"
---@param names string[]
---@param opts? {version?: string, apt_options?: table<string, string>, extra_args?: string[]}
---@return string
function pkg.command(action, manager, names, opts)
  opts = opts or {}
  if not actions[action] then error(("pkg.command: no action %q"):format(tostring(action)), 2) end
  local specs = {}
  for i, n in ipairs(names or {}) do
    local pinned = opts.version and (n .. (manager == "rpm" and "-" or "=") .. opts.version) or n
    specs[i] = shell.quote(pinned)
  end
  local list = table.concat(specs, " ")
  local extra = action ~= "update" and action ~= "policy" and words(opts.extra_args) or ""
  if manager == "dpkg" then
    local config = apt_config(opts.apt_options)
    if action == "policy" then return line { "apt-cache", config, "policy", list } end
    local lock = "-o " .. APT_LOCK_WAIT
    if action == "update" then return line { "apt-get -q", lock, config, "update" } end
    local confs = action == "install"
      and "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold" or ""
    return line { "DEBIAN_FRONTEND=noninteractive apt-get -y -q", lock, confs, config, extra,
      action, list }
  elseif manager == "rpm" then
    if action == "policy" then error("pkg.command: policy is apt's (dpkg hosts) only", 2) end
    local verb = ({ install = "install", remove = "remove", purge = "remove", update = "makecache" })[action]
    local rest = line { "-y", extra, verb, list }
    return "if command -v dnf >/dev/null 2>&1; then dnf " .. rest .. "; else yum " .. rest .. "; fi"
  elseif manager == "apk" then
    if action == "policy" then error("pkg.command: policy is apt's (dpkg hosts) only", 2) end
    if action == "update" then return "apk update" end
    local verb = action == "install" and "add" or "del"
    return line { "apk", verb, action == "purge" and "--purge" or "", extra, list }
  end
  error(("pkg.command: no package manager for %q (dpkg, rpm or apk)"):format(tostring(manager)), 2)
end

--- What `apt-cache policy NAMES` says of each package it knows: name → its candidate version
--- (false: known, but nothing installable: "(none)"). Packages not in the index are not in
--- the table. Pure; never raises.
---@param text string
---@return table<string, string|false>
function pkg.parse_policy(text)
  local out = {}
  if type(text) ~= "string" then return out end
  local current
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    l = l:gsub("\r$", "")
    local head = l:match("^(%S+):$")
    if head then
      current = head
    elseif current then
      local candidate = l:match("^%s+Candidate:%s*(%S+)")
      if candidate then
        out[current] = candidate ~= "(none)" and candidate or false
        current = nil
      end
    end
  end
  return out
end

-- Package names: one word each manager reads as a name (no option, no shell syntax).
local function check_names(names)
  if type(names) == "string" then names = { names } end
  if type(names) ~= "table" then
    return nil, "packages must be a name or a list of names, got " .. type(names)
  end
  local out, seen = {}, {}
  for i, n in ipairs(names) do
    if type(n) ~= "string" or not n:match("^[%w][%w%.%+%-_:@~]*$") then
      return nil, ("package %d (%s) is not a package name"):format(i,
        type(n) == "string" and ("%q"):format(n) or type(n))
    end
    if not seen[n] then
      seen[n] = true
      out[#out + 1] = n
    end
  end
  if out[1] == nil then return nil, "no package named (an empty list)" end
  for k in pairs(names) do
    if type(k) ~= "number" then return nil, ("packages: a list of names, not a table with key %s"):format(tostring(k)) end
  end
  return out
end

local function names_of(target)
  local out = {}
  for n in target:gmatch("%S+") do out[#out + 1] = n end
  return out
end

-- What a failed manager command said (its last 20 lines), for an error naming the packages.
local function failure(tool, names, r)
  local err = (r.stderr ~= "" and r.stderr or r.stdout):gsub("%s+$", "")
  local tail = {}
  for l in (err .. "\n"):gmatch("([^\n]*)\n") do tail[#tail + 1] = l end
  if #tail > 20 then tail = { table.unpack(tail, #tail - 19) } end
  return ("%s failed for %s (%s): %s"):format(tool, table.concat(names, ", "),
    r.code and ("exit " .. r.code) or ("signal " .. tostring(r.signal)), table.concat(tail, "\n"))
end

local function run(cmd, opts)
  return ssh.run(cmd, { sudo = opts.sudo or nil, check = false })
end

local manager_words = { dpkg = "apt-get", rpm = "dnf", apk = "apk" }

-- The state of `names` on the host: the manager and each package's entry (nil: not there).
local function read(target)
  local names = names_of(target)
  local manager = facts.pkg_manager()
  local installed = {}
  for _, n in ipairs(names) do installed[n] = facts.pkg(n) or false end
  return { names = names, manager = manager, installed = installed }
end

-- Runs the index refresh (`update = true`), then `action` for `names`; errors name them.
local function change(cur, opts, action, names)
  local tool = manager_words[cur.manager]
  if opts.update then
    local r = run(pkg.command("update", cur.manager, {}, opts), opts)
    if not r.ok then error(failure(tool .. " update", names, r), 0) end
  end
  local r = run(pkg.command(action, cur.manager, names, opts), opts)
  if not r.ok then error(failure(tool .. " " .. action, names, r), 0) end
  facts.invalidate("pkg", nil)
end

-- After a change, each package as the database has it now, one log line each.
local function report(what, names, want_installed)
  for i, n in ipairs(names) do
    local now = facts.pkg(n)
    if (now ~= nil) ~= want_installed then
      error(("%s: the package manager succeeded, but %s is %s (%s)"):format(what, n,
        want_installed and "not installed" or "still installed",
        want_installed and "a virtual package? name the one that provides it" or "held or essential?"), 0)
    end
    log.info(("%s %s: %s (%d/%d)"):format(what, n,
      want_installed and ("installed " .. now.version) or "removed", i, #names))
  end
end

-- A package change invalidates every package (dependencies come and go), the services (a
-- package brings or takes its services) and the files (its own, its configuration).
local function pkg_facts()
  return { { "pkg", nil }, { "service", nil }, { "file", nil } }
end

local installed_op = op.define {
  module = "pkg", name = "installed",
  options = { sudo = "boolean", update = "boolean", version = "string", apt_options = "table",
    extra_args = "string[]" },
  read = read,
  plan = function(_, opts, cur)
    local missing = {}
    for _, n in ipairs(cur.names) do
      local have = cur.installed[n]
      if not have or (opts.version and have.version ~= opts.version) then missing[#missing + 1] = n end
    end
    if missing[1] == nil then return nil end
    local list = table.concat(missing, ", ")
    if not core.mode().check then return { reason = "installed " .. list, missing = missing } end
    local reason, unindexed = "would install " .. list, {}
    local candidates = {}
    if cur.manager == "dpkg" then
      local r = ssh.run(pkg.command("policy", "dpkg", missing, opts), { check = false })
      if r.ok then
        candidates = pkg.parse_policy(r.stdout)
        for _, n in ipairs(missing) do
          if not candidates[n] then unindexed[#unindexed + 1] = n end
        end
        if unindexed[1] then
          reason = reason .. (" (%s not in the package index yet)"):format(table.concat(unindexed, ", "))
        end
      else
        -- (apt's first error line; else its last line)
        local text = r.stderr ~= "" and r.stderr or r.stdout
        local said = text:match("^(E: [^\n]*)") or text:match("\n(E: [^\n]*)") or text:match("([^\n]+)\n*$")
          or ("exit " .. tostring(r.code))
        reason = reason .. (" (the package index could not be read: %s)"):format(said)
      end
    end
    return { reason = reason, missing = missing, candidates = candidates }
  end,
  apply = function(_, opts, ch, cur)
    change(cur, opts, "install", ch.missing)
    report("pkg.installed", ch.missing, true)
  end,
  predict = function(_, opts, ch)
    for _, n in ipairs(ch.missing) do
      facts.predict("pkg", n, { version = opts.version or ch.candidates[n] or nil, predicted = true })
    end
  end,
  facts = pkg_facts,
}

local removed_op = op.define {
  module = "pkg", name = "removed",
  options = { sudo = "boolean", purge = "boolean", extra_args = "string[]", apt_options = "table" },
  read = read,
  plan = function(_, _, cur)
    local present = {}
    for _, n in ipairs(cur.names) do
      if cur.installed[n] then present[#present + 1] = n end
    end
    if present[1] == nil then return nil end
    local list = table.concat(present, ", ")
    return { reason = (core.mode().check and "would remove " or "removed ") .. list, present = present }
  end,
  apply = function(_, opts, ch, cur)
    change(cur, { sudo = opts.sudo, extra_args = opts.extra_args, apt_options = opts.apt_options },
      opts.purge and "purge" or "remove", ch.present)
    report("pkg.removed", ch.present, false)
  end,
  predict = function(_, _, ch)
    for _, n in ipairs(ch.present) do facts.predict("pkg", n, false) end
  end,
  facts = pkg_facts,
}

--- The packages `names` (a name or a list) are installed: those that are not are installed
--- in one command. `update = true` refreshes the index first (only when something is
--- missing); `version` pins the version (one package only); `apt_options` are `-o KEY=VALUE`
--- options of every apt command (`Dir::Etc::SourceList`, ...), `extra_args` extra words of
--- the install command; `sudo` as ssh.run's.
---@param names string|string[]
---@param opts? {sudo?: boolean, update?: boolean, version?: string, apt_options?: table<string, string>, extra_args?: string[]}
---@return drover.op.Result
function pkg.installed(names, opts, ...)
  local list, bad = check_names(names)
  if list == nil then error("pkg.installed: " .. bad, 2) end
  if type(opts) == "table" and opts.version ~= nil and #list > 1 then
    error("pkg.installed: option 'version' pins one package, got " .. #list, 2)
  end
  -- (a tail call: the op's own errors about options point at the caller's line too)
  return installed_op(table.concat(list, " "), opts, ...)
end

--- The packages `names` (a name or a list) are not installed: those that are are removed in
--- one command (`purge = true`: with their configuration files).
---@param names string|string[]
---@param opts? {sudo?: boolean, purge?: boolean, extra_args?: string[], apt_options?: table<string, string>}
---@return drover.op.Result
function pkg.removed(names, opts, ...)
  local list, bad = check_names(names)
  if list == nil then error("pkg.removed: " .. bad, 2) end
  return removed_op(table.concat(list, " "), opts, ...)
end

return pkg

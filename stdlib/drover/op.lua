--- drover.op: the one helper every operation is declared through. An operation says how to
--- read the current state, how to plan a change from it and how to apply that change; the
--- helper does the rest, the same way for all of them: options checked at the caller's line,
--- check mode (the plan is reported and its effect predicted into drover.facts' overlay
--- instead of applied), diffs (`--diff`, secrets hidden, `sensitive = true` files never
--- shown), the `op` event with its elapsed time, fact invalidation after a change, and error
--- context (`file.present /etc/x: ...`).
---
--- ```lua
--- local op = require "drover.op"
--- local M = {}
--- M.touched = op.define {
---   module = "demo", name = "touched", options = { mode = "mode" },
---   read = function(path) return require("drover.facts").file(path) end,
---   plan = function(path, o, st) if st == nil then return { reason = "created" } end end,
---   apply = function(path, o) ssh.run("touch -- " .. require("drover.shell").quote(path)) end,
---   predict = function(path) require("drover.facts").predict("file", path, { type = "file" }) end,
---   facts = function(path) return { { "file", path } } end,
--- }
--- ```
local core = require "drover.opcore"
local facts = require "drover.facts"

local op = {}

local type, error, pcall, pairs, ipairs, tostring, setmetatable, select =
  type, error, pcall, pairs, ipairs, tostring, setmetatable, select
local task, ssh, secret = task, ssh, secret

--- Checks of option values by the type a schema names.
local kinds = {
  string = function(v) return type(v) == "string" end,
  -- text that may be a secret(): the operation sees the real value
  text = function(v) return type(v) == "string" or secret.is(v) end,
  boolean = function(v) return type(v) == "boolean" end,
  table = function(v) return type(v) == "table" end,
  number = function(v) return type(v) == "number" end,
  ["string[]"] = function(v)
    if type(v) ~= "table" then return false end
    for _, x in ipairs(v) do if type(x) ~= "string" then return false end end
    return true
  end,
  -- an octal string ("0644", "755") or an integer (tonumber("644", 8))
  mode = function(v)
    if type(v) == "string" then return v:match("^0?[0-7][0-7][0-7][0-7]?$") ~= nil end
    return math.type(v) == "integer" and v >= 0 and v <= 4095
  end,
}

local kind_words = {
  text = "a string or a secret",
  ["string[]"] = "a list of strings",
  mode = 'an octal mode such as "0644"',
}

--- Whether the calling script runs in check mode (`drover run --check`, `:check on`): a script
--- that does more than operations (waits, health checks) skips what makes sense only for real.
---@return boolean
function op.check_mode()
  return core.mode().check
end

--- `mode` ("644", "0644", 420) as four octal digits ("0644"), nil stays nil.
---@param mode string|integer|nil
---@return string?
function op.mode(mode)
  if mode == nil then return nil end
  if type(mode) == "number" then return ("%04o"):format(mode) end
  return ("%04o"):format(tonumber(mode, 8))
end

--- Checks `opts` against `schema` ({name = kind}); raises at `level` naming the bad key.
local function check_options(what, schema, opts, level)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    error(("%s: options must be a table, got %s"):format(what, type(opts)), level + 1)
  end
  for k, v in pairs(opts) do
    local kind = schema[k]
    if kind == nil then
      local names = {}
      for n in pairs(schema) do names[#names + 1] = n end
      table.sort(names)
      error(("%s: unknown option '%s' (allowed: %s)"):format(what, tostring(k), table.concat(names, ", ")),
        level + 1)
    end
    if not kinds[kind](v) then
      error(("%s: option '%s' must be %s, got %s"):format(what, k, kind_words[kind] or ("a " .. kind),
        type(v)), level + 1)
    end
  end
  return opts
end

--- Runs fn(...) as a read: in check mode the commands it runs still run (they are probes).
local function readonly(fn, ...)
  local id = core.readonly_begin()
  local guard <close> = setmetatable({}, { __close = function() core.readonly_end(id) end })
  return fn(...)
end

-- Raises `err` with the step before its message: "file.present /etc/x on web1: ...".
local function fail(spec, target, err)
  local h = ssh.current()
  error(core.with_context(err, spec.module .. "." .. spec.name .. " " .. target, h and h.name), 0)
end

--- The unified diff of a planned change (`change.diff = {old = text|nil, new = text|nil}`),
--- or what stands for it: nil without `--diff`, "content hidden" for sensitive contents.
local function diff_of(spec, target, change, secrets)
  local d = change.diff
  if d == nil or not core.mode().diff then return nil end
  if change.sensitive then
    return ("--- %s\n+++ %s\n(content hidden: sensitive = true)\n"):format(target, target)
  end
  return core.diff(d.old, d.new, target, secrets)
end

---@class drover.op.Change
---@field reason? string          what it changes ("created", "mode 0644 -> 0600")
---@field unknown? string         check mode: why what it would do cannot be known
---@field diff? {old: string?, new: string?}  contents before and after (for --diff)
---@field sensitive? boolean      the contents must never be shown

---@class drover.op.Result
---@field changed boolean|"unknown"  whether it changed the host (check mode: would)
---@field diff string?                the unified diff, with --diff
---@field reason string?              what changed, or why it is unknown
---@field check boolean               check mode: nothing was done
---@field result any                  what apply returned (command.run: the command's result)

---@class drover.op.Spec
---@field module string                        "file"
---@field name string                          "present"
---@field options table<string, string>        option name -> kind: string, text (string or secret), boolean, table, number, mode, string[]
---@field target? fun(target: any): string?    checks the first argument: nil if fine, else what is wrong (a secret target is shown as `<secret>`)
---@field read fun(target: string, opts: table): any  the current state (its commands run in check mode too)
---@field plan fun(target: string, opts: table, current: any): drover.op.Change?  nil: nothing to do
---@field apply fun(target: string, opts: table, change: drover.op.Change, current: any): any
---@field predict? fun(target: string, opts: table, change: drover.op.Change, current: any)  check mode: facts.predict the effect
---@field facts? fun(target: string, opts: table, current: any): table  {{fact, key}, ...} a change invalidates (key nil: all)
---@field secrets? fun(target: string, opts: table): string[]  values to hide besides the host's secrets

--- Declares an operation: returns the function scripts call as `module.name(target, opts)`.
---@param spec drover.op.Spec
---@return fun(target: string, opts?: table): drover.op.Result
function op.define(spec)
  local what = spec.module .. "." .. spec.name
  local schema = spec.options or {}
  return function(target, opts, ...)
    -- caller mistakes raise at the caller's line (level 2: whoever called this function)
    if select("#", ...) > 0 then
      error(("%s: expected (target, options), got %d arguments"):format(what, 2 + select("#", ...)), 2)
    end
    local bad
    if spec.target then
      bad = spec.target(target)
    elseif type(target) ~= "string" or target == "" then
      bad = "the target must be a non-empty string, got " .. (type(target) == "string" and '""' or type(target))
    end
    if bad then error(what .. ": " .. bad, 2) end
    opts = check_options(what, schema, opts, 2)
    -- a copy with secrets revealed (the caller's table stays as it was): operations work on
    -- the real values; a diff hides every line that holds one of the run's secrets
    local given = opts
    opts = {}
    for k, v in pairs(given) do
      if schema[k] == "text" and secret.is(v) then v = secret.reveal(v) end
      opts[k] = v
    end
    -- (a secret target, `"echo " .. pw`, is shown with the run's secrets masked in it)
    local label = secret.is(target) and core.mask(secret.reveal(target)) or target
    if ssh.current() == nil then
      error(what .. ": no current host (run the script on targets, or inside ssh.with(host, fn))", 2)
    end
    local started = task.now()
    local mode = core.mode()
    local secrets = spec.secrets and spec.secrets(target, opts) or {}
    local current, change
    local ok, err = pcall(function()
      current = readonly(spec.read, target, opts)
      change = readonly(spec.plan, target, opts, current)
    end)
    if not ok then fail(spec, label, err) end
    local result = { changed = false, check = mode.check }
    if change ~= nil then
      result.reason = change.reason
      result.diff = diff_of(spec, label, change, secrets)
      if mode.check then
        if change.unknown then
          result.changed, result.reason = "unknown", change.unknown
        else
          result.changed = true
        end
        -- (an unknown step predicts what it can: what it leaves unknown stays unknown later)
        if spec.predict then
          ok, err = pcall(spec.predict, target, opts, change, current)
          if not ok then fail(spec, label, err) end
        end
        -- what a real run would forget wholesale (a package's files, what a command did) is
        -- not certain after this step: later steps say "unknown" where it matters
        if spec.facts then
          for _, f in ipairs(spec.facts(target, opts, current)) do
            if f[2] == nil then facts.uncertain(f[1], what .. " " .. label) end
          end
        end
      else
        local applied
        ok, err = pcall(function() applied = spec.apply(target, opts, change, current) end)
        -- the host may have changed even when apply failed half way: forget what it was
        if spec.facts then
          for _, f in ipairs(spec.facts(target, opts, current)) do facts.invalidate(f[1], f[2]) end
        end
        if not ok then fail(spec, label, err) end
        result.changed, result.result = true, applied
      end
    end
    core.emit {
      module = spec.module, op = spec.name, target = label, changed = result.changed,
      diff = result.diff, reason = result.reason, elapsed = task.now() - started,
      secrets = secrets,
    }
    return result
  end
end

return op

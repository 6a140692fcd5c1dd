-- drover's `fleet` module, Lua half: the current targets, `fleet.run` and result sets.
-- Loaded once per VM with (fleet table, private Rust helpers, task module).
local fleet, private, task = ...
local type, ipairs, next, tostring, error, setmetatable = type, ipairs, next, tostring, error, setmetatable
local concat, insert, sort, format = table.concat, table.insert, table.sort, string.format

-- The runtime's current targets (host objects) and how they were chosen, for the prompt.
local current, label = {}, nil
local settings = { forks = 64, timeout = nil }

-- Result sets: each set's state lives here, so that a set's own keys are its hosts only.
-- state = { order = {names}, hosts = {name = host object}, results = {name = result},
--           cmd = command, fresh = made by fleet.run, stream = it streams events }
local states = setmetatable({}, { __mode = "k" })
local methods = {}
local set_meta = { __name = "result set" }

local function new_set(hosts, cmd, fresh)
  local st = { order = {}, hosts = {}, results = {}, cmd = cmd, fresh = fresh }
  for _, h in ipairs(hosts) do
    local name = h.name
    if st.hosts[name] == nil then
      insert(st.order, name)
      st.hosts[name] = h
    end
  end
  local set = setmetatable({}, set_meta)
  states[set] = st
  return set
end

local function state_of(set, what)
  local st = states[set]
  if st == nil then error(what .. ": call it on a result set (with a colon)", 3) end
  return st
end

--- Whether `v` is a result set.
function fleet.is_results(v)
  return states[v] ~= nil
end

local function names_of(hosts)
  local out = {}
  for i, h in ipairs(hosts) do out[i] = h.name end
  return out
end

--- Folds host names into node sets: {"web01", "web02", "db1"} -> "db1,web[01-02]".
function fleet.fold(names)
  return private.fold(names)
end

local function describe(spec)
  if type(spec) == "string" then return spec end
  local parts = {}
  local function list(v) return type(v) == "table" and concat(v, ",") or tostring(v) end
  if spec.groups then insert(parts, list(spec.groups)) end
  if spec.hosts then insert(parts, private.fold(type(spec.hosts) == "table" and spec.hosts or { spec.hosts })) end
  if spec.pattern then insert(parts, spec.pattern) end
  return concat(parts, ":")
end

--- Sets the current targets and returns them (host objects); with no argument, returns them.
--- `sel`: a `-l` pattern ("web:&prod"), flags ("-H h1,h2 -g web -l '!db1'"), a spec table
--- {hosts=, groups=, pattern=}, a result set (its hosts), or a list of host objects or names.
--- A single target is also the current host of tasks that have none (`ssh.run` in a REPL line).
function fleet.targets(sel)
  if sel == nil then
    local copy = {}
    for i, h in ipairs(current) do copy[i] = h end
    return copy
  end
  local hosts, how
  local st = states[sel]
  if st ~= nil then
    hosts = {}
    for i, name in ipairs(st.order) do hosts[i] = st.hosts[name] end
  elseif type(sel) == "string" or (type(sel) == "table" and sel[1] == nil and next(sel) ~= nil) then
    hosts, how = private.select(sel), describe(sel)
  elseif type(sel) == "table" then
    hosts = {}
    for i, v in ipairs(sel) do
      if type(v) == "string" then
        local found = private.select({ hosts = { v } })
        for _, h in ipairs(found) do insert(hosts, h) end
      elseif type(v) == "userdata" and v.name ~= nil then
        hosts[#hosts + 1] = v
      else
        error(("fleet.targets: item %d is a %s, not a host or a host name"):format(i, type(v)), 2)
      end
    end
  else
    error("fleet.targets: expected a pattern, a spec table, a result set or a list of hosts, got "
      .. type(sel), 2)
  end
  if #hosts == 0 then
    error("fleet.targets: the selection has no hosts (targets unchanged)", 2)
  end
  current = hosts
  -- one target is the host of lines and tasks without one (ssh.run in `drover repl -H web1`)
  private.set_sole_target(#hosts == 1 and hosts[1] or nil)
  label = how or private.fold(names_of(hosts))
  return fleet.targets()
end

--- Names of the current targets, in order.
function fleet.hosts()
  return names_of(current)
end

--- How the current targets were chosen (a pattern, groups, or folded names), or nil.
function fleet.label()
  if #current == 0 then return nil end
  return label
end

local function setting(name, value, check)
  if value == nil then return settings[name] end
  settings[name] = check(value)
  return settings[name]
end

--- Hosts `fleet.run` runs on at once (default 64); with `n`, sets it.
function fleet.forks(n)
  return setting("forks", n, function(v)
    if math.type(v) ~= "integer" or v < 1 then
      error("fleet.forks: expected a whole number of hosts of at least 1, got " .. tostring(v), 4)
    end
    return v
  end)
end

--- Seconds each host of `fleet.run` may take (nil: no limit); with `s`, sets it (false: none).
function fleet.timeout(s)
  if s == false then settings.timeout = nil; return nil end
  return setting("timeout", s, function(v)
    if type(v) ~= "number" or not (v > 0 and v <= 365 * 86400) then
      error("fleet.timeout: expected seconds more than 0 (at most a year), got " .. tostring(v), 4)
    end
    return v
  end)
end

--- An empty result set over the current targets, for `fleet.run(cmd, {into = set})`: a caller
--- that may cancel the run keeps what came back (`set:finish()` marks the rest cancelled).
function fleet.results(cmd)
  return new_set(current, cmd, true)
end

local function record(set, name, r)
  local st = states[set]
  st.results[name] = r
  if st.stream then
    private.emit("finished", { host = name, outcome = r.outcome, code = r.code,
      elapsed = r.elapsed or 0, error = r.error, kind = r.kind })
  end
end

local function counts(set)
  local st, by = states[set], {}
  local n = 0
  for _, name in ipairs(st.order) do
    local r = st.results[name]
    if r then
      n = n + 1
      by[r.outcome] = (by[r.outcome] or 0) + 1
    end
  end
  return n, by
end

local function run_one(set, h, cmd, stream, timeout)
  local t0 = task.now()
  local name = h.name
  if stream then private.emit("started", { host = name }) end
  local child = task.spawn(function() return h:run(cmd, { check = false, stream = stream }) end)
  local r
  if task.join_all({ child }, timeout) then
    local ok, res = pcall(child.join, child)
    if ok then
      r = res
      r.outcome = res.ok and "ok" or "failed"
      if not res.ok then
        -- worded as batch exec words it, so the same failure reads the same everywhere
        r.error = res.code and format("command `%s` exited with code %d", cmd, res.code)
          or format("command `%s` was killed by signal %s", cmd, tostring(res.signal))
        r.kind = "exit"
      end
    else
      local kind, unreachable = private.kind(res)
      r = { ok = false, error = private.report_text(res, tostring(res), name), kind = kind,
        outcome = unreachable and "unreachable" or "failed" }
    end
  else
    child:cancel()
    r = { ok = false, outcome = "timed_out", kind = "timeout",
      error = format("timed out after %gs", timeout) }
  end
  r.host, r.cmd, r.elapsed = name, cmd, task.now() - t0
  record(set, name, r)
end

--- Runs `cmd` on every current target at once (at most `fleet.forks()` in flight, each within
--- `fleet.timeout()`), and returns the result set: one result per host, `{ok, code, stdout,
--- stderr, error, kind, outcome, host, elapsed, cmd}`. opts: `stream` (each output line as an
--- event, as `drover exec` shows them), `timeout`, `forks`, `into` (a set from fleet.results).
function fleet.run(cmd, opts)
  if type(cmd) ~= "string" then
    error("fleet.run: argument #1 must be a command (a string), got " .. type(cmd), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("fleet.run: argument #2 must be an options table, got " .. type(opts), 2)
  end
  opts = opts or {}
  private.check_options(opts, { "stream", "timeout", "forks", "into" }, "fleet.run")
  if #current == 0 then
    error("fleet.run: no targets (set them with fleet.targets(...), or targets(...))", 2)
  end
  local set = opts.into or new_set(current, cmd, true)
  local st = state_of(set, "fleet.run")
  st.cmd = cmd
  st.stream = opts.stream and true or false
  local timeout = opts.timeout or settings.timeout
  local forks = opts.forks or settings.forks
  if st.stream then private.emit("run_started", { hosts = st.order }) end
  local pool = task.pool(forks)
  for _, name in ipairs(st.order) do
    pool:spawn(run_one, set, st.hosts[name], cmd, st.stream, timeout)
  end
  pool:join()
  set:finish()
  return set
end

--- Gives every host of the set without a result a `cancelled` one (`why`: its error), and
--- ends a streamed run's events with its summary. Returns the set.
function methods.finish(self, why)
  local st = state_of(self, "results:finish")
  for _, name in ipairs(st.order) do
    if st.results[name] == nil then
      record(self, name, { ok = false, outcome = "cancelled", kind = "cancelled",
        error = why or "cancelled", host = name, cmd = st.cmd })
    end
  end
  if st.stream then
    local n, by = counts(self)
    private.emit("summary", { hosts = n, outcomes = by })
    st.stream = false
  end
  return self
end

local function subset(self, keep, what)
  local st = state_of(self, what)
  local out = new_set({}, st.cmd, false)
  local o = states[out]
  for _, name in ipairs(st.order) do
    local r = st.results[name]
    if r ~= nil and keep(r, name) then
      insert(o.order, name)
      o.hosts[name], o.results[name] = st.hosts[name], r
    end
  end
  return out
end

--- The hosts whose `fn(result, name)` is true, as a result set.
function methods.where(self, fn)
  if type(fn) ~= "function" then
    error("results:where: argument #1 must be a function, got " .. type(fn), 2)
  end
  return subset(self, fn, "results:where")
end

--- The hosts whose command exited 0.
function methods.ok(self)
  return subset(self, function(r) return r.ok end, "results:ok")
end

--- The hosts that did not end ok (non-zero exit, unreachable, timed out, cancelled).
function methods.failed(self)
  return subset(self, function(r) return not r.ok end, "results:failed")
end

--- Host names with a result, in target order.
function methods.hosts(self)
  local st = state_of(self, "results:hosts")
  local out = {}
  for _, name in ipairs(st.order) do
    if st.results[name] ~= nil then out[#out + 1] = name end
  end
  return out
end

--- One host's result (also `set[name]`).
function methods.result(self, name)
  return state_of(self, "results:result").results[name]
end

local function output_lines(r)
  local lines = {}
  for l in (r.stdout or ""):gmatch("[^\n]*") do lines[#lines + 1] = l end
  if lines[#lines] == "" then lines[#lines] = nil end
  local n = #lines
  for l in (r.stderr or ""):gmatch("[^\n]+") do lines[#lines + 1] = "! " .. l end
  if r.kind ~= "exit" and r.error then
    for l in r.error:gmatch("[^\n]+") do lines[#lines + 1] = "! " .. l end
  end
  return lines, n
end

local group_meta = {}
group_meta.__index = group_meta
function group_meta.__tostring(g)
  local code = ""
  if g.outcome ~= "ok" then
    code = g.code and ("  exit " .. g.code) or ("  " .. g.outcome)
  end
  local header = format("%s (%d)%s", g.hosts, #g.names, code)
  local rule = ("-"):rep(math.min(78, #header))
  local out = { rule, header, rule }
  for _, l in ipairs(g.lines) do out[#out + 1] = l end
  return concat(out, "\n")
end

local gathered_meta = {
  __tostring = function(gs)
    local parts = {}
    for i, g in ipairs(gs) do parts[i] = tostring(g) end
    return concat(parts, "\n")
  end,
}

--- Hosts with identical output and exit code grouped, largest group first: a list of
--- `{hosts = "web[01-03]", names = {...}, code, outcome, stdout, stderr, lines}`.
function methods.gather(self)
  local st = state_of(self, "results:gather")
  local by, keys = {}, {}
  for _, name in ipairs(st.order) do
    local r = st.results[name]
    if r ~= nil then
      local lines = output_lines(r)
      local key = concat({ r.outcome, tostring(r.code), concat(lines, "\n") }, "\0")
      local g = by[key]
      if g == nil then
        g = setmetatable({ names = {}, code = r.code, outcome = r.outcome, stdout = r.stdout,
          stderr = r.stderr, lines = lines }, group_meta)
        by[key] = g
        keys[#keys + 1] = key
      end
      g.names[#g.names + 1] = name
    end
  end
  local groups = {}
  for i, key in ipairs(keys) do
    groups[i] = by[key]
    groups[i].hosts = private.fold(groups[i].names)
  end
  sort(groups, function(a, b)
    if #a.names ~= #b.names then return #a.names > #b.names end
    return a.hosts < b.hosts
  end)
  return setmetatable(groups, gathered_meta)
end

-- A set prints as one screen: counts, then each group of identical results, a few lines each.
local SCREEN_LINES, GROUP_LINES = 22, 4
set_meta.__tostring = function(self)
  local st = states[self]
  local n, by = counts(self)
  local parts = {}
  for _, o in ipairs({ "ok", "failed", "unreachable", "timed_out", "cancelled" }) do
    if by[o] then parts[#parts + 1] = by[o] .. " " .. o end
  end
  local out = { format("%d host%s%s%s", n, n == 1 and "" or "s",
    #parts > 0 and (": " .. concat(parts, ", ")) or "",
    st.cmd and ("  `" .. st.cmd .. "`") or "") }
  local groups = self:gather()
  for gi, g in ipairs(groups) do
    if #out >= SCREEN_LINES then
      out[#out + 1] = format("... %d more group(s): set:gather() shows them all", #groups - gi + 1)
      break
    end
    local code = g.outcome == "ok" and "" or (g.code and ("  exit " .. g.code) or ("  " .. g.outcome))
    out[#out + 1] = format("%s (%d)%s", g.hosts, #g.names, code)
    for i, l in ipairs(g.lines) do
      if i > GROUP_LINES then
        out[#out + 1] = format("  ... %d more line(s)", #g.lines - GROUP_LINES)
        break
      end
      out[#out + 1] = "  " .. (#l > 200 and (l:sub(1, 200) .. "...") or l)
    end
  end
  return concat(out, "\n")
end

set_meta.__index = function(self, key)
  local m = methods[key]
  if m ~= nil then return m end
  local st = states[self]
  return st and st.results[key]
end

set_meta.__newindex = function(_, key)
  error(("result sets are read-only (cannot set %s)"):format(tostring(key)), 2)
end

set_meta.__len = function(self)
  return (counts(self))
end

set_meta.__pairs = function(self)
  local st = states[self]
  local i = 0
  return function()
    while true do
      i = i + 1
      local name = st.order[i]
      if name == nil then return nil end
      local r = st.results[name]
      if r ~= nil then return name, r end
    end
  end, self, nil
end

-- For completion: a result set's methods.
fleet.result_methods = methods


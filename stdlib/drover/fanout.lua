-- drover's per-host fan-out, the root task of `drover run SCRIPT [targets]`. Loaded with
-- (chunk, hosts, opts, finished, emit, args, started): runs `chunk(args...)` once per host, each
-- in its own task with that host current, at most opts.forks at once, in batches of opts.serial
-- hosts when given (stopping once more than opts.max_fail percent have failed), each bounded
-- by opts.timeout seconds; reports every start through started(host, task) and every end through
-- finished(host, outcome, error, elapsed).
local chunk, hosts, opts, finished, emit, args, started = ...
local task, ssh = task, ssh
local select, tostring, type, setmetatable, unpack = select, tostring, type, setmetatable, table.unpack
local concat, format, math_type = table.concat, string.format, math.type

-- `host` is the current host of whichever task reads it.
local proxy
proxy = setmetatable({}, {
  __index = function(_, key)
    local h = ssh.current()
    if h == nil then return nil end
    local v = h[key]
    if type(v) == "function" then
      return function(self, ...)
        if self == proxy then self = h end
        return v(self, ...)
      end
    end
    return v
  end,
  __tostring = function()
    local h = ssh.current()
    return h and tostring(h) or "host (none)"
  end,
})
host = proxy

-- print, io.write and io.stdout:write inside a host's task go to the renderer as that host's
-- output (so --json stays JSON). Text is emitted by whole lines; a partial line waits in its
-- host's buffer until a newline, the host's end, or LONGEST_PARTIAL bytes (then it goes out in
-- pieces of that size). Each write is scanned once, and only its own text: rescanning the
-- pending text with a `.*` pattern made 250 writes of 20 bytes take 15 s.
local LONGEST_PARTIAL = 65536
local partial = {} -- host name -> { pieces..., n = bytes pending, cut = a piece went out }

local function host_write(name, text)
  local p = partial[name]
  if p == nil then
    p = { n = 0 }
    partial[name] = p
  end
  local last_newline = text:find("\n[^\n]*$")
  if last_newline then
    local head = text:sub(1, last_newline - 1)
    if p.n > 0 then
      head = concat(p) .. head
      for i = #p, 1, -1 do p[i] = nil end
    elseif p.cut and head:sub(1, 1) == "\n" then
      head = head:sub(2)          -- the newline ends a line already sent in pieces
    elseif p.cut and head == "" then
      head = nil
    end
    if head then emit(name, head) end
    text = text:sub(last_newline + 1)
    p.n, p.cut = 0, false
  end
  if text ~= "" then
    p[#p + 1] = text
    p.n = p.n + #text
    if p.n >= LONGEST_PARTIAL then
      local all = concat(p)
      for i = #p, 1, -1 do p[i] = nil end
      local whole = #all - #all % LONGEST_PARTIAL
      for at = 1, whole, LONGEST_PARTIAL do
        emit(name, all:sub(at, at + LONGEST_PARTIAL - 1))
      end
      local rest = all:sub(whole + 1)
      p[1] = rest ~= "" and rest or nil
      p.n, p.cut = #rest, true
    end
  end
end

local function flush_host(name)
  local p = partial[name]
  partial[name] = nil
  if p and p.n > 0 then emit(name, concat(p)) end
end

local raw_print = print
print = function(...)
  local h = ssh.current()
  if h == nil then return raw_print(...) end
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  host_write(h.name, concat(parts, "\t") .. "\n")
end

-- File methods are shared by every file: wrap `write` for the real stdout only.
local real_stdout = io.stdout
local file_methods = getmetatable(real_stdout).__index
local raw_file_write = file_methods.write
local function write_values(file, what, ...)
  local h = ssh.current()
  if h == nil or file ~= real_stdout then return raw_file_write(file, ...) end
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local tv = math_type(v)
    if tv == "float" then
      v = format("%.14g", v) -- as the real write formats numbers
    elseif tv == nil and type(v) ~= "string" then
      -- level 2: the wrappers below tail-call this function
      error(("bad argument #%d to '%s' (string expected, got %s)"):format(i, what, type(v)), 2)
    end
    parts[i] = v
  end
  host_write(h.name, concat(parts))
  return file
end
file_methods.write = function(file, ...) return write_values(file, "write", ...) end
local raw_output = io.output
io.write = function(...) return write_values(raw_output(), "write", ...) end

-- Barriers and once-blocks across the hosts of the run.
local running = 0          -- hosts started and not finished
local barriers = {}        -- name -> {arrived = n, event = e}
local function release_ready()
  for name, b in pairs(barriers) do
    if b.arrived >= running then
      barriers[name] = nil
      b.event:set()
    end
  end
end

--- Waits until every host still running has reached `name` (hosts that have finished, failed
--- or not yet started under --forks are not waited for).
function task.barrier(name)
  local b = barriers[name]
  if b == nil then
    b = { arrived = 0, event = task.event() }
    barriers[name] = b
  end
  b.arrived = b.arrived + 1
  release_ready()
  b.event:wait()
end

local onces = {}
--- Runs fn once for the whole run (on the first host to get here); every host gets its
--- results (or its error).
function task.once(name, fn, ...)
  local o = onces[name]
  if o == nil then
    o = { event = task.event() }
    onces[name] = o
    local res = table.pack(pcall(fn, ...))
    o.ok, o.res = res[1], res
    o.event:set()
  else
    o.event:wait()
  end
  if not o.ok then error(o.res[2], 2) end
  return unpack(o.res, 2, o.res.n)
end

local flush_mt = { __close = function(g) flush_host(g.name) end }

local function run_host(h)
  local t0 = task.now()
  -- however the host ends (even cancelled), its last partial line is shown before its end
  local flush <close> = setmetatable({ name = h.name }, flush_mt)
  running = running + 1
  -- chunk is tail-called so that tracebacks name its frame "main chunk", as in a plain run
  local child = task.spawn(function()
    return ssh.with(h, function(...) return chunk(...) end, unpack(args))
  end)
  -- (the child runs at the first suspension, so this still comes before its output)
  started(h, child)
  local outcome, err
  if task.join_all({ child }, opts.timeout) then
    local ok, e = pcall(child.join, child)
    if ok then
      outcome = "ok"
    else
      outcome, err = "failed", child:error() or tostring(e)
    end
  else
    child:cancel()
    outcome, err = "timed_out", ("timed out after %gs"):format(opts.timeout)
  end
  running = running - 1
  release_ready()
  flush_host(h.name)
  finished(h, outcome, err, task.now() - t0)
  return outcome
end

local total, failed, next_host = #hosts, 0, 1
local batch_size = opts.serial or total
while next_host <= total do
  local pool = task.pool(opts.forks)
  local last = math.min(total, next_host + batch_size - 1)
  local handles = {}
  for i = next_host, last do
    handles[#handles + 1] = pool:spawn(run_host, hosts[i])
  end
  pool:join()
  for _, hnd in ipairs(handles) do
    if hnd:join() ~= "ok" then failed = failed + 1 end
  end
  next_host = last + 1
  if opts.max_fail and next_host <= total and failed * 100 > opts.max_fail * total then
    for i = next_host, total do
      finished(hosts[i], "cancelled", ("not started: %d of %d hosts failed, over --max-fail %g%%")
        :format(failed, total, opts.max_fail), 0)
    end
    break
  end
end

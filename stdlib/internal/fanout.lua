-- drover's per-host fan-out, the root task of `drover run SCRIPT [targets]`. Loaded with
-- (instantiate, hosts, opts, finished, args, started, scope): runs the script once per host,
-- each copy with a global environment of its own (`host`, `arg`; assignments to globals stay
-- with the host, reads fall back to the shared globals), in its own task with that host
-- current, at most opts.forks at once, in batches of opts.serial hosts when given (stopping
-- once more than opts.max_fail percent have failed), each bounded by opts.timeout seconds;
-- reports every start through started(host, task) and every end through
-- finished(host, outcome, error, elapsed, values, task). Barriers and once-blocks of the run live in
-- `scope`, the run's own table.
local instantiate, hosts, opts, finished, args, started, scope = ...
local task, ssh, G = task, ssh, _G
local tostring, type, setmetatable, unpack, pack = tostring, type, setmetatable, table.unpack, table.pack

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

-- Each host's globals: its own table, falling back to the shared ones.
local env_meta = { __index = G }
local argv = {}
for i, a in ipairs(args) do argv[i] = a end

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

-- Waits until every host still running has reached `name` (hosts that have finished, failed
-- or not yet started under --forks are not waited for).
function scope.barrier(name)
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
-- Runs fn once for the whole run (on the first host to get here); every host gets its
-- results (or its error). Reached through task.once, a tail call: level 2 is its caller.
function scope.once(name, fn, ...)
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

local function run_host(h)
  local t0 = task.now()
  running = running + 1
  local env = setmetatable({ host = proxy, arg = argv }, env_meta)
  local chunk = instantiate(env)
  -- chunk is tail-called so that tracebacks name its frame "main chunk", as in a plain run
  local child = task.spawn(function()
    return ssh.with(h, function(...) return chunk(...) end, unpack(args))
  end)
  -- (the child runs at the first suspension, so this still comes before its output)
  started(h, child)
  local outcome, err, values
  if task.join_all({ child }, opts.timeout) then
    local res = pack(pcall(child.join, child))
    if res[1] then
      outcome, values = "ok", pack(unpack(res, 2, res.n))
    else
      outcome, err = "failed", child:error() or tostring(res[2])
    end
  else
    child:cancel()
    outcome, err = "timed_out", ("timed out after %gs"):format(opts.timeout)
  end
  running = running - 1
  release_ready()
  finished(h, outcome, err, task.now() - t0, values, child)
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

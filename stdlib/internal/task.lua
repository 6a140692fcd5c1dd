-- drover's `task` module, Lua half. The Rust half (src/lua/task/) provides the primitives;
-- this chunk adds what must raise plain Lua values or rely on `<close>`: join, timeout, retry,
-- delay, semaphore:with, pool:map. Loaded once per VM with (task table, private helpers);
-- returns `task_main`, the body every task runs in.
local task, private = ...

local capture, traceback, getinfo = private.capture, debug.traceback, debug.getinfo
local pack, unpack, error, type, xpcall, setmetatable =
  table.pack, table.unpack, error, type, xpcall, setmetatable
local spawn, sleep = task.spawn, task.sleep
local seconds, check_options = private.seconds, private.check_options
local integer, max_seconds = private.integer, private.max_seconds

-- "file:line:" of the first frame that is user Lua code, from `level` up.
local function position(level)
  for l = level, level + 30 do
    local info = getinfo(l, "Sl")
    if not info then return nil end
    local src = info.source
    if info.currentline and info.currentline > 0
      and not src:find("[drover]", 1, true) and not src:find("__mlua", 1, true) then
      return info.short_src .. ":" .. info.currentline .. ":"
    end
  end
end

-- The value a task raised, recorded by its message handler before anything that could fail
-- for lack of stack: if the handler cannot finish (Lua then gives up with "error in error
-- handling"), task_main still knows what was raised. Tagged with its task's coroutine: a
-- `<close>` handler may suspend while the error unwinds and let other tasks fail meanwhile,
-- and none may take another's value. (Two upvalues, not a table keyed by coroutine: the
-- handler must not allocate, it also runs when memory ran out.)
local first_raised, raised_in

-- Message handler: keeps the raised value and the traceback at the raise point.
local running = coroutine.running

local function msgh(e)
  if raised_in == nil then first_raised, raised_in = e, running() end
  return capture(e, traceback(nil, 2), position(3))
end

local bind = private.bind

-- pcall / xpcall hand errors raised by Rust functions (mlua error objects) to Lua code as
-- "file:line: message" at the caller's line, like errors raised by Lua code: plain strings, or
-- for ssh / sftp failures error values (err.kind, err.host ...) whose tostring is that text.
-- Other error values pass through unchanged.
local error_text, reword_error, raw_xpcall = private.error_text, private.reword_error, xpcall

local function as_lua_error(e)
  if type(e) ~= "userdata" then return e end -- Lua's own error values pass untouched
  -- position(4): skip position, as_lua_error, the message handler and the raising function
  return error_text(e, position(4)) or e
end

local function pcall_msgh(e)
  return as_lua_error(e)
end

_G.pcall = function(fn, ...)
  return raw_xpcall(fn, pcall_msgh, ...)
end

_G.xpcall = function(fn, handler, ...)
  return raw_xpcall(fn, function(e) return handler(as_lua_error(e)) end, ...)
end

local as_failure = private.as_failure

local function settle(ok, ...)
  local raised
  if raised_in == running() then
    raised, first_raised, raised_in = first_raised, nil, nil
  end
  if ok then return ok, ... end
  return false, as_failure((...), raised)
end

local function task_main(fn, ...)
  bind(running())
  return settle(raw_xpcall(fn, msgh, ...))
end

local function expect_function(fn, what, n)
  if type(fn) ~= "function" then
    error(("%s: argument #%d must be a function, got %s"):format(what, n, type(fn)), 3)
  end
end

-- Handle methods -----------------------------------------------------------------------------
local Handle = private.handle_methods

--- Waits for the task; returns its values or re-raises its error (with its traceback).
function Handle.join(self)
  local r = pack(self:_result_now())  -- finished already: no suspension needed
  if r.n == 0 then r = pack(self:_result()) end
  if r[1] then return unpack(r, 2, r.n) end
  error(r[2], 0)
end

-- Cancels a task when the guard goes out of scope (normal exit, error or cancellation).
local cancel_mt = {
  __close = function(g)
    local h = g.handle
    if h and not h:done() then h:cancel() end
    local list = g.handles
    if list then
      for i = 1, #list do
        if not list[i]:done() then list[i]:cancel() end
      end
    end
  end,
}

-- task functions ---------------------------------------------------------------------------
local function delayed(secs, fn, ...)
  sleep(secs)
  return fn(...)
end

--- Spawns fn(...) after `secs` seconds (gevent's spawn_later).
function task.delay(secs, fn, ...)
  seconds(secs, "task.delay")
  expect_function(fn, "task.delay", 2)
  return spawn(delayed, secs, fn, ...)
end

--- Runs fn(...) in a child task; past `secs` the child is cancelled and a timeout error raised.
function task.timeout(secs, fn, ...)
  local s = seconds(secs, "task.timeout")
  expect_function(fn, "task.timeout", 2)
  local h = spawn(fn, ...)
  local guard <close> = setmetatable({ handle = h }, cancel_mt)
  private.set_deadline(h, s)
  local r = pack(private.wait(h, s))
  if r[1] == nil and r[2] == "timeout" then
    h:cancel()
    error(("timeout: task.timeout(%gs) expired"):format(s), 2)
  end
  if r[1] then return unpack(r, 2, r.n) end
  error(r[2], 0)
end

--- Calls fn(attempt) until it succeeds, at most `attempts` times.
function task.retry(fn, opts)
  expect_function(fn, "task.retry", 1)
  opts = opts or {}
  if type(opts) ~= "table" then
    error("task.retry: argument #2 must be an options table, got " .. type(opts), 2)
  end
  check_options(opts, "task.retry", "attempts", "delay", "backoff", "timeout")
  local attempts = integer(opts.attempts or 3, "task.retry: attempts", 1, 1000000)
  local delay = opts.delay ~= nil and seconds(opts.delay, "task.retry delay") or 0
  local backoff = opts.backoff or 1
  -- `backoff ~= backoff` is NaN, which passes every comparison
  if type(backoff) ~= "number" or backoff ~= backoff or backoff < 1 or backoff > 1000 then
    error("task.retry: backoff must be a number from 1 to 1000, got " .. tostring(backoff), 2)
  end
  local timeout = opts.timeout ~= nil and seconds(opts.timeout, "task.retry timeout") or nil
  local last
  for attempt = 1, attempts do
    local r
    if timeout then
      r = pack(pcall(task.timeout, timeout, fn, attempt))
    else
      r = pack(pcall(fn, attempt))
    end
    if r[1] then return unpack(r, 2, r.n) end
    last = r[2]
    if attempt < attempts and delay > 0 then
      sleep(delay)
      delay = math.min(delay * backoff, max_seconds) -- growth stays a valid duration
    end
  end
  -- a string or an ssh error value says how many attempts failed; other values pass as they are
  error(reword_error(last, ("task.retry: all %d attempts failed; last error: "):format(attempts)), 0)
end

-- Semaphore / lock ---------------------------------------------------------------------------
local release_mt = { __close = function(g) g.sem:release() end }

--- Runs fn(...) holding one permit; the permit is released however fn ends.
function private.semaphore_methods.with(self, fn, ...)
  expect_function(fn, "semaphore:with", 1)
  self:acquire()
  local guard <close> = setmetatable({ sem = self }, release_mt)
  return fn(...)
end

-- Queue --------------------------------------------------------------------------------------
-- put/get take a synchronous fast path when they need not wait (an async call costs several
-- times more); only a wait goes through the suspending Rust method.
local Queue = private.queue_methods

function Queue.put(self, value, opts)
  if opts ~= nil then self:_put_check(opts) end
  if value ~= nil and self:try_put(value) then return true end
  return self:_put(value, opts)
end

function Queue.get(self, opts)
  if opts ~= nil then self:_get_check(opts) end
  local v = self:try_get()
  if v ~= nil then return v end
  return self:_get(opts)
end

-- Pool ---------------------------------------------------------------------------------------
--- Applies fn to every item with at most pool-size calls in flight; results in input order.
--- By default the first error (in input order) cancels the calls still running and is
--- re-raised, and the other results are lost. With `{ errors = "collect" }` every item runs
--- to its end: it returns the results (nil where an item failed) and a table of the errors
--- by index (empty when none failed).
function private.pool_methods.map(self, fn, items, opts)
  expect_function(fn, "pool:map", 1)
  if type(items) ~= "table" then
    error("pool:map: argument #2 must be a list, got " .. type(items), 2)
  end
  local collect = false
  if opts ~= nil then
    if type(opts) ~= "table" then
      error("pool:map: argument #3 must be an options table, got " .. type(opts), 2)
    end
    check_options(opts, "pool:map", "errors")
    if opts.errors == "collect" then
      collect = true
    elseif opts.errors ~= nil and opts.errors ~= "raise" then
      error(('pool:map: errors must be "raise" or "collect", got %s'):format(tostring(opts.errors)), 2)
    end
  end
  local n = items.n or #items
  local handles = {}
  local guard <close> = setmetatable({ handles = handles }, cancel_mt)
  for i = 1, n do
    handles[i] = self:spawn(fn, items[i])
  end
  local out = { n = n }
  if not collect then
    for i = 1, n do
      out[i] = handles[i]:join()
    end
    return out
  end
  -- each error as `pcall(h.join, h)` would give it: strings with the task's traceback, ssh and
  -- sftp error values with their fields
  local errors = {}
  for i = 1, n do
    local h = handles[i]
    local ok, value = pcall(h.join, h)
    if ok then out[i] = value else errors[i] = value end
  end
  return out, errors
end

-- Barriers and once-blocks span the hosts of one per-host run: the run's driver
-- (fanout.lua) puts their implementations in its scope's table, so two runs (or two evals)
-- never share them. Elsewhere there are no hosts to span: say so.
local scope_table = private.scope_table

--- Waits until every host still running has reached `name`.
function task.barrier(name, ...)
  local s = scope_table()
  if not (s and s.barrier) then
    error("task.barrier: only in a per-host run (drover run SCRIPT with -H, -g or -l)", 2)
  end
  return s.barrier(name, ...)
end

--- Runs fn once for the whole per-host run; every host gets its results (or its error).
function task.once(name, fn, ...)
  local s = scope_table()
  if not (s and s.once) then
    error("task.once: only in a per-host run (drover run SCRIPT with -H, -g or -l)", 2)
  end
  return s.once(name, fn, ...)
end

--- The current run's own table: one per eval (each REPL entry), per script run, per per-host
--- run (shared by its hosts), dropped with it. Per-run caches live here (drover.facts keeps
--- its facts under "drover.facts"), so nothing outlives a run in a REPL or an embedder.
function task.run_state()
  local s = scope_table()
  if s == nil then error("task.run_state: not inside a task of drover's", 2) end
  local state = s.state
  if state == nil then
    state = {}
    s.state = state
  end
  return state
end

return task_main

-- drover's coroutine forwarders. A task suspends by yielding mlua's "pending" marker (or a
-- preemption) up to the scheduler; inside a user's own coroutine that yield would land in the
-- user's `coroutine.resume` instead. These replacements pass such yields outward and resume the
-- inner coroutine again, so generators and resume loops around task.sleep / ssh.run just work.
local private = ...
local raw_resume, raw_yield, create, close = coroutine.resume, coroutine.yield, coroutine.create, coroutine.close
local status = coroutine.status
local PENDING, PREEMPTED = private.pending, private.preempted_mark
local enter, leave, was_preempted = private.enter, private.leave, private.was_preempted
local pack, unpack, error, type = table.pack, table.unpack, error, type

local function step(co, ...)
  local prev = enter(co)
  local r = pack(raw_resume(co, ...))
  leave(prev)
  return r
end

local function resume(co, ...)
  local r = step(co, ...)
  while r[1] do
    if r.n == 2 and r[2] == PENDING then
      r = step(co, raw_yield(PENDING))
    elseif (r.n == 2 and r[2] == PREEMPTED) or (r.n == 1 and was_preempted()) then
      raw_yield(PREEMPTED)
      r = step(co)
    else
      break
    end
  end
  return unpack(r, 1, r.n)
end

local function wrap(fn)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'wrap' (function expected, got " .. type(fn) .. ")", 2)
  end
  local co = create(fn)
  return function(...)
    local r = pack(resume(co, ...))
    if r[1] then return unpack(r, 2, r.n) end
    local err = r[2]
    if status(co) == "dead" then close(co) end
    error(err, type(err) == "string" and 2 or 0)
  end
end

coroutine.resume = resume
coroutine.wrap = wrap

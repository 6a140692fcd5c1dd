-- drover's `ssh` module, Lua half: the current host of a task. Loaded with (ssh table, private).
local ssh, private = ...
local current_host, set_host = private.current_host, private.set_host
local setmetatable, type, error = setmetatable, type, error

local restore_mt = { __close = function(g) set_host(g.prev) end }

--- Runs fn(...) with `host` as the current host of this task (and of tasks it spawns).
function ssh.with(host, fn, ...)
  if type(fn) ~= "function" then
    error("ssh.with: argument #2 must be a function, got " .. type(fn), 2)
  end
  local prev = set_host(host)
  local guard <close> = setmetatable({ prev = prev }, restore_mt)
  return fn(...)
end

--- The current host, or nil.
function ssh.current()
  return current_host()
end

--- Runs `cmd` on the current host (see host:run).
function ssh.run(cmd, opts)
  local h = current_host()
  if h == nil then
    error("ssh.run: no current host (use ssh.with(host, fn) or host:run(cmd); fleet.run(cmd), "
      .. "or !CMD in the REPL, runs on every current target)", 2)
  end
  return h:run(cmd, opts)
end

---@meta task
-- LuaLS type definitions for drover's `task` module (global `task`, also `require "task"`).
--
-- Convention: every wait that takes an optional timeout returns `nil, "timeout"` when the time
-- runs out. `task.timeout(s, fn)`, whose whole job is a deadline, raises an error starting with
-- "timeout:" instead. Errors of cancelled tasks start with "cancelled:".

---Every duration is seconds from 0 to 31,536,000 (a year); pool and semaphore sizes are 1 to
---1,000,000. Other values raise an error naming the argument.
---@class task
task = {}

---@alias TaskStatus "running"|"done"|"failed"|"cancelled"

---A running or finished task.
---@class TaskHandle
local TaskHandle = {}

---Waits for the task; returns its values or re-raises its error (string errors carry the
---task's traceback; other error values are re-raised as they are). Raises "cancelled: ..."
---for a cancelled task.
---@return any ...
function TaskHandle:join() end

---Cancels the task at its next suspension point (its `<close>` variables run). No effect on a
---finished task.
function TaskHandle:cancel() end

---@return TaskStatus
function TaskHandle:status() end

---@return boolean
function TaskHandle:done() end

---@return integer
function TaskHandle:id() end

---The failure report (message and traceback) if the task failed, else nil. Marks the failure
---as handled, like `join` and `status`.
---@return string?
function TaskHandle:error() end

---Runs `fn(...)` in a new task that inherits the current one's context.
---@param fn fun(...): ...
---@return TaskHandle
function task.spawn(fn, ...) end

---The task running this code.
---@return TaskHandle?
function task.current() end

---Seconds since the VM started (monotonic clock).
---@return number
function task.now() end

---Suspends the calling task; `0` just lets other tasks run.
---@param seconds number
function task.sleep(seconds) end

---Spawns `fn(...)` after `seconds` (gevent's spawn_later).
---@param seconds number
---@param fn fun(...): ...
---@return TaskHandle
function task.delay(seconds, fn, ...) end

---Waits until every task has finished (their errors are not raised: use `join`).
---@param handles TaskHandle[]
---@param timeout? number
---@return true|nil ok, "timeout"? why
function task.join_all(handles, timeout) end

---Waits until one of the tasks has finished.
---@param handles TaskHandle[]
---@param timeout? number
---@return TaskHandle|nil first, integer|"timeout" index_or_why
function task.wait_any(handles, timeout) end

---Runs `fn(...)` in a child task; past `seconds` the child is cancelled and an error
---"timeout: task.timeout(Ns) expired" is raised at the caller. Also stops CPU-bound loops.
---@param seconds number
---@param fn fun(...): ...
---@return any ...
function task.timeout(seconds, fn, ...) end

---@class RetryOptions
---@field attempts? integer  default 3 (1 to 1,000,000)
---@field delay? number      seconds before the 2nd attempt (default 0)
---@field backoff? number    factor applied to delay after each attempt (default 1; 1 to 1000)
---@field timeout? number    per-attempt timeout (task.timeout)

---Calls `fn(attempt)` until it returns without error, at most `attempts` times; then raises
---"task.retry: all N attempts failed; last error: ...".
---@param fn fun(attempt: integer): ...
---@param opts? RetryOptions
---@return any ...
function task.retry(fn, opts) end

---@class Pool
local Pool = {}
---Waits for a free slot, then spawns `fn(...)` in the pool.
---@return TaskHandle
function Pool:spawn(fn, ...) end
---@class PoolMapOptions
---@field errors? "raise"|"collect"  "raise" (default): the first error in input order cancels the rest and is re-raised, the other results are lost; "collect": every item runs, errors are returned by index

---`fn(item)` for every item, at most pool-size at once; first results in input order.
---By default the first error (in input order) cancels the rest and is re-raised. With
---`{ errors = "collect" }` it returns the results (nil where an item failed) and the errors
---by index (an empty table when none failed), as `pcall(h.join, h)` gives them.
---@param fn fun(item: any): any
---@param items any[]
---@param opts? PoolMapOptions
---@return any[] results
---@return table<integer, any>? errors  only with errors = "collect"
function Pool:map(fn, items, opts) end
---Waits until every task of the pool has finished.
function Pool:join() end
---@return integer
function Pool:running() end
---@return integer
function Pool:free() end
---@return integer
function Pool:size() end

---A pool of at most `n` concurrently running tasks (gevent's Pool).
---@param n integer
---@return Pool
function task.pool(n) end

---@class QueueOptions
---@field maxsize? integer  0 or nil: unbounded
---@field kind? "fifo"|"lifo"|"priority"
---@field compare? fun(a: any, b: any): boolean  priority order ("a before b") instead of {priority, value} pairs

---@class Queue
local Queue = {}
---Adds `value` (never nil), waiting while the queue is full. Priority queues take
---`{priority, value}` pairs (lowest first, FIFO among equals) unless `compare` was given.
---@param value any
---@param opts? {timeout: number}|number
---@return true|nil ok, "timeout"? why
function Queue:put(value, opts) end
---Removes and returns the next item, waiting while the queue is empty.
---@param opts? {timeout: number}|number
---@return any|nil value, "timeout"? why
function Queue:get(opts) end
---@return boolean
function Queue:try_put(value) end
---@return any|nil
function Queue:try_get() end
---Marks one item taken with `get` as processed.
function Queue:task_done() end
---Waits until every item put has been marked done.
---@param timeout? number
---@return true|nil ok, "timeout"? why
function Queue:join(timeout) end
---@return integer
function Queue:len() end
---@return boolean
function Queue:empty() end
---@return boolean
function Queue:full() end

---@param opts? QueueOptions
---@return Queue
function task.queue(opts) end

---@class Event
local Event = {}
---Sets the flag and wakes every waiter.
function Event:set() end
function Event:clear() end
---@return boolean
function Event:is_set() end
---@param timeout? number
---@return true|nil ok, "timeout"? why
function Event:wait(timeout) end

---@return Event
function task.event() end

---@class Semaphore
local Semaphore = {}
---@param timeout? number
---@return true|nil ok, "timeout"? why
function Semaphore:acquire(timeout) end
---@return boolean
function Semaphore:try_acquire() end
---Raises when there is no matching acquire.
function Semaphore:release() end
---Runs `fn(...)` holding a permit, released however fn ends (error, cancellation).
---@return any ...
function Semaphore:with(fn, ...) end
---@return integer
function Semaphore:available() end

---A bounded semaphore of `n` permits.
---@param n integer
---@return Semaphore
function task.semaphore(n) end

---A lock (a semaphore of one permit).
---@return Semaphore
function task.lock() end

return task

---In `drover run SCRIPT [targets]`: waits until every host still running has reached the
---barrier `name` (hosts that finished, failed, or have not started under --forks are not
---waited for).
---@param name string
function task.barrier(name) end

---In `drover run SCRIPT [targets]`: runs `fn(...)` once for the whole run, on the first host
---to get here; every host gets its results (or its error).
---@param name string
---@param fn fun(...): ...
---@return any ...
function task.once(name, fn, ...) end

---The current run's own table: one per eval (each REPL entry or `Runtime::eval`), per script
---run, per `drover run SCRIPT [targets]` (shared by its hosts); a new run starts with an
---empty one. Modules keep per-run caches in it under their own name
---(`task.run_state()["acme.dns"]`), so nothing they cache outlives the run.
---@return table
function task.run_state() end

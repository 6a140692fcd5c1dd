---@meta fleet
-- LuaLS type definitions for drover's `fleet` module (global `fleet`; `targets` is
-- `fleet.targets`): the current targets, shell commands over all of them, result sets.

---@class fleet
fleet = {}

---One host's result of `fleet.run`.
---@class FleetResult
---@field ok boolean the command exited 0
---@field outcome "ok"|"failed"|"unreachable"|"timed_out"|"cancelled"
---@field code integer? exit code
---@field signal string? the signal that killed it
---@field stdout string?
---@field stderr string?
---@field error string? why it is not ok
---@field kind string? the error's kind (`exit`, `unreachable`, `auth`, `timeout`, `cancelled`, ...)
---@field host string
---@field cmd string
---@field elapsed number seconds

---A group of hosts with identical results (`results:gather()`).
---@class FleetGroup
---@field hosts string folded names, e.g. "web[01-03]"
---@field names string[]
---@field outcome string
---@field code integer?
---@field stdout string?
---@field stderr string?
---@field lines string[] stdout lines, then stderr lines marked "! "

---The results of `fleet.run`: `set[name]` is one host's result, `#set` counts them, `pairs`
---goes through them in target order, `tostring` is a one-screen summary.
---@class FleetResults
---@field [string] FleetResult
local results = {}

---The hosts whose command exited 0.
---@return FleetResults
function results:ok() end

---The hosts that did not end ok.
---@return FleetResults
function results:failed() end

---The hosts for which `fn(result, name)` is true.
---@param fn fun(r: FleetResult, name: string): any
---@return FleetResults
function results:where(fn) end

---Host names with a result, in target order.
---@return string[]
function results:hosts() end

---One host's result (as `set[name]`; use it for hosts named like a method).
---@param name string
---@return FleetResult?
function results:result(name) end

---Hosts with identical output and exit code grouped, largest group first.
---@return FleetGroup[]
function results:gather() end

---Gives hosts without a result a `cancelled` one (after a cancelled `fleet.run{into = set}`).
---@param why? string
---@return FleetResults
function results:finish(why) end

---Sets the current targets and returns them; with no argument returns them. `sel`: a `-l`
---pattern ("web:&prod"), flags ("-H h1,h2 -g web -l !db1"), `{hosts=, groups=, pattern=}`,
---a result set (its hosts), or a list of hosts or host names.
---A single target is also the current host of tasks that have none (`ssh.run` in a REPL line).
---@param sel? string|table|FleetResults
---@return Host[]
function fleet.targets(sel) end

---The same as `fleet.targets`.
---@param sel? string|table|FleetResults
---@return Host[]
function targets(sel) end

---Names of the current targets.
---@return string[]
function fleet.hosts() end

---How the current targets were chosen (pattern, groups or folded names), nil without targets.
---@return string?
function fleet.label() end

---Runs `cmd` on every current target at once and returns the result set.
---@param cmd string
---@param opts? {stream?: boolean, timeout?: number, forks?: integer, into?: FleetResults}
---@return FleetResults
function fleet.run(cmd, opts) end

---An empty result set over the current targets, for `fleet.run(cmd, {into = set})`.
---@param cmd? string
---@return FleetResults
function fleet.results(cmd) end

---Whether `v` is a result set.
---@param v any
---@return boolean
function fleet.is_results(v) end

---Hosts in flight at once (default 64); with `n`, sets it.
---@param n? integer
---@return integer
function fleet.forks(n) end

---Seconds per host (nil: no limit); with `s`, sets it (false: no limit).
---@param s? number|false
---@return number?
function fleet.timeout(s) end

---Folds host names into node sets ("web[01-03],db1").
---@param names string[]
---@return string
function fleet.fold(names) end

---The methods of result sets (for completion and extension).
---@type table<string, function>
fleet.result_methods = {}

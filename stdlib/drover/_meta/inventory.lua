---@meta inventory
-- LuaLS type definitions for drover's `inventory` module (global `inventory`) and the `host`
-- global of per-host runs.

---@class inventory
inventory = {}

---Host objects of the run's inventory (-i, $DROVER_INVENTORY or ./inventory.ini) matching
---`pattern` (groups, hosts, globs; terms joined by ':' or ','; `&term` intersects, `!term`
---removes); every host when nil. One object per name for the whole run.
---@param pattern? string
---@return Host[]
function inventory.hosts(pattern) end

---The host object for an inventory host, or nil.
---@param name string
---@return Host?
function inventory.host(name) end

---Group names, sorted.
---@return string[]
function inventory.groups() end

---In `drover run SCRIPT [targets]`: the host this copy of the script runs for (`host.name`,
---`host.vars`, `host.groups`, `host:run(...)`, `host:put(...)`, ...).
---@type Host
host = nil

---@meta drover.host
-- LuaLS type definitions for host objects and their method table (`require "drover.host"`).
-- `ssh.connect`, `inventory.host(s)` and a per-host run's `host` give host objects.

---A host reachable over SSH; one connection, opened on first use, shared by all tasks.
---@class Host
---@field name string
---@field address string
---@field port integer
---@field user string
---@field vars table<string, string>  inventory variables (defaults < groups < host < -e)
---@field groups string[]             inventory groups, direct and through children
local Host = {}


---Runs `cmd`, suspending only the calling task. Failures raise an SshError value (kind
---"exit" for a non-zero exit unless `check = false`).
---@param cmd string|drover.Secret
---@param opts? RunOptions
---@return RunResult
function Host:run(cmd, opts) end

-- File transfer on this host: the functions of the sftp module, as methods.
---@param local_path string
---@param remote_path string
---@param opts? PutOptions
---@return TransferResult
function Host:put(local_path, remote_path, opts) end
---@param remote_path string
---@param local_path string
---@param opts? GetOptions
---@return TransferResult
function Host:get(remote_path, local_path, opts) end
---@param remote_path string
---@return string
function Host:read(remote_path) end
---@param remote_path string
---@param text string|drover.Secret
---@param opts? PutOptions
---@return TransferResult
function Host:write(remote_path, text, opts) end
---@param path string
---@param opts? {follow?: boolean}
---@return FileStat?
function Host:stat(path, opts) end
---@param dir string
---@return FileStat[]
function Host:list(dir) end
---@param path string
---@param opts? {parents?: boolean, mode?: string|integer}
function Host:mkdir(path, opts) end
---@param path string
---@param opts? {recursive?: boolean}
function Host:remove(path, opts) end
---@param from string
---@param to string
function Host:rename(from, to) end
---@param path string
---@param mode string|integer
function Host:chmod(path, mode) end


---Where every host object looks up a name that is not a field: `run` (from ssh), the sftp
---methods, and whatever modules add. A function added here is a method of every host object,
---including those made before it was added. Fields (name, address, ...) win over methods.
---
---```lua
---local methods = require("drover.host").methods
---function methods:uptime()
---  return tonumber(self:read("/proc/uptime"):match("^[%d.]+"))
---end
---print(inventory.host("web1"):uptime())
---```
---@class drover.host
---@field methods table<string, fun(self: Host, ...): ...>
local M = {}
return M

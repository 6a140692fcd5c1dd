---@meta drover.opcore
-- LuaLS type definitions for `drover.opcore` (`require "drover.opcore"`, no global): the Rust
-- half of the operations helper `drover.op`. Scripts use drover.op (and the modules built on
-- it: drover.file, drover.command); these are its building blocks.

---@class drover.opcore
local opcore = {}

---The check and diff mode of the calling eval (`drover run --check --diff`, `:check on`).
---@return {check: boolean, diff: boolean}
function opcore.mode() end

---Sends an operation's `op` event on the calling task's sink (its host the task's; target
---and reason with the host's secrets and `secrets` replaced by `<secret>`).
---@param event {module: string, op: string, target: string, changed: boolean|"unknown", diff?: string, reason?: string, elapsed?: number, secrets?: string[]}
function opcore.emit(event) end

---A unified diff from `old` to `new` (nil: no file), headed with `label`; nil when equal.
---Every line containing one of the host's secrets or of `secrets` is hidden.
---@param old string?
---@param new string?
---@param label string
---@param secrets? string[]
---@return string?
function opcore.diff(old, new, label, secrets) end

---`text` with the host's secrets and `secrets` replaced by `<secret>`.
---@param text string
---@param secrets? string[]
---@return string
function opcore.mask(text, secrets) end

---The SHA-256 of `data`, in hex.
---@param data string
---@return string
function opcore.sha256(data) end

---Starts a readonly section of the calling task: until `readonly_end`, its commands run in
---check mode too (an operation reading state). Returns the id to end it with.
---@return integer
function opcore.readonly_begin() end

---Ends the readonly section `id` began.
---@param id integer
function opcore.readonly_end(id) end

---`err` with `context` (and ` on HOST`) before its message (`file.present /etc/x on web1:
---...`); an ssh or sftp error value stays one, with its kind and fields (and names its host
---itself). The host's secrets are masked in all of its text.
---@param err any
---@param context string
---@param host? string
---@return any
function opcore.with_context(err, context, host) end

return opcore

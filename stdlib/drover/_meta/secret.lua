---@meta secret
-- LuaLS type definitions for drover's `secret` module (global `secret`, also `require "secret"`).
--
-- `secret(value)` makes a value that shows as `<secret>` wherever it is shown (`tostring`,
-- `print`, `("%s"):format(s)`, the REPL, error messages) while the calls that take text use the
-- real value: `ssh.run`'s command, `env`, `stdin` and `sudo_password`, `sftp.write`,
-- `ssh.connect`'s `password`/`key`/`passphrase`, and the `drover.*` operations' text options
-- (`file.present{content = s}`: its diff is hidden). Joining keeps it secret:
-- `"mysql -p" .. pw` is a secret too. Its text is also masked out of every event of the run
-- (command output, diffs, logs, `--json`), even where a script revealed it.
-- Inventory passwords and variables whose names say they hold one (`db_password`,
-- `api_token`) are secrets in `host.vars`.

---A secret value: `<secret>` when shown; `s:reveal()` is its text.
---@class drover.Secret
local Secret = {}

---The real text (still masked out of the run's events).
---@return string
function Secret:reveal() end

---@class secret
---@overload fun(value: string|number|drover.Secret): drover.Secret
secret = {}

---The text of a secret; any other value as it is.
---@param value any
---@return any
function secret.reveal(value) end

---Whether `value` is a secret.
---@param value any
---@return boolean
function secret.is(value) end

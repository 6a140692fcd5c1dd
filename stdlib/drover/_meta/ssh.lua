---@meta ssh
-- LuaLS type definitions for drover's `ssh` module (global `ssh`, also `require "ssh"`).

---@class ssh
ssh = {}

---@class SshSpec
---@field address string           host name, address, or an alias of ~/.ssh/config ("user@host:port" accepted)
---@field port? integer            default 22 (or the ssh config's Port)
---@field user? string             default $USER (or the ssh config's User)
---@field password? string|drover.Secret password / keyboard-interactive
---@field identity? string         private key file (default: ssh config IdentityFile, then ~/.ssh/id_*)
---@field key? string|drover.Secret private key text
---@field passphrase? string|drover.Secret for an encrypted identity or key
---@field passphrase_env? string   name of an environment variable holding the passphrase
---@field agent? string|false      ssh-agent socket (default $SSH_AUTH_SOCK); false: no agent
---@field known_hosts? string      default ~/.ssh/known_hosts
---@field host_key_policy? "accept-new"|"strict"|"off"
---@field connect_timeout? number  seconds, default 10
---@field proxy_jump? Host|SshSpec|string  reach the host through this one
---@field ssh_config? string|false default ~/.ssh/config
---@field name? string             name used in results and errors

---@class RunOptions
---@field check? boolean       raise on a non-zero exit (default true)
---@field timeout? number      seconds; the remote job gets TERM after it
---@field env? table<string, string|drover.Secret>
---@field cwd? string
---@field stdin? string|drover.Secret
---@field sudo? boolean        run through `sudo -n`
---@field user? string         sudo to this user
---@field sudo_password? string|drover.Secret fed to `sudo -S` on stdin, never on a command line
---@field pty? boolean
---@field stream? boolean      print lines as they arrive: "host | line", stderr "host ! line"
---@field max_output? integer  bytes kept per stream (default 128 MiB); `truncated` says if cut
---@field readonly? boolean    the command only looks: it runs in check mode too (others are skipped there)

---@class RunResult
---@field ok boolean
---@field code integer?
---@field signal string?
---@field stdout string
---@field stderr string
---@field truncated boolean
---@field host string
---@field cmd string
---@field elapsed number
---@field skipped? boolean    check mode did not run it (not readonly): ok, code 0, no output

---What `pcall` returns for a failed ssh or sftp call (and what `join`, `task.retry` and
---`task.timeout` re-raise): a value to branch on. `tostring(err)` (and `print`, `..`,
---`err:find(...)` and the other string methods) give the text drover always showed:
---"file:line: host: what failed, why, a hint". Mistakes in the call itself (a bad argument,
---an unknown option) stay plain strings.
---
---```lua
---local ok, err = pcall(ssh.run, "systemctl is-active app")
---if not ok and err.kind == "exit" and err.code == 3 then start_app()
---elseif not ok then error(err) end
---```
---@class SshError
---@field kind SshErrorKind
---@field host string?          the host's name (nil for bad_destination)
---@field message string        the text without the caller's position
---@field code integer?         exit: the exit code (nil when killed by a signal)
---@field signal string?        exit: the signal that ended the command ("KILL")
---@field stdout string?        exit: the command's output
---@field stderr string?        exit: its error output
---@field command string?       exit, timeout: the command
---@field seconds number?       timeout: the limit that passed (also a connect timeout)
---@field op string?            sftp: the operation ("put", "get", "read", "stat", ...)
---@field path string?          sftp: the remote path; auth: the identity that did not load
---@field reason string?        why, in the remote or system's words (unreachable, auth, sftp, ...)
---@field user string?          auth: the user
---@field tried string?         auth: the methods tried ("publickey, password")
---@field address string?       unreachable: the address tried
---@field key_type string?      host_key: the key type the server offered
---@field fingerprint string?   host_key: its SHA256 fingerprint
---@field file string?          host_key: the known_hosts file
---@field line integer?         host_key: the known_hosts line with the other key (changed key)
---@field during string?        connection_lost, protocol: what was going on
---@field destination string?   bad_destination: the text that did not parse

---@alias SshErrorKind
---| "unreachable"     # no SSH session: connection refused, no route, connect timeout, handshake failed
---| "auth"            # every credential refused, or the identity could not be loaded
---| "host_key"        # host key changed, unknown under host_key_policy = "strict", or known_hosts unreadable
---| "timeout"         # the command ran past its `timeout` (the remote process was sent TERM)
---| "exit"            # the command exited non-zero or was killed (host:run without check = false)
---| "sftp"            # a file operation failed (see op, path, reason)
---| "connection_lost" # the connection ended while in use; the command may or may not have finished
---| "protocol"        # another SSH-level failure (a channel refused ...)
---| "bad_destination" # "user@host:port" that does not parse

-- Host objects (`Host`, their fields and methods): see host.lua.

---@param spec SshSpec|string
---@return Host
function ssh.connect(spec) end

---Runs `fn(...)` with `host` as the current host of this task and of the tasks it spawns.
---@param host Host
---@param fn fun(...): ...
---@return any ...
function ssh.with(host, fn, ...) end

---Runs `cmd` on the current host.
---@param cmd string|drover.Secret
---@param opts? RunOptions
---@return RunResult
function ssh.run(cmd, opts) end

---The current host, if any.
---@return Host?
function ssh.current() end

---How many hosts can be connected at once under the open-files limit.
---@return integer
function ssh.max_connections() end

return ssh

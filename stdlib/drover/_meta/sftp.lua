---@meta sftp
-- LuaLS type definitions for drover's `sftp` module (global `sftp`, also `require "sftp"`).
-- Every function works on the task's current host (see ssh.with); host objects have the same
-- methods (`host:put(...)`, `host:read(...)`, ...).

-- Failures raise an SshError value (see _meta/ssh.lua): kind "sftp" with `op`, `path` and
-- `reason` for a failed file operation (`if err.kind == "sftp" and err.reason == "no such file
-- or directory" then ...`), or the connection's kind ("unreachable", "auth", ...).

---@class sftp
sftp = {}

---@class PutOptions
---@field mode? string|integer     "0644" (octal string) or an integer; default: the local file's mode (write: 0644)
---@field owner? string            set with chown before the file is moved into place (needs sudo for others)
---@field group? string
---@field recursive? boolean       copy a directory tree: the destination becomes a mirror of it
---@field skip_same? boolean       default true: no transfer when size and SHA-256 already match
---@field sudo? boolean            move into place as root: staged privately, then `sudo install` + `mv`
---@field user? string             sudo to this user instead of root
---@field sudo_password? string    fed to `sudo -S` on stdin, never on a command line
---@field progress? boolean        report progress of transfers ≥ 1 MiB: "host ~ path 42% (...)"

---@class GetOptions
---@field recursive? boolean       copy a directory tree
---@field progress? boolean

---@class TransferResult
---@field changed boolean          whether anything at the destination changed
---@field bytes integer            bytes sent or received
---@field files integer            files and symlinks written
---@field elapsed number           seconds
---@field skipped? boolean        check mode did not write (put, write; mkdir, remove, rename and chmod do nothing either)

---@class FileStat
---@field type "file"|"dir"|"symlink"|"other"
---@field size integer
---@field mode integer             permission bits
---@field perms string             the same, as "0644"
---@field uid integer
---@field gid integer
---@field mtime integer
---@field atime integer
---@field name? string             (in sftp.list results)

---Uploads a file (atomically: temp file in the destination directory, then one rename) or,
---with `recursive`, a directory tree. A file put onto an existing directory goes inside it.
---@param local_path string
---@param remote_path string
---@param opts? PutOptions
---@return TransferResult
function sftp.put(local_path, remote_path, opts) end

---Downloads a file (atomically on the local side) or, with `recursive`, a directory tree.
---@param remote_path string
---@param local_path string
---@param opts? GetOptions
---@return TransferResult
function sftp.get(remote_path, local_path, opts) end

---The whole content of a remote file.
---@param remote_path string
---@return string
function sftp.read(remote_path) end

---Writes `text` to a remote file, atomically, like put.
---@param remote_path string
---@param text string|drover.Secret
---@param opts? PutOptions
---@return TransferResult
function sftp.write(remote_path, text, opts) end

---Metadata of a path (following symlinks unless `follow = false`), or nil if it does not exist.
---@param path string
---@param opts? {follow?: boolean}
---@return FileStat?
function sftp.stat(path, opts) end

---The entries of a directory (without . and ..), sorted by name.
---@param dir string
---@return FileStat[]
function sftp.list(dir) end

---@param path string
---@param opts? {parents?: boolean, mode?: string|integer}
function sftp.mkdir(path, opts) end

---Removes a file, a symlink, an empty directory, or with `recursive` a whole tree.
---@param path string
---@param opts? {recursive?: boolean}
function sftp.remove(path, opts) end

---Renames, replacing the destination if it exists (posix-rename).
---@param from string
---@param to string
function sftp.rename(from, to) end

---@param path string
---@param mode string|integer
function sftp.chmod(path, mode) end

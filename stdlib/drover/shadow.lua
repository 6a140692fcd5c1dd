--- drover.shadow: what drover.user and drover.group share about the shadow-utils tools
--- (`useradd`, `groupadd`, ...): which names and ids they take, and whether the host has them.
local shadow = {}

local type, tostring, error, math = type, tostring, error, math
local ssh = ssh

--- A user or group name the shadow tools take: letters, digits, `_`, `-`, `.` (and a last `$`
--- for machine accounts), starting with a letter or `_`, at most 32 characters. Nil if fine,
--- else why.
---@param what string  "user" or "group"
---@param name any
---@return string?
function shadow.bad_name(what, name)
  if type(name) ~= "string" or name == "" then
    return ("the %s name must be a non-empty string, got %s"):format(what,
      type(name) == "string" and '""' or type(name))
  end
  if #name > 32 then return ("%s name %q is longer than 32 characters"):format(what, name) end
  if not name:match("^[A-Za-z_][A-Za-z0-9_.-]*%$?$") then
    return ("%q is not a valid %s name (letters, digits, _ . -, starting with a letter or _)")
      :format(name, what)
  end
  return nil
end

--- An id option (uid, gid): nil if fine, else why.
---@param key string
---@param v any
---@return string?
function shadow.bad_id(key, v)
  if v ~= nil and (math.type(v) ~= "integer" or v < 0 or v > 4294967294) then
    return ("option '%s' must be a non-negative integer, got %s"):format(key, tostring(v))
  end
  return nil
end

--- The shadow-utils tool `tool` on the host, or an error naming it (Alpine's busybox has
--- adduser/addgroup with other options: its `shadow` package brings the real ones).
---@param tool string
function shadow.require_tool(tool)
  -- (a login user's PATH may lack the sbin directories that root's and sudo's have)
  local r = ssh.run('export PATH="$PATH:/usr/sbin:/sbin"; command -v ' .. tool,
    { check = false, readonly = true })
  if not r.ok then
    error(("%s not found on the host: drover's user and group operations need shadow-utils "
      .. "(Debian: passwd, RHEL: shadow-utils, Alpine: apk add shadow)"):format(tool), 0)
  end
end

return shadow

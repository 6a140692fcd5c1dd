-- drover's `sftp` module, Lua half: every function runs the host method of the same name on
-- the task's current host. Loaded with (sftp table, current_host function).
local sftp, current_host = ...
local error = error

for _, name in ipairs { "put", "get", "read", "write", "stat", "list", "mkdir", "remove", "rename", "chmod" } do
  sftp[name] = function(...)
    local h = current_host()
    if h == nil then
      error("sftp." .. name .. ": no current host (use ssh.with(host, fn), or host:" .. name .. "(...))", 2)
    end
    return h[name](h, ...)
  end
end

--- drover.shell: building remote command lines safely.
---
--- ```lua
--- local shell = require "drover.shell"
--- ssh.run("rm -f -- " .. shell.quote(path))
--- ssh.run(shell.join { "grep", "-c", pattern, file })
--- ```
local shell = {}

--- `s` as one word of a POSIX shell command line, whatever it holds.
---@param s string|number
---@return string
function shell.quote(s)
  s = tostring(s)
  if s ~= "" and not s:find("[^%w%-%./_=:,+@%%]") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The words of `argv` quoted and joined into one command line.
---@param argv (string|number)[]
---@return string
function shell.join(argv)
  local words = {}
  for i, w in ipairs(argv) do words[i] = shell.quote(w) end
  return table.concat(words, " ")
end

return shell

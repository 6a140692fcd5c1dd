--- drover.template: `{{ name }}` templates, as file.template and file.present's `template`
--- render them. `{{ name }}` is replaced by the value of `name` in the given values, else the
--- current host's inventory variable `name`; `{{ a.b }}` looks into tables. A name defined
--- nowhere is an error naming it and its line; there is no other syntax (no code runs).
---
--- ```lua
--- local template = require "drover.template"
--- assert(template.expand("port {{ port }}", function(n) return ({ port = 80 })[n] end) == "port 80")
--- ```
local template = {}

local type, tostring, error, math, secret = type, tostring, error, math, secret
local ssh = ssh

--- `text` with every `{{ name }}` replaced by `lookup(name)`; raises naming `what`, the line
--- and the name when lookup gives nil or a value that is not text, a number or a boolean.
---@param text string
---@param lookup fun(name: string): any
---@param what? string   the template's name in errors
---@return string
function template.expand(text, lookup, what)
  what = what or "template"
  local out, pos, line = {}, 1, 1
  while true do
    local s, e = text:find("{{", pos, true)
    if s == nil then
      out[#out + 1] = text:sub(pos)
      break
    end
    local before = text:sub(pos, s - 1)
    out[#out + 1] = before
    local _, nl = before:gsub("\n", "")
    line = line + nl
    local close = text:find("}}", e + 1, true)
    if close == nil then error(("%s:%d: {{ without }}"):format(what, line), 0) end
    local inner = text:sub(e + 1, close - 1)
    local name = inner:match("^%s*([%a_][%w_%.]*)%s*$")
    if name == nil or name:find("%.%.") or name:sub(-1) == "." then
      error(("%s:%d: {{%s}} is not a variable name"):format(what, line, inner), 0)
    end
    local v = lookup(name)
    if v == nil then
      error(("%s:%d: {{ %s }} is not defined (not in vars, not a variable of the host)")
        :format(what, line, name), 0)
    end
    local t = type(v)
    if t == "number" then
      v = math.type(v) == "integer" and tostring(v) or ("%.14g"):format(v)
    elseif t == "boolean" then
      v = tostring(v)
    elseif secret.is(v) then
      -- (its value is one of the run's secrets: a diff hides every line holding it)
      v = secret.reveal(v)
    elseif t ~= "string" then
      error(("%s:%d: {{ %s }} is a %s, not text"):format(what, line, name, t), 0)
    end
    out[#out + 1] = v
    local _, inl = inner:gsub("\n", "")
    line = line + inl
    pos = close + 2
  end
  return table.concat(out)
end

-- `name` ("a.b.c") in `t`, looking into tables.
local function dig(t, name)
  local v = t
  for part in name:gmatch("[^.]+") do
    if type(v) ~= "table" then return nil end
    v = v[part]
  end
  return v
end

--- `text` rendered with `vars`, then the current host's inventory variables.
---@param text string
---@param vars? table
---@param what? string   the template's name in errors
---@return string
function template.render(text, vars, what)
  local h = ssh.current()
  local host_vars = h and h.vars or {}
  return template.expand(text, function(name)
    local v = vars and dig(vars, name)
    if v == nil then v = dig(host_vars, name) end
    return v
  end, what)
end

return template

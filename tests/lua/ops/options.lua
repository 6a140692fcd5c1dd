-- Caller mistakes in operations raise at the caller's line and name the key.
local check = require "check"
local file = require "drover.file"
local command = require "drover.command"

local function line_of(fn)
  local ok, e = pcall(fn)
  check.eq(ok, false)
  return tostring(e)
end

local e = line_of(function()
  file.present("/tmp/x", { mdoe = "0644" }) -- line 13
end)
check.eq(e:match("^[^:]*options%.lua:13: file%.present: unknown option 'mdoe' %(allowed: ") ~= nil, true, e)
e = line_of(function()
  command.run("true", { creates = 1 }) -- line 17
end)
check.eq(e:match("options%.lua:17: command%.run: option 'creates' must be a string, got number") ~= nil, true, e)
e = line_of(function()
  file.directory("relative/dir") -- line 21
end)
check.eq(e:match("options%.lua:21: file%.directory: the path must be absolute") ~= nil, true, e)
e = line_of(function()
  file.present("/tmp/x", { mode = "999" }) -- line 25
end)
check.eq(e:match("options%.lua:25: file%.present: option 'mode' must be an octal mode") ~= nil, true, e)
-- well-formed, but no host to act on
e = line_of(function()
  file.absent("/tmp/x") -- line 30
end)
check.eq(e:match("options%.lua:30: file%.absent: no current host") ~= nil, true, e)

-- templates: an undefined name is an error naming it and its line; no code runs
local template = require "drover.template"
check.eq(template.expand("a {{ x }} b {{y.z}}", function(n) return ({ x = 1, ["y.z"] = true })[n] end), "a 1 b true")
e = select(2, pcall(template.expand, "one\ntwo {{ missing }}", function() return nil end, "motd.tmpl"))
check.eq(e, "motd.tmpl:2: {{ missing }} is not defined (not in vars, not a variable of the host)")
e = select(2, pcall(template.expand, "{{ os.exit(1) }}", function() return "x" end))
check.eq(e, "template:1: {{ os.exit(1) }} is not a variable name")
e = select(2, pcall(template.expand, "x {{ open", function() return "x" end))
check.eq(e, "template:1: {{ without }}")
-- randomized: any text either renders or raises a string naming the template, never crashes
math.randomseed(14)
local pieces = { "{{", "}}", " ", "a", ".", "\n", "{", "}", "x.y", "_", "1", "\0", "é" }
for _ = 1, 2000 do
  local t = {}
  for i = 1, math.random(0, 12) do t[i] = pieces[math.random(#pieces)] end
  local text = table.concat(t)
  local ok, out = pcall(template.expand, text, function(n) return n == "a" and "A" or nil end, "rnd")
  check.eq(type(out), "string", text)
  if not ok then check.eq(out:sub(1, 4), "rnd:", out) end
end

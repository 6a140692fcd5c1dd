-- print, io.write and io.stdout:write go to the event sink of the task that calls them
-- (`write` below, Rust): in a host's part of a per-host run they are that host's output
-- lines; elsewhere they are printed text. Outside any task they write to the real stdout.
-- Loaded once per VM with (write).
local write = ...
local select, tostring, type, error = select, tostring, type, error
local concat, format, math_type = table.concat, string.format, math.type

local raw_print = print
print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  if not write(concat(parts, "\t") .. "\n") then return raw_print(...) end
end

-- File methods are shared by every file: wrap `write` for the real stdout only.
local real_stdout = io.stdout
local file_methods = getmetatable(real_stdout).__index
local raw_file_write = file_methods.write
local function write_values(file, what, ...)
  if file ~= real_stdout then return raw_file_write(file, ...) end
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local tv = math_type(v)
    if tv == "float" then
      v = format("%.14g", v) -- as the real write formats numbers
    elseif tv == nil and type(v) ~= "string" then
      -- level 2: the wrappers below tail-call this function
      error(("bad argument #%d to '%s' (string expected, got %s)"):format(i, what, type(v)), 2)
    end
    parts[i] = v
  end
  if not write(concat(parts)) then return raw_file_write(file, ...) end
  return file
end
file_methods.write = function(file, ...) return write_values(file, "write", ...) end
local raw_output = io.output
io.write = function(...) return write_values(raw_output(), "write", ...) end

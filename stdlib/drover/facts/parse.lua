--- drover.facts.parse: the pure parsers of drover.facts, text in, table out. Each returns
--- its value, or nil and why the text could not be read; none raises on any input.
local parse = {}

local tonumber, tostring, type = tonumber, tostring, type

-- Lines of `text` without their ends (a last line without "\n" counts; "\r" is dropped).
local function lines(text)
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    out[#out + 1] = (line:gsub("\r$", ""))
  end
  if out[#out] == "" then out[#out] = nil end
  return out
end
parse.lines = lines

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local function not_text(text, what)
  if type(text) ~= "string" then
    return ("%s: expected text, got %s"):format(what, type(text))
  end
end

---------------------------------------------------------------------------------------------
-- file: `stat -c STAT_FORMAT -- PATH`, then the sha256sum line (files) or readlink's (links)

--- What `stat -c` prints for drover.facts.file (GNU coreutils and busybox both have these).
parse.STAT_FORMAT = "%a|%u|%g|%s|%U|%G|%F"

local file_types = {
  ["regular file"] = "file",
  ["regular empty file"] = "file",
  ["directory"] = "directory",
  ["symbolic link"] = "link",
}

---@class drover.facts.File
---@field type "file"|"directory"|"link"|"other"
---@field kind string      stat's own word ("regular file", "fifo", "socket", ...)
---@field mode string      four octal digits, "0644"
---@field owner string     user name (the uid as text when it has none)
---@field group string     group name (the gid as text when it has none)
---@field uid integer
---@field gid integer
---@field size integer     bytes (a link: the length of its target)
---@field sha256? string   files: of the content
---@field target? string   links: what it points to

--- The output of drover.facts' file command (stat line, then sha256sum or readlink).
---@param text string
---@return drover.facts.File?, string?
function parse.file(text)
  local bad = not_text(text, "file")
  if bad then return nil, bad end
  local ls = lines(text)
  local head = ls[1]
  if head == nil then return nil, "file: no stat output" end
  local mode, uid, gid, size, owner, group, kind =
    head:match("^(%d+)|(%d+)|(%d+)|(%d+)|([^|]*)|([^|]*)|(.+)$")
  if mode == nil or #mode > 5 then
    return nil, ("file: cannot read stat output %q"):format(head:sub(1, 200))
  end
  local m = tonumber(mode, 8)
  if m == nil then return nil, ("file: mode %q is not octal"):format(mode) end
  local v = {
    type = file_types[kind] or "other",
    kind = kind,
    mode = ("%04o"):format(m),
    uid = tonumber(uid) // 1,
    gid = tonumber(gid) // 1,
    size = tonumber(size) // 1,
    owner = (owner == "UNKNOWN" or owner == "") and uid or owner,
    group = (group == "UNKNOWN" or group == "") and gid or group,
  }
  if v.type == "file" then
    -- "HASH  NAME"; a name with a backslash or newline makes sha256sum start with "\"
    local sum = ls[2] and ls[2]:match("^\\?(%x+)")
    if sum == nil or #sum ~= 64 then
      return nil, ("file: no sha256 in %q"):format(tostring(ls[2]):sub(1, 200))
    end
    v.sha256 = sum:lower()
  elseif v.type == "link" then
    if ls[2] == nil then return nil, "file: no link target" end
    v.target = table.concat(ls, "\n", 2)
  end
  return v
end

return parse

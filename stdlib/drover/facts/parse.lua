--- drover.facts.parse: the pure parsers of drover.facts, text in, table out. Each returns
--- its value, or nil and why the text could not be read; none raises on any input.
local parse = {}

local tonumber, tostring, type, ipairs, pairs, next = tonumber, tostring, type, ipairs, pairs, next

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

---------------------------------------------------------------------------------------------
-- os: os-release, then uname -srm

-- One os-release value: double- or single-quoted (backslash escapes in double quotes) or bare.
local function os_release_value(raw)
  raw = trim(raw)
  local q = raw:sub(1, 1)
  if q == '"' then
    local body = raw:match('^"(.*)"$') or raw:sub(2)
    return (body:gsub("\\(.)", "%1"))
  elseif q == "'" then
    return raw:match("^'(.*)'$") or raw:sub(2)
  end
  return raw
end

--- os-release(5): `KEY=value` lines, keys lowercased (`id`, `version_id`, `pretty_name`, ...);
--- `like` is ID_LIKE as a list.
---@param text string
---@return table<string, any>?, string?
function parse.os_release(text)
  local bad = not_text(text, "os-release")
  if bad then return nil, bad end
  local v = {}
  for _, line in ipairs(lines(text)) do
    local key, raw = line:match("^%s*([%w_]+)=(.*)$")
    if key then v[key:lower()] = os_release_value(raw) end
  end
  if next(v) == nil then return nil, "os-release: no KEY=value line" end
  local like = {}
  for w in (v.id_like or ""):gmatch("%S+") do like[#like + 1] = w end
  v.like = like
  return v
end

--- `uname -srm`: kernel name, release and machine.
---@param text string
---@return {kernel_name: string, kernel: string, arch: string}?, string?
function parse.uname(text)
  local bad = not_text(text, "uname")
  if bad then return nil, bad end
  local name, release, machine = (lines(text)[1] or ""):match("^(%S+)%s+(%S+)%s+(%S+)%s*$")
  if name == nil then return nil, ("uname: cannot read %q"):format(text:sub(1, 200)) end
  return { kernel_name = name, kernel = release, arch = machine }
end

--- Marks where the second part of a two-part fact output starts.
parse.SEPARATOR = "drover-facts:next"

-- The two parts of `text` around a SEPARATOR line.
local function split_parts(text)
  local a, b = text:match("^(.-)\n?" .. parse.SEPARATOR:gsub("%-", "%%-") .. "\n(.*)$")
  if a == nil then return nil end
  return a, b
end

---@class drover.facts.Os
---@field id string              "debian", "ubuntu", "rocky", "alpine", ...
---@field version_id? string     "12"
---@field name? string
---@field pretty_name? string
---@field like string[]          ID_LIKE
---@field kernel string          uname -r
---@field kernel_name string     uname -s
---@field arch string            uname -m

--- The os fact's output: os-release, a SEPARATOR line, `uname -srm`.
---@param text string
---@return drover.facts.Os?, string?
function parse.os(text)
  local bad = not_text(text, "os")
  if bad then return nil, bad end
  local rel, un = split_parts(text)
  if rel == nil then return nil, "os: no separator between os-release and uname" end
  local v, why = parse.os_release(rel)
  if v == nil then return nil, why end
  local u
  u, why = parse.uname(un)
  if u == nil then return nil, why end
  for k, x in pairs(u) do v[k] = x end
  v.id = v.id or "linux" -- os-release(5): ID defaults to "linux"
  return v
end

---------------------------------------------------------------------------------------------
-- pkg: the manager's name, then its list of installed packages

---@class drover.facts.Package
---@field version string
---@field arch? string

-- Adds `name` to `out`; a second architecture of the same name goes under "name:arch" (and
-- the first one's too), the plain name keeps the first.
local function add_package(out, name, version, arch)
  local prev = out[name]
  local entry = { version = version, arch = arch ~= "" and arch or nil }
  if prev == nil then
    out[name] = entry
  else
    if prev.arch then out[name .. ":" .. prev.arch] = prev end
    if arch ~= "" then out[name .. ":" .. arch] = entry end
  end
end

--- `dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\n'`:
--- the installed packages (status "ii", "hi", and half-configured ones that have files:
--- "iU", "iF", ...; not "rc", removed with its configuration left).
---@param text string
---@return table<string, drover.facts.Package>?, string?
function parse.dpkg(text)
  local bad = not_text(text, "dpkg")
  if bad then return nil, bad end
  local out = {}
  for _, line in ipairs(lines(text)) do
    local status, name, version, arch = line:match("^(%S+)%s*\t([^\t]+)\t([^\t]*)\t?([^\t]*)$")
    -- the second letter is the state: i installed, U unpacked, F half-configured, W/t triggers
    if status and status:sub(2, 2):match("[iUFWt]") and version ~= "" then
      add_package(out, name, version, arch)
    end
  end
  return out
end

--- What rpm prints with drover's query format, `NAME\t[EPOCH:]VERSION-RELEASE\tARCH`.
---@param text string
---@return table<string, drover.facts.Package>?, string?
function parse.rpm(text)
  local bad = not_text(text, "rpm")
  if bad then return nil, bad end
  local out = {}
  for _, line in ipairs(lines(text)) do
    local name, version, arch = line:match("^([^\t]+)\t([^\t]+)\t?([^\t]*)$")
    if name then add_package(out, name, version, arch == "(none)" and "" or arch) end
  end
  return out
end

--- apk's database of installed packages (`/lib/apk/db/installed`): blocks of `X:value`
--- lines, P the name, V the version, A the architecture.
---@param text string
---@return table<string, drover.facts.Package>?, string?
function parse.apk(text)
  local bad = not_text(text, "apk")
  if bad then return nil, bad end
  local out = {}
  local cur = {}
  local function flush()
    if cur.P and cur.V then add_package(out, cur.P, cur.V, cur.A or "") end
    cur = {}
  end
  for _, line in ipairs(lines(text)) do
    if line == "" then
      flush()
    else
      local k, v = line:match("^(%a):(.*)$")
      if k == "P" and cur.P then flush() end
      if k then cur[k] = v end
    end
  end
  flush()
  return out
end

--- The pkg fact's output: the manager ("dpkg", "rpm" or "apk") on the first line, then its
--- list.
---@param text string
---@return {manager: string, packages: table<string, drover.facts.Package>}?, string?
function parse.pkg(text)
  local bad = not_text(text, "pkg")
  if bad then return nil, bad end
  local manager, rest = text:match("^(%a+)\r?\n(.*)$")
  if manager == nil then manager, rest = text:match("^(%a+)%s*$"), "" end
  local parser = ({ dpkg = parse.dpkg, rpm = parse.rpm, apk = parse.apk })[manager]
  if parser == nil then
    return nil, ("pkg: no package manager named in %q"):format(text:sub(1, 100))
  end
  local packages, why = parser(rest)
  if packages == nil then return nil, why end
  return { manager = manager, packages = packages }
end

---------------------------------------------------------------------------------------------
-- service

---@class drover.facts.Service
---@field exists boolean
---@field active boolean
---@field enabled boolean?     nil: it cannot be enabled or disabled (static, or not known)
---@field manager "systemd"|"sysv"|"openrc"
---@field state? string        systemd: ActiveState/SubState; sysv, openrc: the status exit code

-- systemd's UnitFileState: enabled or not, nil where it does not apply.
local unit_file_enabled = {
  enabled = true, ["enabled-runtime"] = true, alias = true, linked = true,
  ["linked-runtime"] = true,
  disabled = false, masked = false, ["masked-runtime"] = false,
}

--- `systemctl show -p LoadState -p ActiveState -p SubState -p UnitFileState UNIT`.
---@param text string
---@return drover.facts.Service?, string?
function parse.systemctl_show(text)
  local bad = not_text(text, "systemctl show")
  if bad then return nil, bad end
  local p = {}
  for _, line in ipairs(lines(text)) do
    local k, v = line:match("^(%w+)=(.*)$")
    if k then p[k] = v end
  end
  if p.LoadState == nil then return nil, "systemctl show: no LoadState" end
  local exists = p.LoadState ~= "not-found"
  local enabled = false
  if exists then enabled = unit_file_enabled[p.UnitFileState or ""] end
  return {
    manager = "systemd",
    exists = exists,
    active = p.ActiveState == "active" or p.ActiveState == "reloading",
    enabled = enabled,
    state = (p.ActiveState or "") .. "/" .. (p.SubState or ""),
    load_state = p.LoadState,
    unit_file_state = p.UnitFileState,
  }
end

--- The service fact's output: `manager=systemd` and systemctl show's lines, or
--- `manager=sysv` / `manager=openrc` and `exists=yes|no`, `status=CODE` (the init script's
--- `status` exit code: 0 running), `start=LINK` per runlevel link that starts it.
---@param text string
---@return drover.facts.Service?, string?
function parse.service(text)
  local bad = not_text(text, "service")
  if bad then return nil, bad end
  local manager, rest = text:match("^manager=(%a+)\r?\n?(.*)$")
  if manager == "systemd" then return parse.systemctl_show(rest) end
  if manager ~= "sysv" and manager ~= "openrc" then
    return nil, ("service: no init system named in %q"):format(text:sub(1, 100))
  end
  local exists, status, starts = nil, nil, 0
  for _, line in ipairs(lines(rest)) do
    local k, v = line:match("^(%a+)=(.*)$")
    if k == "exists" then exists = v == "yes"
    elseif k == "status" then status = tonumber(v)
    elseif k == "start" then starts = starts + 1 end
  end
  if exists == nil then return nil, "service: no exists= line" end
  if exists and status == nil then return nil, "service: no status= line" end
  return {
    manager = manager,
    exists = exists,
    active = exists and status == 0,
    enabled = exists and starts > 0,
    state = status and tostring(status) or nil,
  }
end

---------------------------------------------------------------------------------------------
-- user, group: getent

---@class drover.facts.User
---@field name string
---@field uid integer
---@field gid integer
---@field gecos string
---@field home string
---@field shell string
---@field groups? string[]   names of every group the user is in (`id -Gn`), primary first

--- One `getent passwd` line.
---@param text string
---@return drover.facts.User?, string?
function parse.passwd(text)
  local bad = not_text(text, "passwd")
  if bad then return nil, bad end
  local name, uid, gid, gecos, home, shell =
    (lines(text)[1] or ""):match("^([^:]+):[^:]*:(%d+):(%d+):([^:]*):([^:]*):([^:]*)$")
  if name == nil then return nil, ("passwd: cannot read %q"):format(text:sub(1, 200)) end
  return { name = name, uid = tonumber(uid) // 1, gid = tonumber(gid) // 1, gecos = gecos,
    home = home, shell = shell }
end

--- The user fact's output: the `getent passwd` line, then `id -Gn`'s group names.
---@param text string
---@return drover.facts.User?, string?
function parse.user(text)
  local v, why = parse.passwd(text)
  if v == nil then return nil, why end
  local second = lines(text)[2]
  if second then
    local groups = {}
    for g in second:gmatch("%S+") do groups[#groups + 1] = g end
    v.groups = groups
  end
  return v
end

---@class drover.facts.Group
---@field name string
---@field gid integer
---@field members string[]   secondary members (the group line's list)

--- One `getent group` line.
---@param text string
---@return drover.facts.Group?, string?
function parse.group(text)
  local bad = not_text(text, "group")
  if bad then return nil, bad end
  local name, gid, members = (lines(text)[1] or ""):match("^([^:]+):[^:]*:(%d+):([^:]*)$")
  if name == nil then return nil, ("group: cannot read %q"):format(text:sub(1, 200)) end
  local list = {}
  for m in members:gmatch("[^,%s]+") do list[#list + 1] = m end
  return { name = name, gid = tonumber(gid) // 1, members = list }
end

---------------------------------------------------------------------------------------------
-- mem: /proc/meminfo

---@class drover.facts.Mem
---@field total integer          bytes (MemTotal)
---@field available integer      bytes (MemAvailable; before Linux 3.14, MemFree + Buffers + Cached)
---@field free integer
---@field swap_total integer
---@field swap_free integer
---@field fields table<string, integer>  every line, in bytes where the line is in kB

--- /proc/meminfo.
---@param text string
---@return drover.facts.Mem?, string?
function parse.meminfo(text)
  local bad = not_text(text, "meminfo")
  if bad then return nil, bad end
  local f = {}
  for _, line in ipairs(lines(text)) do
    local k, n, unit = line:match("^([%w_()]+):%s*(%d+)%s*(%a*)")
    if k then
      local v = tonumber(n)
      if unit == "kB" then v = v * 1024 end
      f[k] = math.tointeger(v) or v
    end
  end
  if f.MemTotal == nil then return nil, "meminfo: no MemTotal" end
  local free = f.MemFree or 0
  return {
    total = f.MemTotal,
    available = f.MemAvailable or (free + (f.Buffers or 0) + (f.Cached or 0)),
    free = free,
    buffers = f.Buffers, cached = f.Cached,
    swap_total = f.SwapTotal or 0, swap_free = f.SwapFree or 0,
    fields = f,
  }
end
parse.mem = parse.meminfo

---------------------------------------------------------------------------------------------
-- disk: df -Pk

---@class drover.facts.Disk
---@field filesystem string
---@field size integer        bytes
---@field used integer
---@field available integer
---@field capacity integer    percent used, as df rounds it
---@field mount string

--- `df -Pk [PATH]`: one row per file system (sizes in bytes). Rows whose numbers df does not
--- know ("-") are left out.
---@param text string
---@return drover.facts.Disk[]?, string?
function parse.df(text)
  local bad = not_text(text, "df")
  if bad then return nil, bad end
  local ls = lines(text)
  if ls[1] == nil or not ls[1]:match("^Filesystem") then
    return nil, ("df: no header in %q"):format(text:sub(1, 100))
  end
  local rows = {}
  for i = 2, #ls do
    local fs, size, used, avail, cap, mount =
      ls[i]:match("^(.-)%s+(%d+)%s+(%d+)%s+(%d+)%s+(%d+)%%%s+(.+)$")
    if fs then
      rows[#rows + 1] = { filesystem = fs, size = tonumber(size) * 1024,
        used = tonumber(used) * 1024, available = tonumber(avail) * 1024,
        capacity = tonumber(cap) // 1, mount = mount }
    end
  end
  return rows
end
parse.disk = parse.df

---------------------------------------------------------------------------------------------
-- cpu: nproc, a SEPARATOR line, /proc/cpuinfo

---@class drover.facts.Cpu
---@field count integer       processors this host's processes may use (nproc)
---@field processors integer  processors /proc/cpuinfo lists
---@field model? string       "model name" (x86), "Model"/"Processor"/"cpu" elsewhere
---@field vendor? string

--- The cpu fact's output.
---@param text string
---@return drover.facts.Cpu?, string?
function parse.cpu(text)
  local bad = not_text(text, "cpu")
  if bad then return nil, bad end
  local n, info = split_parts(text)
  if n == nil then return nil, "cpu: no separator between nproc and cpuinfo" end
  local processors, model, vendor, board, hw = 0, nil, nil, nil, nil
  for _, line in ipairs(lines(info)) do
    local k, v = line:match("^([^:]-)%s*:%s*(.-)%s*$")
    if k == "processor" and v:match("^%d+$") then processors = processors + 1
    elseif k == "model name" or k == "cpu model" then model = model or v
    elseif k == "vendor_id" or k == "vendor" then vendor = vendor or v
    elseif k == "Model" then board = board or v
    elseif k == "Hardware" or k == "cpu" or k == "Processor" then hw = hw or v end
  end
  local count = tonumber(n:match("^%s*(%d+)%s*$") or "")
  count = count and count // 1 or processors
  if count == 0 then return nil, "cpu: neither nproc nor cpuinfo counted a processor" end
  return { count = count, processors = processors, model = model or board or hw, vendor = vendor }
end

return parse

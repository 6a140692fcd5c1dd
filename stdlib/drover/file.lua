--- drover.file: files, directories and lines of files on the current host, by the state
--- they should be in. Each operation returns `{changed, diff, reason}` and does nothing when
--- the host is already so; in check mode (`drover run --check`) it reports what it would do
--- and predicts its effect for the operations after it. Writes go through sftp (atomic
--- replace) and `ssh.run`; `sudo = true` makes them as ssh.run's sudo does.
---
--- ```lua
--- local file = require "drover.file"
--- file.directory("/srv/app", { mode = "0755" })
--- file.present("/srv/app/app.conf", { content = "port = 8080\n", mode = "0640" })
--- file.line("/srv/app/app.conf", { line = "debug = false", pattern = "^debug%s*=" })
--- file.template("/srv/app/motd", { content = "Welcome to {{ name }}\n", vars = { name = "web" } })
--- file.absent("/srv/app/old.conf")
--- ```
local op = require "drover.op"
local facts = require "drover.facts"
local shell = require "drover.shell"
local core = require "drover.opcore"
local template = require "drover.template"

local file = {}

local type, error, pcall, tostring, ipairs, pairs, io = type, error, pcall, tostring, ipairs, pairs, io
local ssh, sftp = ssh, sftp

-- Paths are absolute: a relative one would depend on the login user's home.
local function absolute(path)
  if type(path) ~= "string" or path == "" then
    return "the path must be a non-empty string, got " .. (type(path) == "string" and '""' or type(path))
  end
  if path:sub(1, 1) ~= "/" then return ("the path must be absolute, got %q"):format(path) end
  if path:find("\n", 1, true) then return "the path must not contain a newline" end
  return nil
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "/"
end

local function run(cmd, opts)
  return ssh.run(cmd, { sudo = opts.sudo or nil })
end

-- Differences of mode, owner and group between `st` and what opts ask, as a list of words.
-- A state an earlier check-mode step predicted may not know its owner or group: then the
-- comparison is unknown (returned second).
local function attribute_changes(st, opts)
  local words, unknown = {}, nil
  local wanted = { mode = op.mode(opts.mode), owner = opts.owner, group = opts.group }
  for _, k in ipairs { "mode", "owner", "group" } do
    local want = wanted[k]
    if want and st[k] ~= want then
      if st[k] == nil then
        unknown = ("its %s after an earlier step is not known before that step runs"):format(k)
      else
        words[#words + 1] = ("%s %s -> %s"):format(k, st[k], want)
      end
    end
  end
  return words, unknown
end

-- chmod / chown for what attribute_changes found.
local function apply_attributes(path, opts, st)
  local q = shell.quote(path)
  local mode = op.mode(opts.mode)
  if mode and (st == nil or st.mode ~= mode) then run("chmod " .. mode .. " -- " .. q, opts) end
  local owner = opts.owner and (st == nil or st.owner ~= opts.owner) and opts.owner or nil
  local group = opts.group and (st == nil or st.group ~= opts.group) and opts.group or nil
  if owner or group then
    run("chown " .. shell.quote((owner or "") .. (group and (":" .. group) or "")) .. " -- " .. q, opts)
  end
end

-- What a file will be after the step: its old attributes with what opts set; its content
-- `content` (nil: unchanged, or `unknown`: not known).
local function predicted_file(st, opts, content, unknown)
  local h = ssh.current()
  local p = {
    type = "file",
    mode = op.mode(opts.mode) or (st and st.mode) or "0644",
    owner = opts.owner or (st and st.owner) or (not opts.sudo and h.user or nil),
    group = opts.group or (st and st.group) or nil,
    size = content and #content or (st and st.size),
    sha256 = content and core.sha256(content) or (st and st.sha256),
    content = content or (st and st.content),
    predicted = true,
  }
  if unknown and content == nil then p.size, p.sha256, p.content = nil, nil, nil end
  return p
end

-- The text of a local file, or an error naming it.
local function read_local(path, what)
  local f, err = io.open(path, "rb")
  if not f then error(("%s: cannot read %s"):format(what, err), 0) end
  local text = f:read("a")
  f:close()
  return text
end

-- The current content of a file on the host (a predicted one's if an earlier step set it).
-- Returns nil and why when it cannot be had.
local function content_of(path, st)
  if st.predicted and st.content ~= nil then return st.content end
  if st.predicted and st.sha256 == nil then
    return nil, "its content after an earlier step is not known"
  end
  local ok, text = pcall(sftp.read, path)
  if not ok then return nil, "cannot read it: " .. tostring(text) end
  -- a predicted file whose content an earlier step left alone: the host's, if it still is
  if st.predicted and core.sha256(text) ~= st.sha256 then
    return nil, "its content after an earlier step is not known"
  end
  return text
end

-- Shared by present and template: the content opts ask for (nil: any content).
local function wanted_content(path, opts)
  local given = (opts.content and 1 or 0) + (opts.source and 1 or 0) + (opts.template and 1 or 0)
  if given > 1 then error("give one of content, source and template", 0) end
  if opts.content then return opts.content end
  if opts.source then return read_local(opts.source, "source") end
  if opts.template then
    return template.render(read_local(opts.template, "template"), opts.vars, opts.template)
  end
  return nil
end

local present_options = {
  content = "text", source = "string", template = "string", vars = "table",
  mode = "mode", owner = "string", group = "string", backup = "boolean",
  sensitive = "boolean", sudo = "boolean",
}

local function present_read(path)
  local st = facts.file(path)
  local parent = st == nil and facts.file(dirname(path)) or nil
  return { st = st, parent = parent }
end

local function present_plan(path, opts, cur, content)
  local st = cur.st
  if st == nil and (cur.parent == nil or cur.parent.type ~= "directory") then
    local after = facts.uncertainty("file")
    if after then
      return { reason = "created", unknown = ("directory %s does not exist yet (%s may make it)")
        :format(dirname(path), after) }
    end
    error(("directory %s does not exist (file.directory makes it)"):format(dirname(path)), 0)
  end
  if st and st.type ~= "file" then
    error(("%s is a %s, not a file"):format(path, st.type), 0)
  end
  local words, unknown, writes = {}, nil, false
  if st == nil then
    words[1], writes = "created", true
  elseif content ~= nil and st.sha256 ~= core.sha256(content) then
    if st.predicted and st.sha256 == nil then
      unknown = "its content after an earlier step is not known before that step runs"
    end
    words[#words + 1], writes = "content changed", true
  end
  if st then
    local attr, why = attribute_changes(st, opts)
    for _, w in ipairs(attr) do words[#words + 1] = w end
    unknown = unknown or why
  end
  if #words == 0 and not unknown then return nil end
  local change = {
    reason = table.concat(words, ", "), unknown = unknown, sensitive = opts.sensitive,
    content = writes and (content or "") or nil,
  }
  if writes and core.mode().diff then
    local old
    if st and not opts.sensitive then old = content_of(path, st) end
    change.diff = { old = old, new = change.content }
  end
  return change
end

local function present_apply(path, opts, change, cur)
  local st = cur.st
  if change.content ~= nil then
    if opts.backup and st then
      local q = shell.quote(path)
      run(("cp -p -- %s %s"):format(q, shell.quote(path .. "." .. os.date("!%Y%m%dT%H%M%SZ") .. "~")), opts)
    end
    -- (a replaced file keeps its mode; through sudo, its owner and group too)
    local keep = opts.sudo and st or nil
    sftp.write(path, change.content, {
      mode = op.mode(opts.mode) or (st and st.mode) or nil,
      owner = opts.owner or (keep and keep.owner), group = opts.group or (keep and keep.group),
      sudo = opts.sudo, skip_same = false,
    })
  else
    apply_attributes(path, opts, st)
  end
end

local function present_predict(path, opts, change, cur)
  facts.predict("file", path, predicted_file(cur.st, opts, change.content))
end

local function file_facts(path)
  return { { "file", path } }
end

-- Template values whose names say they are secrets are hidden like the host's.
local function template_secrets(_, opts)
  local out = {}
  for k, v in pairs(opts.vars or {}) do
    if type(k) == "string" and type(v) == "string" then
      local n = k:lower()
      if n:find("pass") or n:find("secret") or n:find("token") or n:find("private") then
        out[#out + 1] = v
      end
    end
  end
  return out
end

--- A file with this content (`content`, a local `source` file, or a local `template` file
--- rendered with `vars`), mode, owner and group. Without any of content, source and
--- template, only creates an empty file if there is none. `backup = true` keeps the old
--- file as `PATH.<UTC time>~`; `sensitive = true` keeps its content out of diffs.
---@type fun(path: string, opts?: {content?: string|drover.Secret, source?: string, template?: string, vars?: table, mode?: string|integer, owner?: string, group?: string, backup?: boolean, sensitive?: boolean, sudo?: boolean}): drover.op.Result
file.present = op.define {
  module = "file", name = "present", options = present_options, target = absolute,
  read = present_read,
  plan = function(path, opts, cur) return present_plan(path, opts, cur, wanted_content(path, opts)) end,
  apply = present_apply, predict = present_predict, facts = file_facts, secrets = template_secrets,
}

local template_options = {}
for k, v in pairs(present_options) do
  if k ~= "template" then template_options[k] = v end
end

--- A file rendered from a template: `content` (the template text) or `source` (a local
--- template file), `{{ name }}` replaced by `vars.name`, else the host's inventory variable
--- `name` (`{{ a.b }}` looks into tables); a name defined nowhere is an error naming it.
--- The other options are file.present's.
---@type fun(path: string, opts: {content?: string|drover.Secret, source?: string, vars?: table, mode?: string|integer, owner?: string, group?: string, backup?: boolean, sensitive?: boolean, sudo?: boolean}): drover.op.Result
file.template = op.define {
  module = "file", name = "template", options = template_options, target = absolute,
  read = present_read,
  plan = function(path, opts, cur)
    local text = opts.content or (opts.source and read_local(opts.source, "source"))
    if text == nil then error("give the template as content or source", 0) end
    if opts.content and opts.source then error("give one of content and source", 0) end
    local rendered = template.render(text, opts.vars, opts.source or "template")
    return present_plan(path, opts, cur, rendered)
  end,
  apply = present_apply, predict = present_predict, facts = file_facts, secrets = template_secrets,
}

--- Nothing at `path`. A directory goes only with `recursive = true` (with all it holds).
---@type fun(path: string, opts?: {recursive?: boolean, sudo?: boolean}): drover.op.Result
file.absent = op.define {
  module = "file", name = "absent", options = { recursive = "boolean", sudo = "boolean" },
  target = absolute,
  read = function(path) return facts.file(path) end,
  plan = function(path, opts, st)
    if st == nil then return nil end
    if st.type == "directory" and not opts.recursive then
      error(path .. " is a directory: pass recursive = true to remove it with all it holds", 0)
    end
    return { reason = "removed " .. st.type }
  end,
  apply = function(path, opts, _, st)
    local flags = st.type == "directory" and "-rf" or "-f"
    run(("rm %s -- %s"):format(flags, shell.quote(path)), opts)
  end,
  predict = function(path) facts.predict("file", path, false) end,
  facts = file_facts,
}

--- A directory (with its missing parents), with this mode, owner and group.
---@type fun(path: string, opts?: {mode?: string|integer, owner?: string, group?: string, sudo?: boolean}): drover.op.Result
file.directory = op.define {
  module = "file", name = "directory", target = absolute,
  options = { mode = "mode", owner = "string", group = "string", sudo = "boolean" },
  read = function(path)
    local st = facts.file(path)
    -- the parents mkdir -p would make too (predicted along in check mode)
    local missing = {}
    if st == nil then
      local p = dirname(path)
      while p ~= "/" and p ~= "" and facts.file(p) == nil do
        missing[#missing + 1] = p
        p = dirname(p)
      end
    end
    return { st = st, missing = missing }
  end,
  plan = function(path, opts, cur)
    local st = cur.st
    if st == nil then return { reason = "created" } end
    if st.type ~= "directory" then error(("%s is a %s, not a directory"):format(path, st.type), 0) end
    local words, unknown = attribute_changes(st, opts)
    if #words == 0 and not unknown then return nil end
    return { reason = table.concat(words, ", "), unknown = unknown }
  end,
  apply = function(path, opts, _, cur)
    if cur.st == nil then
      run("mkdir -p -- " .. shell.quote(path), opts)
      apply_attributes(path, opts, facts.file(path))
    else
      apply_attributes(path, opts, cur.st)
    end
  end,
  predict = function(path, opts, _, cur)
    local h = ssh.current()
    -- (a new directory's mode comes from the host's umask: not known unless asked for)
    local base = { type = "directory", owner = not opts.sudo and h.user or nil, predicted = true }
    for _, p in ipairs(cur.missing) do facts.predict("file", p, base) end
    local st = cur.st or base
    facts.predict("file", path, {
      type = "directory", mode = op.mode(opts.mode) or st.mode, owner = opts.owner or st.owner,
      group = opts.group or st.group, predicted = true,
    })
  end,
  facts = function(path, _, cur)
    local out = { { "file", path } }
    for _, p in ipairs(cur.missing) do out[#out + 1] = { "file", p } end
    return out
  end,
}

-- Lines of `text` and whether it ended with a newline.
local function lines_of(text)
  local lines = {}
  for l in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  if text == "" then lines = {} end
  return lines
end

--- A line in a text file: with `pattern` (a Lua pattern), the last line matching it becomes
--- `line`; without a match (or a pattern), `line` is added at the end unless it is there.
--- A missing file is an error unless `create = true`. `sensitive = true` keeps the file out
--- of diffs.
---@type fun(path: string, opts: {line: string|drover.Secret, pattern?: string, create?: boolean, sensitive?: boolean, backup?: boolean, sudo?: boolean}): drover.op.Result
file.line = op.define {
  module = "file", name = "line", target = absolute,
  options = { line = "text", pattern = "string", create = "boolean", sensitive = "boolean",
    backup = "boolean", sudo = "boolean" },
  read = function(path, opts)
    if opts.line == nil then error("option 'line' is required", 0) end
    if opts.line:find("\n", 1, true) then error("option 'line' must be one line", 0) end
    if opts.pattern then
      local ok, err = pcall(string.find, "", opts.pattern)
      if not ok then error(("pattern %q is not a Lua pattern: %s"):format(opts.pattern, err), 0) end
    end
    local st = facts.file(path)
    -- (check mode, after a step that may write files unpredicted: a package's config file)
    local after = st == nil and facts.uncertainty("file")
    if after then
      return { st = nil, text = nil, why = ("%s does not exist yet (%s may make it)"):format(path, after) }
    end
    if st == nil then
      if not opts.create then error(path .. " does not exist (pass create = true to make it)", 0) end
      local parent = facts.file(dirname(path))
      if parent == nil or parent.type ~= "directory" then
        error(("directory %s does not exist (file.directory makes it)"):format(dirname(path)), 0)
      end
      return { st = nil, text = "" }
    end
    if st.type ~= "file" then error(("%s is a %s, not a file"):format(path, st.type), 0) end
    local text, why = content_of(path, st)
    return { st = st, text = text, why = why }
  end,
  plan = function(path, opts, cur)
    if cur.text == nil then
      return { reason = "line " .. (opts.pattern and "replaced or added" or "added"), unknown = cur.why }
    end
    local lines = lines_of(cur.text)
    local at
    if opts.pattern then
      for i = #lines, 1, -1 do
        if lines[i]:find(opts.pattern) then at = i break end
      end
    end
    local reason
    if cur.st == nil then
      lines[1], reason = opts.line, "created"
    elseif at then
      if lines[at] == opts.line then return nil end
      lines[at] = opts.line
      reason = "line " .. at .. " replaced"
    else
      for _, l in ipairs(lines) do if l == opts.line then return nil end end
      lines[#lines + 1] = opts.line
      reason = "line added"
    end
    local new = table.concat(lines, "\n") .. "\n"
    return { reason = reason, content = new, sensitive = opts.sensitive,
      diff = { old = cur.st and cur.text or nil, new = new } }
  end,
  apply = function(path, opts, change, cur)
    present_apply(path, { backup = opts.backup, sudo = opts.sudo }, change, cur)
  end,
  predict = function(path, opts, change, cur)
    facts.predict("file", path, predicted_file(cur.st, { sudo = opts.sudo }, change.content, change.unknown))
  end,
  facts = file_facts,
}

return file

--- drover.command: a command that makes a change, made idempotent by what it leaves behind:
--- `creates` (a path: the command is not run when it exists) and `unless` (a test command:
--- not run when it succeeds; it runs in check mode too, so it must only look). A command that
--- runs counts as changed. In check mode it does not run: its result is `changed =
--- "unknown"`, because what a command does cannot be predicted.
---
--- ```lua
--- local command = require "drover.command"
--- command.run("tar -xzf /tmp/app.tgz -C /srv/app", { creates = "/srv/app/bin/app" })
--- command.run("useradd -r app", { unless = "id app", sudo = true })
--- ```
local op = require "drover.op"
local facts = require "drover.facts"

local command = {}

local ssh, secret, type = ssh, secret, type

local function run_options(opts)
  return {
    sudo = opts.sudo, user = opts.user, cwd = opts.cwd, env = opts.env, timeout = opts.timeout,
  }
end

--- Runs `cmd` unless `creates` exists or `unless` succeeds (`sudo`, `user`, `cwd`, `env` and
--- `timeout` as ssh.run's, for both). The result's `result` is the command's (ssh.run's).
---@type fun(cmd: string|drover.Secret, opts?: {creates?: string, unless?: string, sudo?: boolean, user?: string, cwd?: string, env?: table<string, string>, timeout?: number}): drover.op.Result
command.run = op.define {
  module = "command", name = "run",
  -- (a command holding a secret, `"mysql -p" .. pw`, is a secret: shown as <secret>)
  target = function(cmd)
    if secret.is(cmd) then return nil end
    if type(cmd) ~= "string" or cmd == "" then
      return "the command must be a non-empty string or a secret, got "
        .. (type(cmd) == "string" and '""' or type(cmd))
    end
  end,
  options = { creates = "string", unless = "string", sudo = "boolean", user = "string",
    cwd = "string", env = "table", timeout = "number" },
  read = function(_, opts)
    if opts.creates then
      local st = facts.file(opts.creates)
      if st ~= nil then return { done = opts.creates .. " exists" } end
    end
    if opts.unless then
      local o = run_options(opts)
      o.check = false
      local r = ssh.run(opts.unless, o)
      if r.ok then return { done = "`" .. opts.unless .. "` succeeded" } end
    end
    return {}
  end,
  plan = function(_, _, cur)
    if cur.done then return nil end
    return { reason = "ran", unknown = "would run; what it changes is not predicted" }
  end,
  apply = function(cmd, opts)
    return ssh.run(cmd, run_options(opts))
  end,
  -- whatever the command did, no file fact of this host is known any more
  facts = function() return { { "file", nil } } end,
}

return command

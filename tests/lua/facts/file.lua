-- needs: sshd
-- facts.file against the sshd fixture (on this machine, so the local stat is the truth): every
-- type, absent paths, odd names, errors; the cache (a second read makes no remote command, a
-- change on the host stays unseen until invalidate), predict (check mode's overlay, with
-- paths below a predicted-absent directory absent too) and invalidate of a tree.
local check = require "check"
local fx = require "fixture"
local facts = require "drover.facts"

local h = fx.host()
local dir = fx.remote_dir(h)

-- every remote command of the facts goes through ssh.run: count them
local real_run, commands = ssh.run, 0
ssh.run = function(...) commands = commands + 1; return real_run(...) end

local function local_stat(path)
  local a, u, g, s = fx.sh("stat -c '%a %u %g %s' -- " .. fx.q(path)):match("(%d+) (%d+) (%d+) (%d+)")
  return ("%04o"):format(tonumber(a, 8)), tonumber(u), tonumber(g), tonumber(s)
end

check.raises("facts.file: no current host", facts.file, "/etc/passwd")

ssh.with(h, function()
  local user = os.getenv("DROVER_TEST_SSH_USER")
  -- a regular file the login user owns
  local path = dir .. "/app.conf"
  h:write(path, "listen 8080\n")
  h:chmod(path, "0640")
  local f = facts.file(path)
  local mode, uid, gid, size = local_stat(path)
  check.eq(f.type, "file"); check.eq(f.mode, "0640"); check.eq(f.mode, mode)
  check.eq(f.uid, uid); check.eq(f.gid, gid); check.eq(f.size, size); check.eq(f.size, 12)
  check.eq(f.owner, user)
  check.eq(f.sha256, fx.sha256(path))
  check.eq(commands, 1, "one command per fact")

  -- cached: the file changes on the host, the fact does not, and no command is made
  h:write(path, "listen 9090 # longer\n")
  local before = commands
  local again = facts.file(path)
  check.eq(again.size, 12, "cached value"); check.eq(again.sha256, f.sha256)
  check.eq(commands, before, "a cached read makes no remote command")
  -- the caller's table is a copy: changing it does not change the cache
  again.size = -1
  check.eq(facts.file(path).size, 12)
  facts.invalidate("file", path)
  local fresh = facts.file(path)
  check.eq(fresh.size, 21); check.eq(fresh.sha256, fx.sha256(path))
  check.eq(commands, before + 1)
  -- the same path spelled with doubled or trailing slashes is the same key
  check.eq(facts.file(dir .. "//app.conf").size, 21); check.eq(commands, before + 1)

  -- a directory, a link, something else, an absent path (cached as absent too)
  local d = facts.file(dir .. "/")
  check.eq(d.type, "directory"); check.eq(d.sha256, nil); check.eq(d.mode, (local_stat(dir)))
  h:run("ln -s app.conf " .. dir .. "/link")
  local l = facts.file(dir .. "/link")
  check.eq(l.type, "link"); check.eq(l.target, "app.conf"); check.eq(l.mode, "0777")
  check.eq(l.sha256, nil)
  local n = facts.file("/dev/null")
  check.eq(n.type, "other"); check.eq(n.kind, "character special file"); check.eq(n.owner, "root")
  check.eq(facts.file(dir .. "/missing"), nil)
  check.eq(facts.file(dir .. "/app.conf/below"), nil, "under a file: absent")
  before = commands
  check.eq(facts.file(dir .. "/missing"), nil); check.eq(commands, before, "absence is cached")

  -- a name a shell would mangle
  local odd = dir .. "/it's $(odd) name\\x"
  h:write(odd, "x")
  local o = facts.file(odd)
  check.eq(o.size, 1)
  check.eq(o.sha256, (fx.sh("sha256sum < " .. fx.q(odd)):sub(1, 64)))

  -- errors: what is not "absent" raises, naming the fact, the path and the host
  h:run("mkdir " .. dir .. "/closed && touch " .. dir .. "/closed/secret && chmod 000 " .. dir .. "/closed")
  local e = check.raises("facts.file(" .. dir .. "/closed/secret) on ", facts.file, dir .. "/closed/secret")
  check.eq(e:find("Permission denied", 1, true) ~= nil, true, e)
  check.eq(e:find(h.name, 1, true) ~= nil, true, e)
  h:run("chmod 700 " .. dir .. "/closed")
  check.raises("facts.file: path must be a non-empty string", facts.file, "")
  check.raises("facts.file: path must be a non-empty string", facts.file, 42)
  check.raises("facts: no fact named nope", facts.get, "nope", "x")

  -- predict: check mode's overlay answers without asking the host
  before = commands
  facts.predict("file", dir .. "/new", { type = "directory", mode = "0755", owner = user })
  check.eq(facts.file(dir .. "/new").type, "directory")
  facts.predict("file", dir .. "/app.conf", false)
  check.eq(facts.file(dir .. "/app.conf"), nil, "predicted absent")
  check.eq(facts.file(dir .. "/app.conf/x"), nil, "under a predicted-absent path")
  facts.predict("file", dir .. "/gone", false)
  check.eq(facts.file(dir .. "/gone/deep/file"), nil, "deep under a predicted-absent directory")
  check.eq(commands, before, "predictions need no remote command")
  check.raises("value for file", facts.predict, "file", dir .. "/x", nil)
  -- the host itself never changed
  check.eq(fx.read(path), "listen 9090 # longer\n")

  -- invalidate a tree: the path and everything cached below it
  check.eq(facts.file(dir .. "/new/sub"), nil)  -- asks the host (the parent is predicted a directory)
  check.eq(commands, before + 1)
  facts.invalidate("file", dir)
  before = commands
  check.eq(facts.file(dir .. "/app.conf").size, 21, "the prediction went with the tree")
  check.eq(facts.file(dir .. "/new"), nil)
  check.eq(commands, before + 2)
  -- invalidate without a key: every path
  facts.invalidate("file")
  facts.file(dir .. "/app.conf")
  check.eq(commands, before + 3)
end)

-- through sudo: a file only another user may see (drover-test may sudo, without a password,
-- to drover-nopass-target; scripts/setup.sh), one cache with the login user's reads
ssh.with(h, function()
  local target = "drover-nopass-target"
  local private = fx.scratch_dir("private")
  fx.sh(("chmod 755 %s && echo secret-ish > %s/f && chown -R %s %s && chmod 700 %s"):format(
    fx.q(fx.scratch()), fx.q(private), target, fx.q(private), fx.q(private)))
  local path = private .. "/f"
  check.raises("Permission denied", facts.file, path)
  local via = { sudo = true, user = target }
  local before = commands
  local f = facts.file(path, via)
  check.eq(f.owner, target); check.eq(f.size, 11); check.eq(f.sha256, fx.sha256(path))
  check.eq(facts.file(path).sha256, f.sha256, "the login user's read is served from the cache")
  check.eq(commands, before + 1)
  check.raises("facts.file: unknown option 'sudoo'", facts.file, path, { sudoo = true })
  check.raises("facts.file: option 'user' must be a string", facts.file, path, { sudo = true, user = 1 })
  check.raises("facts.os: options must be a table", facts.os, true)
end)

-- tasks asking for the same fact at once make one command; a failed read is not cached and
-- every waiter sees its own error
ssh.with(h, function()
  local path = dir .. "/together"
  h:write(path, "same")
  local before = commands
  local hs = {}
  for i = 1, 5 do hs[i] = task.spawn(function() return facts.file(path).sha256 end) end
  for i = 1, 5 do check.eq(hs[i]:join(), fx.sha256(path)) end
  check.eq(commands, before + 1, "one command for five tasks at once")
  h:run("mkdir " .. dir .. "/shut && touch " .. dir .. "/shut/x && chmod 000 " .. dir .. "/shut")
  local errs = {}
  for i = 1, 3 do
    errs[i] = task.spawn(function() return pcall(facts.file, dir .. "/shut/x") end)
  end
  for i = 1, 3 do
    local ok, e = errs[i]:join()
    check.eq(ok, false); check.eq(tostring(e):find("Permission denied", 1, true) ~= nil, true, tostring(e))
  end
  h:run("chmod 700 " .. dir .. "/shut")
end)

-- needs: sshd
-- Every file operation against the sshd fixture, twice: the first run changes the host
-- (checked there: sshd is this machine), the second finds it so and changes nothing.
local check = require "check"
local fx = require "fixture"
local file = require "drover.file"
local h = fx.host()
local dir = fx.remote_dir(h)

ssh.with(h, function()
  local twice = check.twice

  -- directory, with its missing parents
  local d = dir .. "/srv/app"
  local r = twice("file.directory", function() return file.directory(d, { mode = "0750" }) end, function()
    check.eq(fx.sh("stat -c %a " .. fx.q(d)), "750\n")
  end)
  check.eq(r.reason, "created")
  twice("file.directory mode", function() return file.directory(d, { mode = "0755" }) end, function()
    check.eq(fx.sh("stat -c %a " .. fx.q(d)), "755\n")
  end)

  -- present: content, then mode, then content from a local source with a backup
  local conf = d .. "/app.conf"
  r = twice("file.present", function() return file.present(conf, { content = "port = 8080\n", mode = "0640" }) end,
    function()
      check.eq(fx.read(conf), "port = 8080\n")
      check.eq(fx.sh("stat -c %a:%U " .. fx.q(conf)), "640:" .. h.user .. "\n")
    end)
  check.eq(r.reason, "created")
  r = twice("file.present mode only", function() return file.present(conf, { mode = "0600" }) end, function()
    check.eq(fx.sh("stat -c %a " .. fx.q(conf)), "600\n")
    check.eq(fx.read(conf), "port = 8080\n")
  end)
  check.eq(r.reason, "mode 0640 -> 0600")
  local src = fx.local_dir() .. "/app.conf"
  fx.write(src, "port = 9090\n")
  r = twice("file.present source", function() return file.present(conf, { source = src, backup = true }) end,
    function()
      check.eq(fx.read(conf), "port = 9090\n")
      check.eq(fx.sh("stat -c %a " .. fx.q(conf)), "600\n", "the mode stays")
      local backups = fx.sh("ls " .. fx.q(d) .. " | grep -c '^app.conf\\..*~$'")
      check.eq(backups, "1\n", "one backup")
    end)
  check.eq(r.reason, "content changed")
  -- owner and group already right: nothing to do
  check.eq(file.present(conf, { owner = h.user, group = h.user }).changed, false)

  -- line: add, replace a pattern's match, then found
  twice("file.line add", function() return file.line(conf, { line = "debug = true" }) end, function()
    check.eq(fx.read(conf), "port = 9090\ndebug = true\n")
  end)
  r = twice("file.line replace", function() return file.line(conf, { line = "debug = false", pattern = "^debug%s*=" }) end,
    function() check.eq(fx.read(conf), "port = 9090\ndebug = false\n") end)
  check.eq(r.reason, "line 2 replaced")
  twice("file.line create", function() return file.line(d .. "/new.list", { line = "one", create = true }) end,
    function() check.eq(fx.read(d .. "/new.list"), "one\n") end)

  -- template over given values and host variables (ssh.connect hosts have none: values only)
  local motd = d .. "/motd"
  twice("file.template", function()
    return file.template(motd, { content = "Welcome to {{ site.name }} on port {{ port }}\n",
      vars = { site = { name = "web" }, port = 8080 } })
  end, function() check.eq(fx.read(motd), "Welcome to web on port 8080\n") end)
  local tpl = fx.local_dir() .. "/motd.tmpl"
  fx.write(tpl, "Hello {{ who }}\n")
  twice("file.present template", function() return file.present(motd, { template = tpl, vars = { who = "ops" } }) end,
    function() check.eq(fx.read(motd), "Hello ops\n") end)

  -- absent: a file, then a tree (recursive only)
  twice("file.absent", function() return file.absent(motd) end, function()
    check.eq(fx.read(motd), nil)
  end)
  local e = check.raises("pass recursive = true", file.absent, d)
  check.eq(e:find("file.absent " .. d, 1, true) ~= nil, true, e)
  twice("file.absent recursive", function() return file.absent(dir .. "/srv", { recursive = true }) end, function()
    check.eq(fx.sh("test -e " .. fx.q(dir .. "/srv") .. " && echo there || echo gone"), "gone\n")
  end)
end)

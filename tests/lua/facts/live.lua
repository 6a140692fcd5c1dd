-- needs: sshd
-- Every fact against the sshd fixture, checked against what this machine says locally (the
-- sshd runs here): os, pkg, service (an init script the test creates and removes), user,
-- group, mem, disk, cpu. Each first read is one remote command, a second read none; facts
-- are cached per host; pkg predictions and invalidation.
local check = require "check"
local fx = require "fixture"
local facts = require "drover.facts"

local real_run, commands = ssh.run, 0
ssh.run = function(...) commands = commands + 1; return real_run(...) end
local function trim(s) return (s:gsub("%s+$", "")) end
-- reads `fn()` once (one command) and again (none); returns the value
local function once(what, fn, ...)
  local before = commands
  local v = fn(...)
  check.eq(commands, before + 1, what .. ": one remote command")
  fn(...)
  check.eq(commands, before + 1, what .. ": cached")
  return v
end

local h = fx.host()
ssh.with(h, function()
  -- os
  local os_ = once("os", facts.os)
  local function release(key)
    return trim(fx.sh(". /etc/os-release && printf '%s' \"$" .. key .. "\""))
  end
  check.eq(os_.id, release("ID")); check.eq(os_.version_id, release("VERSION_ID"))
  check.eq(os_.pretty_name, release("PRETTY_NAME"))
  check.eq(os_.kernel, trim(fx.sh("uname -r"))); check.eq(os_.arch, trim(fx.sh("uname -m")))
  check.eq(os_.kernel_name, "Linux")

  -- pkg: the list compared with dpkg's, read before and after (other tests may install
  -- packages meanwhile): every package both agree on is there with that version
  check.eq(fx.sh("command -v dpkg-query") ~= "", true, "this machine has dpkg")
  local function local_pkgs()
    local out = {}
    for st, name, ver in fx.sh("dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Version}\\n'")
        :gmatch("(%S+)%s*\t([^\t]+)\t([^\n]*)\n") do
      if st:sub(2, 2):match("[iUFWt]") and ver ~= "" then out[name] = ver end
    end
    return out
  end
  local l1 = local_pkgs()
  local all = once("pkg", facts.pkg)
  local l2 = local_pkgs()
  local agreed = 0
  for name, ver in pairs(l1) do
    if l2[name] == ver then
      check.eq(all[name] and all[name].version, ver, "package " .. name)
      agreed = agreed + 1
    end
  end
  check.eq(agreed > 100, true, "packages compared: " .. agreed)
  for name in pairs(all) do
    if not name:find(":", 1, true) then
      check.eq(l1[name] ~= nil or l2[name] ~= nil, true, "no invented package " .. name)
    end
  end
  local before = commands
  check.eq(facts.pkg_manager(), "dpkg")
  check.eq(facts.pkg("openssh-server").version, l2["openssh-server"])
  check.eq(facts.pkg("drover-no-such-package"), nil)
  check.eq(commands, before, "single packages come from the cached list")
  -- predictions show in single reads and in the list
  facts.predict("pkg", "drover-predicted", { version = "1.0" })
  facts.predict("pkg", "openssh-server", false)
  check.eq(facts.pkg("drover-predicted").version, "1.0")
  check.eq(facts.pkg("openssh-server"), nil)
  local predicted = facts.pkg()
  check.eq(predicted["drover-predicted"].version, "1.0"); check.eq(predicted["openssh-server"], nil)
  check.eq(commands, before)
  -- invalidating one package drops the list (a change may have touched others)
  facts.invalidate("pkg", "openssh-server")
  check.eq(facts.pkg("openssh-server").version, l2["openssh-server"])
  check.eq(commands, before + 1)
  check.eq(facts.pkg("drover-predicted").version, "1.0", "other predictions stay")

  -- user, group
  local user = os.getenv("DROVER_TEST_SSH_USER")
  local u = once("user", facts.user, user)
  local pw = {}
  for field in trim(fx.sh("getent passwd " .. fx.q(user))):gmatch("([^:]*):?") do pw[#pw + 1] = field end
  check.eq(u.name, user); check.eq(u.uid, tonumber(pw[3])); check.eq(u.gid, tonumber(pw[4]))
  check.eq(u.home, pw[6]); check.eq(u.shell, pw[7])
  check.eq(table.concat(u.groups, " "), trim(fx.sh("id -Gn " .. fx.q(user))))
  check.eq(once("absent user", facts.user, "drover-no-such-user"), nil)
  local root = facts.user("root")
  check.eq(root.uid, 0); check.eq(root.home, trim(fx.sh("getent passwd root | cut -d: -f6")))
  local g = once("group", facts.group, "root")
  check.eq(g.gid, 0); check.eq(g.name, "root")
  local own = facts.group(user)
  check.eq(own.gid, tonumber(trim(fx.sh("getent group " .. fx.q(user) .. " | cut -d: -f3"))))
  check.eq(once("absent group", facts.group, "drover-no-such-group"), nil)
  check.raises("facts.user: user name \"-rf\" is not a valid name", facts.user, "-rf")
  check.raises("facts.group: group name must be a non-empty string", facts.group, nil)

  -- mem
  local m = once("mem", facts.mem)
  check.eq(m.total, tonumber(fx.sh("awk '/^MemTotal:/ {print $2}' /proc/meminfo")) * 1024)
  check.between(m.available, 1, m.total, "available")

  -- disk: the file system of a directory, every row, an absent path
  local dir = fx.remote_dir(h)
  local d = once("disk", facts.disk, dir)
  local fs, size, mount = fx.sh("df -Pk -- " .. fx.q(dir) .. " | tail -n 1")
    :match("^(.-)%s+(%d+)%s+%d+%s+%d+%s+%d+%%%s+(.-)%s*$")
  check.eq(d.filesystem, fs); check.eq(d.mount, mount); check.eq(d.size, tonumber(size) * 1024)
  check.between(d.capacity, 0, 100, "capacity")
  local rows = once("disk rows", facts.disk)
  check.eq(#rows, tonumber(trim(fx.sh("df -Pk | tail -n +2 | grep -c '%'"))))
  check.eq(once("absent disk", facts.disk, dir .. "/none"), nil)

  -- cpu
  local c = once("cpu", facts.cpu)
  check.eq(c.count, tonumber(fx.sh("nproc")))
  check.eq(c.processors, tonumber(fx.sh("grep -c '^processor' /proc/cpuinfo")))
  check.eq(c.model, trim(fx.sh("grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'")))

  -- service: an init script made for the test, stopped, then "running" (its status says
  -- so when its pid file exists), enabled by a runlevel link; removed at the end
  local systemd = fx.sh("[ -d /run/systemd/system ] && echo yes || true") ~= ""
  local name = ("drover-facts-test-%d"):format(math.random(1 << 30))
  local pidfile = fx.scratch() .. "/" .. name .. ".pid"
  local made = {}
  local ok, err = pcall(function()
    if systemd then
      -- where systemd runs: a unit under /run (gone at reboot)
      made = { "/run/systemd/system/" .. name .. ".service" }
      fx.write(made[1], ("[Service]\nExecStart=/bin/sleep 600\n[Install]\nWantedBy=multi-user.target\n"))
      fx.sh("systemctl daemon-reload")
    else
      made = { "/etc/init.d/" .. name, "/etc/rc2.d/S01" .. name }
      fx.write(made[1], ("#!/bin/sh\ncase \"$1\" in status) [ -f %s ] && exit 0; exit 3;; esac\n")
        :format(fx.q(pidfile)))
      fx.sh("chmod 755 " .. fx.q(made[1]))
    end
    local s = once("service", facts.service, name)
    check.eq(s.manager, systemd and "systemd" or "sysv")
    check.eq(s.exists, true); check.eq(s.active, false); check.eq(s.enabled, false)
    if systemd then
      fx.sh("systemctl enable --now " .. name)
    else
      fx.write(pidfile, "1\n")
      fx.sh("ln -s ../init.d/" .. name .. " " .. fx.q(made[2]))
    end
    check.eq(facts.service(name).active, false, "cached until invalidated")
    facts.invalidate("service", name)
    s = facts.service(name)
    check.eq(s.active, true); check.eq(s.enabled, true)
    local absent = facts.service(name .. "-absent")
    check.eq(absent.exists, false); check.eq(absent.active, false)
  end)
  if systemd then fx.sh("systemctl disable --now " .. name .. " || true") end
  for i = #made, 1, -1 do os.remove(made[i]) end
  if systemd then fx.sh("systemctl daemon-reload") end
  os.remove(pidfile)
  if not ok then error(err, 0) end
  check.eq(fx.read("/etc/init.d/" .. name), nil, "the test's service is gone")
  check.raises("facts.service: service name \"a/b\" is not a valid name", facts.service, "a/b")
end)

-- caches are per host: another host (a name of its own, same machine) asks again
local h2 = fx.host({ name = "second" })
local before = commands
ssh.with(h2, function() check.eq(facts.os().id, (fx.sh(". /etc/os-release && printf %s \"$ID\""))) end)
check.eq(commands, before + 1, "another host has its own cache")
ssh.with(h, facts.os)
check.eq(commands, before + 1, "the first host's cache is still there")

-- needs: sshd
-- time-limit: 60
-- pkg.installed and pkg.removed with the real apt-get, as root on the sshd fixture, on
-- packages the test builds with dpkg-deb (a flat repository of its own), twice each: the
-- first run changes the host (dpkg says so, the package's file is there), the second finds
-- it so and runs no package manager command (apt's history.log says which runs there were:
-- a list is one run). A package the index does not have is an error naming it with apt's
-- words. Every package is purged at the end, pass or fail.
local check = require "check"
local fx = require "fixture"
local test_pkg = require "test_pkg"
local pkg = require "drover.pkg"
local facts = require "drover.facts"

local t = test_pkg.create("twice", 3)
local a, b, c = t.names[1], t.names[2], t.names[3]
local h = fx.host { user = "root" }

local ok, err = pcall(ssh.with, h, function()
  check.eq(h:run("id -u").stdout, "0\n", "logged in as root")
  check.eq(facts.pkg_manager(), "dpkg")
  t.write_list()
  local apt = t.apt_options

  -- one package, pinned, from an index refreshed first
  local r = pkg.installed(a, { update = true, version = "1.0", apt_options = apt })
  check.eq(r.changed, true, "first install")
  check.eq(r.reason, "installed " .. a)
  check.eq(t.installed(a), true)
  check.eq(facts.pkg(a).version, "1.0", "the fact was read again")
  check.eq(#t.history(), 1, "one apt-get run")
  r = pkg.installed(a, { update = true, version = "1.0", apt_options = apt })
  check.eq(r.changed, false, "second install finds it")
  check.eq(#t.history(), 1, "and runs nothing")

  -- a list: the missing ones in one command
  r = pkg.installed({ a, b, c }, { apt_options = apt })
  check.eq(r.changed, true)
  check.eq(r.reason, ("installed %s, %s"):format(b, c))
  check.eq(r.check, false)
  check.eq(t.installed(b) and t.installed(c), true)
  local runs = t.history()
  check.eq(#runs, 2, "one more apt-get run for two packages: " .. table.concat(runs, "\n--\n"))
  check.eq(runs[2]:find(b, 1, true) ~= nil and runs[2]:find(c, 1, true) ~= nil, true, runs[2])
  check.eq(runs[2]:find(a, 1, true), nil, "the one already there is not in it: " .. runs[2])
  check.eq(pkg.installed({ c, b, a, b }, { apt_options = apt }).changed, false, "all there (a duplicate is one)")
  check.eq(#t.history(), 2)

  -- removed: a list in one command, then purge
  r = pkg.removed({ a, b }, { apt_options = apt })
  check.eq(r.changed, true)
  check.eq(r.reason, ("removed %s, %s"):format(a, b))
  check.eq(t.installed(a) or t.installed(b), false)
  check.eq(t.installed(c), true, "the other stays")
  check.eq(facts.pkg(a), nil)
  check.eq(#t.history(), 3)
  check.eq(pkg.removed({ a, b }, { apt_options = apt }).changed, false)
  check.eq(pkg.removed(c, { purge = true, apt_options = apt }).changed, true)
  check.eq(t.installed(c), false)
  check.eq(pkg.removed(c, { purge = true, apt_options = apt }).changed, false)
  runs = t.history()
  check.eq(#runs, 4, table.concat(runs, "\n--\n"))
  check.eq(runs[4]:find("Purge: " .. c, 1, true) ~= nil, true, runs[4])

  -- errors: a package not in the index names it and says what apt said
  local none = a:gsub("%-1$", "-none")
  local e = check.raises("apt-get install failed for " .. none .. " (exit 100)", pkg.installed, none, { apt_options = apt })
  check.eq(e:find("pkg.installed " .. none .. " on ", 1, true) ~= nil, true, e)
  check.eq(e:find("Unable to locate package " .. none, 1, true) ~= nil, true, e)
  check.raises("pkg.installed: package 2 (\"-y\") is not a package name", pkg.installed, { a, "-y" })
  check.raises("pkg.installed: no package named", pkg.installed, {})
  check.raises("pkg.installed: option 'version' pins one package, got 2", pkg.installed, { a, b }, { version = "1" })
  local line
  e = check.raises("pkg.removed: unknown option 'update'", function()
    line = debug.getinfo(1, "l").currentline + 1
    local res = pkg.removed(a, { update = true })
    return res
  end)
  check.eq(e:find("pkg_twice.lua:" .. line .. ":", 1, true) ~= nil, true, "at the caller's line: " .. e)
  e = check.raises("pkg.installed: package 1 (table) is not a package name", function()
    line = debug.getinfo(1, "l").currentline + 1
    local res = pkg.installed({ {} })
    return res
  end)
  check.eq(e:find("pkg_twice.lua:" .. line .. ":", 1, true) ~= nil, true, "at the caller's line: " .. e)
  check.raises("pkg.installed: option 'extra_args' must be a list of strings", pkg.installed, a, { extra_args = "x" })
end)
t.remove()
if not ok then error(err, 0) end

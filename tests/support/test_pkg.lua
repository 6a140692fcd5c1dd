-- Throw-away Debian packages for the pkg operation tests: `drover-test-pkg-<tag>-<pid>-<i>`,
-- version 1.0, each installing /usr/share/<name>/hello, built with dpkg-deb into a flat apt
-- repository of the test's own (dpkg-scanpackages). apt reads it through `apt_options` that
-- point apt at the test's own sources list, lists directory and no package cache, so the
-- machine's apt sources and lists are never touched; the packages themselves go into the
-- machine's real dpkg database (that is what is tested) and `remove()` purges them.
local fx = require "fixture"

local M = {}

--- Builds `n` packages; returns {names, repo, list (the sources list path, not written),
--- source (its line), apt_options, installed(name), history(), write_list(), remove()}.
function M.create(tag, n)
  local pid = fx.sh("echo $PPID"):match("%d+")
  local dir = fx.scratch_dir("pkg")
  local repo = dir .. "/repo"
  fx.sh(("mkdir -p %s %s %s"):format(fx.q(repo), fx.q(dir .. "/lists/partial"), fx.q(dir .. "/parts")))
  local t = { names = {}, repo = repo, list = dir .. "/drover-test.list" }
  for i = 1, n do
    local name = ("drover-test-pkg-%s-%s-%d"):format(tag, pid, i)
    local root = dir .. "/build/" .. name
    fx.sh(("mkdir -p %s/DEBIAN %s/usr/share/%s"):format(fx.q(root), fx.q(root), name))
    fx.write(root .. "/usr/share/" .. name .. "/hello", name .. "\n")
    fx.write(root .. "/DEBIAN/control", ("Package: %s\nVersion: 1.0\nArchitecture: all\n"
      .. "Maintainer: drover tests <tests@drover.invalid>\nDescription: drover test package\n"):format(name))
    fx.sh(("dpkg-deb --root-owner-group --build %s %s >/dev/null"):format(fx.q(root), fx.q(repo .. "/" .. name .. ".deb")))
    t.names[i] = name
  end
  fx.sh(("cd %s && dpkg-scanpackages --multiversion . /dev/null > Packages 2>/dev/null"):format(fx.q(repo)))
  t.source = ("deb [trusted=yes] file:%s ./\n"):format(repo)
  t.apt_options = {
    ["Dir::Etc::SourceList"] = t.list,
    ["Dir::Etc::SourceParts"] = dir .. "/parts",
    ["Dir::State::Lists"] = dir .. "/lists",
    ["Dir::Cache::pkgcache"] = "",
    ["Dir::Cache::srcpkgcache"] = "",
  }
  function t.write_list() fx.write(t.list, t.source) end
  --- Whether dpkg says `name` is installed (and its file is there).
  function t.installed(name)
    local status = fx.sh("dpkg-query -W -f='${db:Status-Abbrev}' " .. fx.q(name) .. " 2>/dev/null || true")
    local file = fx.read("/usr/share/" .. name .. "/hello")
    if status:match("^ii") then
      assert(file == name .. "\n", name .. " installed without its file")
      return true
    end
    assert(file == nil, name .. " not installed but its file is there")
    return false
  end
  --- apt's history of this test's packages: one string per apt-get run that named any,
  --- its package lines ("Install: ...", "Remove: ...").
  function t.history()
    local runs = {}
    local text = fx.read("/var/log/apt/history.log") or ""
    for block in (text .. "\n\n"):gmatch("(.-)\n\n") do
      if block:find("drover-test-pkg-" .. tag .. "-" .. pid .. "-", 1, true) then
        runs[#runs + 1] = block:match("\n(%u%l+: .*)$") or block
      end
    end
    return runs
  end
  -- (through apt-get, which waits for the dpkg lock another test's apt-get may hold)
  function t.remove()
    local left = {}
    for _, name in ipairs(t.names) do
      if fx.sh("dpkg-query -W -f='${db:Status-Abbrev}' " .. fx.q(name) .. " 2>/dev/null || true") ~= "" then
        left[#left + 1] = fx.q(name)
      end
    end
    if left[1] then
      fx.sh(("DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 -o Dir::Etc::SourceList=/dev/null "
        .. "-o Dir::Etc::SourceParts=%s -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= purge %s >/dev/null 2>&1 || true")
        :format(fx.q(dir .. "/parts"), table.concat(left, " ")))
    end
    for _, name in ipairs(t.names) do assert(not t.installed(name), name .. " still installed") end
  end
  return t
end

return M

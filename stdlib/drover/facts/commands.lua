--- drover.facts.commands: the one remote command of each fact (POSIX sh, run under `sh -c`),
--- what drover.facts.parse reads. Pure: key in, command line out.
local shell = require "drover.shell"
local parse = require "drover.facts.parse"

local commands = {}

--- What a command prints for something that does not exist (a path, user, group, mount).
commands.ABSENT = "drover-facts:absent"
local ABSENT, SEP = commands.ABSENT, parse.SEPARATOR

local DPKG_FORMAT = "${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\n"
local RPM_FORMAT = "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\t%{ARCH}\\n"

---@param path string
---@return string
function commands.file(path)
  local q = shell.quote(path)
  -- stat does not follow links; a regular file's sha256 follows; a link's target comes
  -- from readlink. "No such file" and "Not a directory" mean absent, other failures are
  -- errors (permission, stat missing).
  return table.concat({
    "LC_ALL=C; export LC_ALL",
    "out=$(stat -c '" .. parse.STAT_FORMAT .. "' -- " .. q .. " 2>&1) || { case $out in "
      .. "*'No such file or directory'*|*'Not a directory'*) echo " .. ABSENT .. "; exit 0;; "
      .. "esac; printf '%s\\n' \"$out\" >&2; exit 1; }",
    "printf '%s\\n' \"$out\"",
    "case $out in *'|symbolic link') readlink -- " .. q .. ";; "
      .. "*'|regular file'|*'|regular empty file') sha256sum -- " .. q .. ";; esac",
  }, "\n")
end

---@return string
function commands.os()
  return "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release; echo " .. SEP
    .. "; uname -srm"
end

---@return string
function commands.pkg()
  return table.concat({
    "if command -v dpkg-query >/dev/null 2>&1; then echo dpkg; exec dpkg-query -W -f='"
      .. DPKG_FORMAT .. "'",
    "elif command -v rpm >/dev/null 2>&1; then echo rpm; exec rpm -qa --qf '" .. RPM_FORMAT .. "'",
    "elif [ -f /lib/apk/db/installed ]; then echo apk; exec cat /lib/apk/db/installed",
    "else echo 'no dpkg, rpm or apk found' >&2; exit 127; fi",
  }, "\n")
end

---@param name string
---@return string
function commands.service(name)
  local unit = name:find("%.%a+$") and name or name .. ".service"
  local base = name:gsub("%.service$", "")
  local qb = shell.quote(base)
  return table.concat({
    "LC_ALL=C; export LC_ALL",
    "if [ -d /run/systemd/system ]; then echo manager=systemd; exec systemctl show --no-pager"
      .. " -p LoadState -p ActiveState -p SubState -p UnitFileState -- " .. shell.quote(unit),
    "elif [ -d /run/openrc ] && command -v rc-service >/dev/null 2>&1; then echo manager=openrc",
    "  if [ -f /etc/init.d/" .. qb .. " ]; then echo exists=yes; rc-service " .. qb
      .. " status >/dev/null 2>&1; echo status=$?; else echo exists=no; fi",
    "  for f in /etc/runlevels/*/" .. qb .. "; do [ -e \"$f\" ] && echo \"start=$f\"; done; true",
    "else echo manager=sysv",
    "  if [ -f /etc/init.d/" .. qb .. " ]; then echo exists=yes; /etc/init.d/" .. qb
      .. " status >/dev/null 2>&1 </dev/null; echo status=$?; else echo exists=no; fi",
    "  for f in /etc/rc[2345S].d/S[0-9][0-9]" .. qb .. "; do [ -e \"$f\" ] && echo \"start=$f\"; done; true",
    "fi",
  }, "\n")
end

---@param name string
---@return string
function commands.user(name)
  local q = shell.quote(name)
  -- getent exits 2 for "no such entry"
  return "getent passwd " .. q .. "; rc=$?; if [ $rc -eq 2 ]; then echo " .. ABSENT
    .. "; exit 0; fi; [ $rc -eq 0 ] || exit $rc; id -Gn " .. q
end

---@param name string
---@return string
function commands.group(name)
  return "getent group " .. shell.quote(name) .. "; rc=$?; if [ $rc -eq 2 ]; then echo "
    .. ABSENT .. "; exit 0; fi; exit $rc"
end

---@return string
function commands.mem()
  return "cat /proc/meminfo"
end

---@param path string?
---@return string
function commands.disk(path)
  local cmd = "LC_ALL=C; export LC_ALL; df -Pk"
  if path == nil then return cmd end
  local q = shell.quote(path)
  return cmd .. " -- " .. q .. " || { [ -e " .. q .. " ] || { echo " .. ABSENT
    .. "; exit 0; }; exit 1; }"
end

---@return string
function commands.cpu()
  return "nproc 2>/dev/null || getconf _NPROCESSORS_ONLN; echo " .. SEP .. "; cat /proc/cpuinfo"
end

return commands

-- A throw-away SysV service for the service operation tests: /etc/init.d/drover-test-svc-<pid>,
-- whose daemon is a `sleep` with its pidfile (and a log of starts) in a scratch directory;
-- status by the pidfile. `remove()` stops what it started (by PID), drops its rc links and
-- the script. Runs on this machine as root (the tests' sshd is this machine).
local fx = require "fixture"

local M = {}

local SCRIPT = [[
#!/bin/sh
### BEGIN INIT INFO
# Provides:          NAME
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: drover test service
### END INIT INFO
PIDFILE=DIR/svc.pid
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$1" in
  start) running && exit 0
    sleep 1000 >/dev/null 2>&1 </dev/null &
    echo $! > "$PIDFILE"; echo "$!" >> DIR/starts ;;
  stop) if running; then kill "$(cat "$PIDFILE")"; fi; rm -f "$PIDFILE" ;;
  restart) "$0" stop; "$0" start ;;
  status) running || exit 3 ;;
  *) echo "usage: $0 start|stop|restart|status" >&2; exit 2 ;;
esac
]]

--- Creates the service; returns {name, dir, pid() (the daemon's PID or nil), starts() (how
--- many times it was started), running() (by ps), links() (rc start links), remove()}.
function M.create(tag)
  local name = ("drover-test-svc-%s-%s"):format(tag, fx.sh("echo $PPID"):match("%d+"))
  local dir = fx.scratch_dir("svc")
  local path = "/etc/init.d/" .. name
  fx.write(path, (SCRIPT:gsub("NAME", name):gsub("DIR", dir)))
  fx.sh("chmod 0755 " .. fx.q(path))
  local s = { name = name, dir = dir, path = path }
  function s.pid() return (fx.read(dir .. "/svc.pid") or ""):match("%d+") end
  function s.starts()
    local n = 0
    for _ in (fx.read(dir .. "/starts") or ""):gmatch("%d+") do n = n + 1 end
    return n
  end
  function s.running()
    local pid = s.pid()
    return pid ~= nil and fx.sh("ps -o comm= -p " .. pid .. " || true"):match("sleep") ~= nil
  end
  function s.links()
    return fx.sh("ls /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d 2>/dev/null | grep -c -- " .. fx.q("^S..") .. fx.q(name) .. " || true")
      :match("%d+") + 0
  end
  function s.remove()
    -- every daemon it started, by PID (kill -0 first: only those still alive)
    for pid in (fx.read(dir .. "/starts") or ""):gmatch("%d+") do
      fx.sh(("kill -0 %s 2>/dev/null && kill %s; true"):format(pid, pid))
    end
    fx.sh("update-rc.d -f " .. fx.q(name) .. " remove >/dev/null 2>&1; rm -f " .. fx.q(path))
  end
  return s
end

return M

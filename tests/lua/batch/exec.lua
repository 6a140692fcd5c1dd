-- needs: sshd*10
-- time-limit: 60
-- drover exec across 10 sshd: all at once (10 × sleep 1 in well under 4 s), live output
-- prefixed per host, --forks bounds hosts in flight, --timeout marks only the slow host,
-- --gather groups and folds, --json parses line by line, exit codes.
local check = require "check"
local fx = require "fixture"
local inv = fx.inventory(10)
local i = "-i " .. fx.q(inv)

-- 10 hosts × sleep 1, concurrently
local t0 = task.now()
local code, out, err = fx.drover("exec " .. i .. " -g all -- 'sleep 1; echo hello from $(whoami)'")
local wall = task.now() - t0
check.eq(code, 0, err)
check.between(wall, 0.9, 4, "10 × sleep 1 wall time")
for n = 1, 10 do
  check.eq(out:find(("h%02d | hello from drover-test\n"):format(n), 1, true) ~= nil, true, out)
end
check.eq(err:find("== 10 hosts: 10 ok", 1, true) ~= nil, true, err)

-- stderr is marked, a failing host fails the run (exit 1) and is listed with its error
code, out, err = fx.drover("exec " .. i .. " -H h01,h02 -- 'echo oops >&2; exit 3'")
check.eq(code, 1)
check.eq(err:find("h01 ! oops", 1, true) ~= nil, true, err)
check.eq(err:find("h02 ! failed: command `echo oops >&2; exit 3` exited with code 3", 1, true) ~= nil, true, err)
check.eq(err:find("failed h[01-02] (2): command `echo oops >&2; exit 3` exited with code 3", 1, true) ~= nil, true, err)

-- --forks 3: never more than 3 hosts in flight (remote start/end times)
code, out, err = fx.drover("exec " .. i .. " --forks 3 -g all -- 'echo start $(date +%s%N); sleep 0.3; echo end $(date +%s%N)'")
check.eq(code, 0, err)
local peak, lines = fx.peak_in_flight(out)
check.eq(lines, 20, out)
check.between(peak, 1, 3, "hosts in flight with --forks 3")

-- --timeout marks only the slow host (h02's sshd port is the last word of SSH_CONNECTION)
local slow_port = os.getenv("DROVER_TEST_SSH2_PORT")
code, out, err = fx.drover("exec " .. i .. (" --timeout 2 -g all -- 'case \"$SSH_CONNECTION\" in *\" %s\") sleep 20;; esac; echo done'"):format(slow_port))
check.eq(code, 1)
check.eq(err:find("== 10 hosts: 9 ok, 1 timed_out", 1, true) ~= nil, true, err)
check.eq(err:find("timed_out h02", 1, true) ~= nil, true, err)

-- --gather: identical output grouped, headers folded, largest group first
code, out, err = fx.drover("exec " .. i .. (" -b -g all -- 'case \"$SSH_CONNECTION\" in *\" %s\") echo different;; *) echo same;; esac'"):format(slow_port))
check.eq(code, 0, err)
local first = out:find("h[01,03-10] (9)", 1, true)
local second = out:find("h02 (1)", 1, true)
check.eq(first ~= nil and second ~= nil and first < second, true, out)
check.eq(out:find("h[01,03-10] (9)\n---------------\nsame\n", 1, true) ~= nil, true, out)

-- --json: every line is one JSON object
code, out, err = fx.drover("exec " .. i .. " --json -H h01,h03 -- 'echo hi; exit 0'")
check.eq(code, 0, err)
local n_lines, finished = 0, 0
for line in out:gmatch("[^\n]+") do
  n_lines = n_lines + 1
  local ok = fx.sh("printf '%s' " .. fx.q(line) .. " | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e[\"event\"])'")
  if ok == "finished\n" then finished = finished + 1 end
end
check.eq(finished, 2, out)
check.eq(out:find('"event":"line","host":"h01","line":"hi","stream":"stdout"', 1, true) ~= nil, true, out)

-- usage errors exit 2 before any host runs
code, out, err = fx.drover("exec " .. i .. " -g nope -- true")
check.eq(code, 2); check.eq(err:find("group \"nope\" is not in", 1, true) ~= nil, true, err)

-- --sudo runs through non-interactive `sudo -n` (drover-test has no password-less sudo here,
-- so sudo refuses at once instead of waiting for a password)
code, out, err = fx.drover("exec " .. i .. " --sudo -H h01 -- id -un")
check.eq(code, 1)
check.eq(err:find("h01 ! sudo: a password is required", 1, true) ~= nil, true, err)

-- needs: sshd*2
-- time-limit: 60
-- --out-dir DIR: each host's stdout and stderr also go to DIR/<host>.out and .err (exec and
-- run); files are opened inside DIR without following symlinks, so a planted link is refused
-- and its target untouched; the terminal output is unchanged.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local i = " -i " .. fx.q(inv)
local function drover(args)
  local err = os.tmpname()
  local p = assert(io.popen(("XDG_STATE_HOME=%s %s %s 2>%s"):format(fx.q(dir .. "/state"),
    fx.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fx.read(err) or ""; os.remove(err)
  return code, out, e
end

local out_dir = dir .. "/out/nested"
local code, out, err = drover("exec" .. i .. " -g all --out-dir " .. fx.q(out_dir)
  .. " 'echo one; echo two; echo oops >&2'")
check.eq(code, 0, err)
for _, h in ipairs { "h01", "h02" } do
  check.eq(fx.read(out_dir .. "/" .. h .. ".out"), "one\ntwo\n", h)
  check.eq(fx.read(out_dir .. "/" .. h .. ".err"), "oops\n", h)
  check.eq(out:find(h .. " | two", 1, true) ~= nil, true, out)
end
-- a host that prints nothing still gets (empty) files; a rerun truncates
code, out, err = drover("exec" .. i .. " -H h01 --out-dir " .. fx.q(out_dir) .. " true")
check.eq(code, 0, err)
check.eq(fx.read(out_dir .. "/h01.out"), "")
check.eq(fx.read(out_dir .. "/h01.err"), "")

-- run: what the script prints, per host
local script = dir .. "/hello.lua"
fx.write(script, 'print("hello from " .. host.name)\n')
local run_dir = dir .. "/run-out"
code, out, err = drover("run " .. fx.q(script) .. i .. " -g all --out-dir " .. fx.q(run_dir))
check.eq(code, 0, err)
check.eq(fx.read(run_dir .. "/h02.out"), "hello from h02\n")

-- a symlink planted in DIR is not followed
local victim = dir .. "/victim.txt"
fx.write(victim, "untouched\n")
fx.sh(("ln -sf %s %s"):format(fx.q(victim), fx.q(out_dir .. "/h02.out")))
code, out, err = drover("exec" .. i .. " -g all --out-dir " .. fx.q(out_dir) .. " 'echo again'")
check.eq(code, 0, err)
check.eq(fx.read(victim), "untouched\n")
check.eq(fx.read(out_dir .. "/h01.out"), "again\n")
check.eq(err:find("--out-dir: cannot write h02.out", 1, true) ~= nil, true, err)

-- a DIR that cannot be made is a usage error, before anything runs
fx.write(dir .. "/plain", "x")
code, out, err = drover("exec" .. i .. " -g all --out-dir " .. fx.q(dir .. "/plain/sub") .. " true")
check.eq(code, 2, err)
check.eq(err:find("--out-dir " .. dir .. "/plain/sub:", 1, true) ~= nil, true, err)

-- needs: sshd*2
-- time-limit: 90
-- Every run over hosts records the hosts that did not end ok in
-- $XDG_STATE_HOME/drover/failed (else ~/.local/state/drover/failed); -H @failed targets
-- them, -H @FILE and -H @- read host lists (blank lines and # comments skipped, a bad line
-- named FILE:LINE).
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local i = " -i " .. fx.q(inv)
local state = dir .. "/state"
local failed = state .. "/drover/failed"
local function drover(args, env)
  local err = os.tmpname()
  local p = assert(io.popen(("%s %s %s 2>%s"):format(env or ("XDG_STATE_HOME=" .. fx.q(state)),
    fx.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fx.read(err) or ""; os.remove(err)
  return code, out, e
end
-- fails on h02 only: the server port tells the hosts apart
local on_h02_fail = fx.q(("test ${SSH_CONNECTION##* } != %s && echo ran"):format(os.getenv("DROVER_TEST_SSH2_PORT")))

local code, out, err = drover("exec" .. i .. " -g all " .. on_h02_fail)
check.eq(code, 1, err)
check.eq(fx.read(failed), "h02\n")
-- @failed: only h02 runs; it fails again, so the record stays
code, out, err = drover("exec" .. i .. " -H @failed " .. on_h02_fail)
check.eq(code, 1, err)
check.eq(out:find("h01", 1, true), nil, out)
check.eq(err:find("== 1 host", 1, true) ~= nil, true, err)
check.eq(fx.read(failed), "h02\n")
-- an all-ok run over @failed leaves an empty record, and @failed then says so
code, out, err = drover("exec" .. i .. " -H @failed true")
check.eq(code, 0, err)
check.eq(fx.read(failed), "")
code, out, err = drover("exec" .. i .. " -H @failed true")
check.eq(code, 2, err)
check.eq(err:find("names no host (the last run had no failed hosts)", 1, true) ~= nil, true, err)

-- run records too: the script fails on h02
local script = dir .. "/fail_h02.lua"
fx.write(script, 'if host.name == "h02" then error("boom") end\n')
code, out, err = drover("run " .. fx.q(script) .. i .. " -g all")
check.eq(code, 1, err)
check.eq(fx.read(failed), "h02\n")

-- without $XDG_STATE_HOME: under $HOME/.local/state
code, out, err = drover("exec" .. i .. " -g all " .. on_h02_fail, "env -u XDG_STATE_HOME HOME=" .. fx.q(dir))
check.eq(code, 1, err)
check.eq(fx.read(dir .. "/.local/state/drover/failed"), "h02\n")
-- no record yet: -H @failed says where it looked
code, out, err = drover("exec" .. i .. " -H @failed true", "XDG_STATE_HOME=" .. fx.q(dir .. "/empty"))
check.eq(code, 2, err)
check.eq(err:find("no run has recorded its failed hosts yet (" .. dir .. "/empty/drover/failed", 1, true) ~= nil, true, err)

-- @FILE: names and comments, node sets; @- reads stdin
local list = dir .. "/hosts.txt"
fx.write(list, "# hosts to redo\n\n  h01  \nh[02-02]\n")
code, out, err = drover("exec" .. i .. " -H @" .. fx.q(list) .. " 'echo listed'")
check.eq(code, 0, err)
check.eq(out:find("h01 | listed", 1, true) ~= nil and out:find("h02 | listed", 1, true) ~= nil, true, out)
code, out, err = drover("exec" .. i .. " -H @- 'echo from stdin' <<'EOF'\nh02\nEOF\n")
check.eq(code, 0, err)
check.eq(out, "h02 | from stdin\n", err)
-- user@address:port lines are ad-hoc hosts
fx.write(list, ("%s@127.0.0.1:%s\n"):format(os.getenv("DROVER_TEST_SSH_USER"), os.getenv("DROVER_TEST_SSH_PORT")))
code, out, err = drover("exec" .. i .. " -H @" .. fx.q(list) .. " --identity " .. fx.q(os.getenv("DROVER_TEST_SSH_KEY"))
  .. " -e known_hosts=" .. fx.q(dir .. "/known_hosts") .. " 'echo adhoc'")
check.eq(code, 0, err)
check.eq(out:find(":" .. os.getenv("DROVER_TEST_SSH_PORT") .. " | adhoc", 1, true) ~= nil, true, out .. err)
-- a bad line: FILE:LINE and why
fx.write(list, "h01\n# fine\nh01 h02\n")
code, out, err = drover("exec" .. i .. " -H @" .. fx.q(list) .. " true")
check.eq(code, 2, err)
check.eq(err:find(list .. ":3: \"h01 h02\" is not one host", 1, true) ~= nil, true, err)
fx.write(list, "h01\nh99\n")
code, out, err = drover("exec" .. i .. " -H @" .. fx.q(list) .. " true")
check.eq(code, 2, err)
check.eq(err:find(list .. ":2: host \"h99\" is not in", 1, true) ~= nil, true, err)
code, out, err = drover("exec" .. i .. " -H @" .. fx.q(dir .. "/missing.txt") .. " true")
check.eq(code, 2, err)
check.eq(err:find("cannot read " .. dir .. "/missing.txt", 1, true) ~= nil, true, err)

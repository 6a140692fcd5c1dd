-- needs: sshd*3
-- time-limit: 90
-- The `fleet` module from a script (`drover run` on the controller): targets from patterns,
-- flags, spec tables and result sets; fleet.run's result sets (ok, failed, where, hosts,
-- gather, [name], #, pairs, tostring); per-host timeouts; an unreachable host; bad arguments.
local check = require "check"
local fixture = require "fixture"
local inv, dir = fixture.inventory(3)
local inner = dir .. "/inner.lua"
fixture.write(inner, ([[
local check = require "check"
local ok, e = pcall(fleet.run, "true")
check.eq(ok, false)
check.eq(tostring(e):find("no targets", 1, true) ~= nil, true, tostring(e))
check.eq(#targets("odd"), 2)
check.eq(fleet.label(), "odd")
check.eq(table.concat(fleet.hosts(), ","), "h01,h03")
check.eq(#fleet.targets("-g even"), 1)
check.eq(#fleet.targets({ groups = { "odd", "even" } }), 3)
check.eq(#fleet.targets({ "h02", "h01" }), 2)
check.eq(select(2, pcall(fleet.targets, "nosuch")):find("nosuch", 1, true) ~= nil, true)
check.eq(table.concat(fleet.hosts(), ","), "h02,h01", "a failed selection keeps the targets")
fleet.targets("all")
local rs = fleet.run("case $SSH_CONNECTION in *' %s') echo two; exit 4;; *) echo same;; esac")
check.eq(fleet.is_results(rs), true)
check.eq(#rs, 3)
check.eq(rs.h02.code, 4)
check.eq(rs.h02.ok, false)
check.eq(rs.h02.outcome, "failed")
check.eq(rs.h01.stdout, "same\n")
check.eq(table.concat(rs:ok():hosts(), ","), "h01,h03")
check.eq(table.concat(rs:failed():hosts(), ","), "h02")
local seen = {}
for name, r in pairs(rs:where(function(r) return r.code ~= 0 end)) do seen[#seen + 1] = name .. "=" .. r.code end
check.eq(table.concat(seen, ","), "h02=4")
local groups = rs:gather()
check.eq(#groups, 2)
check.eq(groups[1].hosts, "h[01,03]")
check.eq(groups[2].code, 4)
local summary = tostring(rs)
check.eq(summary:find("3 hosts: 2 ok, 1 failed", 1, true) ~= nil, true, summary)
check.eq(summary:find("h02 (1)  exit 4", 1, true) ~= nil, true, summary)
check.eq(tostring(groups):find("h[01,03] (2)", 1, true) ~= nil, true, tostring(groups))
targets(rs:failed())
check.eq(table.concat(fleet.hosts(), ","), "h02")
check.eq(select(2, pcall(targets, rs:where(function() return false end))):find("no hosts", 1, true) ~= nil, true)
-- per-host timeout
fleet.targets("all")
local slow = fleet.run("sleep 5", { timeout = 0.5 })
check.eq(slow.h01.outcome, "timed_out")
check.eq(#slow:failed(), 3)
-- an unreachable host outside the inventory
targets({ hosts = { "127.0.0.1:1" } })
local down = fleet.run("true")
check.eq(down["127.0.0.1:1"].outcome, "unreachable", tostring(down))
check.eq(type(down["127.0.0.1:1"].error), "string")
-- bad arguments name the call
check.eq(select(2, pcall(fleet.run, 42)):find("fleet.run: argument #1", 1, true) ~= nil, true)
check.eq(select(2, pcall(fleet.run, "x", { bogus = 1 })):find("unknown option 'bogus'", 1, true) ~= nil, true)
check.eq(select(2, pcall(fleet.forks, 0)):find("fleet.forks", 1, true) ~= nil, true)
check.eq(select(2, pcall(fleet.timeout, -1)):find("fleet.timeout", 1, true) ~= nil, true)
check.eq(select(2, pcall(function() rs.x = 1 end)):find("read-only", 1, true) ~= nil, true)
print("fleet module ok")
]]):format(os.getenv("DROVER_TEST_SSH2_PORT")))
local code, out, err = fixture.drover(("run %s -i %s"):format(fixture.q(inner), fixture.q(inv)))
check.eq(code, 0, out .. err)
check.eq(out:find("fleet module ok", 1, true) ~= nil, true, out .. err)

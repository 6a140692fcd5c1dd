-- needs: sshd*3
-- time-limit: 90
-- The REPL's `:` commands through piped stdin: :gather groups identical output, :timeout
-- bounds each host, :forks, :confirm refuses (nobody to ask) unless --yes, :load runs a
-- script once per target, :save writes a script that `drover run` runs again, bad commands
-- name themselves, os.exit leaves with its code.
local check = require "check"
local fixture = require "fixture"
local inv, dir = fixture.inventory(3)
local per_host = dir .. "/per_host.lua"
fixture.write(per_host, 'print("loaded on " .. host.name)\n')
local saved = dir .. "/saved.lua"

local function repl(flags, lines)
  local path = dir .. "/lines.txt"
  fixture.write(path, table.concat(lines, "\n") .. "\n")
  return fixture.drover(("repl -i %s %s < %s"):format(fixture.q(inv), flags, fixture.q(path)))
end

local code, out, err = repl("-g all", {
  ":gather on",
  "!echo same-everywhere",
  ":gather off",
  ":timeout 0.5",
  "!sleep 5",
  "print('timed: ' .. _.h01.outcome .. ' ' .. #_:failed())",
  ":timeout off",
  ":forks 1",
  "print('forks ' .. fleet.forks())",
  ":confirm 2",
  "!echo refused",
  ":confirm 50",
  (":load %s"):format(per_host),
  ":load /nonexistent/script.lua",
  ":targets odd",
  "!echo saved-line",
  "answer = 6 * 7",
  (":save %s"):format(saved),
  ":bogus",
  ":forks zero",
  "os.exit(7)",
  "print('not reached')",
})
local both = out .. "\n--- stderr\n" .. err
check.eq(code, 7, "os.exit(7) leaves with 7:\n" .. both)
check.eq(out:find("h[01-03] (3)\n------------\nsame-everywhere", 1, true) ~= nil, true, "gathered:\n" .. both)
check.eq(out:find("h01 | same-everywhere", 1, true), nil, "not live while gathering:\n" .. both)
check.eq(out:find("timed: timed_out 3", 1, true) ~= nil, true, both)
check.eq(out:find("forks 1", 1, true) ~= nil, true, both)
check.eq(err:find("more than :confirm 2", 1, true) ~= nil, true, "refused without a terminal:\n" .. both)
check.eq(out:find("| refused", 1, true), nil, "not run:\n" .. both)
for _, h in ipairs({ "h01", "h02", "h03" }) do
  check.eq(out:find(h .. " | loaded on " .. h, 1, true) ~= nil, true, ":load per host:\n" .. both)
end
check.eq(err:find("/nonexistent/script.lua", 1, true) ~= nil, true, both)
check.eq(err:find(":bogus: no such command", 1, true) ~= nil, true, both)
check.eq(err:find(":forks zero: expected", 1, true) ~= nil, true, both)
check.eq(out:find("not reached", 1, true), nil, both)
check.eq(err:find("saved the session to", 1, true) ~= nil, true, both)

-- the saved session runs as a script
local script = fixture.read(saved) or ""
check.eq(script:find('fleet.targets({ groups = { "all" } })', 1, true) ~= nil, true, script)
check.eq(script:find('fleet.targets("odd")', 1, true) ~= nil, true, script)
check.eq(script:find("answer = 6 * 7", 1, true) ~= nil, true, script)
check.eq(script:find("refused", 1, true), nil, "a line that failed is not saved:\n" .. script)
local rcode, rout, rerr = fixture.drover(("run %s -i %s"):format(fixture.q(saved), fixture.q(inv)))
check.eq(rcode, 0, script .. "\n" .. rout .. rerr)
check.eq(rout:find("h03 | saved-line", 1, true) ~= nil, true, rout .. rerr)
check.eq(rout:find("h02 | saved-line", 1, true), nil, rout .. rerr)

-- --yes skips the confirmation; an unknown group is a usage error before anything runs
code, out, err = repl("-g all --yes --confirm 1", { "!echo yes-given" })
check.eq(code, 0, out .. err)
check.eq(out:find("h02 | yes-given", 1, true) ~= nil, true, out .. err)
code, out, err = repl("-g nosuch", { "1" })
check.eq(code, 2, out .. err)
check.eq(err:find("nosuch", 1, true) ~= nil, true, err)
code, out, err = fixture.drover(("repl -i %s/missing.ini < /dev/null"):format(fixture.q(dir)))
check.eq(code, 2, out .. err)
check.eq(err:find("missing.ini", 1, true) ~= nil, true, err)

-- needs: sshd
-- The facts cache lives as long as one run: within an eval (and the tasks it spawns) a fact
-- is read once; the next REPL eval, and the next per-host run in the same runtime (`:load`
-- twice), start with an empty cache and see the host's change.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
local path = dir .. "/watched"
fx.sh("chmod 755 " .. fx.q(dir))
fx.write(path, "12345")
fx.sh("chmod 644 " .. fx.q(path))

local function repl(flags, lines)
  local file = dir .. "/lines.txt"
  fx.write(file, table.concat(lines, "\n") .. "\n")
  return fx.drover(("repl %s < %s"):format(flags, fx.q(file)))
end

-- evals: A and B in one eval (B after the file grew, and from another task: still cached),
-- C in the next eval (fresh)
local code, out, err = repl("", {
  ('facts = require "drover.facts"; fx = require "fixture"; h = fx.host(); p = %q'):format(path),
  'ssh.with(h, function() print("A=" .. facts.file(p).size); fx.write(p, "1234567"); '
    .. 'print("B=" .. task.spawn(function() return facts.file(p).size end):join()) end)',
  'ssh.with(h, function() print("C=" .. facts.file(p).size) end)',
})
check.eq(code, 0, err)
check.eq(out:find("A=5", 1, true) ~= nil, true, out)
check.eq(out:find("B=5", 1, true) ~= nil, true, "same eval, another task: cached\n" .. out)
check.eq(out:find("C=7", 1, true) ~= nil, true, "the next eval reads afresh\n" .. out)

-- per-host runs: each :load is a run of its own
local script = dir .. "/grow.lua"
fx.write(script, ([[
local facts = require "drover.facts"
local p = %q
local before = facts.file(p).size
local f = assert(io.open(p, "ab")); f:write("xx"); f:close()
print(("size %%d then %%d"):format(before, facts.file(p).size))
]]):format(path))
code, out, err = repl(("-i %s -g all"):format(fx.q(inv)), { ":load " .. script, ":load " .. script })
check.eq(code, 0, err)
check.eq(out:find("size 7 then 7", 1, true) ~= nil, true, "first run: cached within it\n" .. out)
check.eq(out:find("size 9 then 9", 1, true) ~= nil, true, "second run: fresh\n" .. out)

-- outside any host, facts say so
code, out, err = repl("", { 'print(pcall(require("drover.facts").file, "/etc"))' })
check.eq(out:find("no current host", 1, true) ~= nil, true, out .. err)

-- needs: sshd
-- :check on in the REPL: scripts loaded and shell lines after it change nothing (the host is
-- looked at here: sshd is this machine) and say what they would do; :check off acts again.
-- :diff on shows the diff of what an operation writes.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
local base = fx.remote_dir(fx.host())
local script = dir .. "/dirs.lua"
fx.write(script, ([[
local file = require "drover.file"
file.directory(%q .. "/" .. host.name)
file.present(%q .. "/" .. host.name .. "/motd", { content = "hello from the repl\n" })
]]):format(base, base))
local lines = dir .. "/lines.txt"
fx.write(lines, table.concat({
  ":check on",
  ":diff on",
  ":load " .. script,
  "!touch " .. base .. "/shell-line",
  ":check off",
  ":diff off",
  ":load " .. script,
}, "\n") .. "\n")
local code, out, err = fx.drover(("repl -i %s -g all < %s"):format(fx.q(inv), fx.q(lines)))
local both = out .. "\n--- stderr\n" .. err
check.eq(code, 0, both)
check.eq(err:find("check mode: on", 1, true) ~= nil, true, both)
local first = out:find("h01 ~ file.directory " .. base .. "/h01: would change (created)\n", 1, true)
check.eq(first ~= nil, true, both)
check.eq(out:find("h01 ~ +hello from the repl\n", 1, true) ~= nil, true, "the diff:\n" .. both)
check.eq(fx.read(base .. "/shell-line"), nil, "a shell line under :check on did not run:\n" .. both)
check.eq(out:find("would run: touch " .. base .. "/shell-line", 1, true) ~= nil, true, both)
local real = out:find("h01 ~ file.directory " .. base .. "/h01: changed (created)\n", 1, true)
check.eq(real ~= nil and real > first, true, both)
check.eq(fx.read(base .. "/h01/motd"), "hello from the repl\n")

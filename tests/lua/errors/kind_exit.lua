-- needs: sshd
-- A command that ends badly raises an `exit` error value with code, signal, stdout, stderr and
-- command, whose text is the one it always had, at the caller's line.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local h = fx.host()
local cmd = "echo partial; echo broken >&2; exit 3"
local ok, err = pcall(h.run, h, cmd); local at = ev.here()
ev.expect("exit", h.name, at, h.name .. ": command `" .. cmd
  .. "` exited with code 3; stderr:\nbroken (pass {check = false} to get the result instead)", ok, err)
check.eq(err.code, 3); check.eq(err.signal, nil); check.eq(err.command, cmd)
check.eq(err.stdout, "partial\n"); check.eq(err.stderr, "broken\n")

-- the branch a script writes
local handled
if err.kind == "exit" then handled = "exit " .. err.code else handled = "other: " .. err.kind end
check.eq(handled, "exit 3")

-- ssh.run on the current host: positioned at the script's line, not at ssh.lua's
ssh.with(h, function()
  local ok2, err2 = pcall(ssh.run, "false"); local at2 = ev.here()
  ev.expect("exit", h.name, at2,
    h.name .. ": command `false` exited with code 1 (pass {check = false} to get the result instead)", ok2, err2)
  check.eq(err2.code, 1); check.eq(err2.stdout, ""); check.eq(err2.stderr, "")
end)

-- killed by a signal: no code, the signal named
local ok3, err3 = pcall(h.run, h, "kill -KILL $$"); local at3 = ev.here()
ev.expect("exit", h.name, at3,
  h.name .. ": command `kill -KILL $$` was killed by signal KILL (pass {check = false} to get the result instead)", ok3, err3)
check.eq(err3.code, nil); check.eq(err3.signal, "KILL")

-- check = false still returns the result instead of raising
check.eq(h:run("exit 3", { check = false }).code, 3)

-- a caller's mistake stays a plain message at the caller's line
local ok4, err4 = pcall(h.run, h, "true", { chek = false }); local at4 = ev.here()
check.eq(ok4, false)
check.eq(type(err4), "string", "a usage error is a string")
check.eq(err4:sub(1, #at4 + 1), at4 .. " ", err4)
check.eq(err4:find("unknown option 'chek'", 1, true) ~= nil, true, err4)

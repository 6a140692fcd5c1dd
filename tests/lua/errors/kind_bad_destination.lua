-- A destination that does not parse raises a `bad_destination` error value (destination), with
-- no host and the text it always had; other mistakes in ssh.connect stay plain messages.
local check = require "check"
local ev = require "error_value"

local ok, err = pcall(ssh.connect, "user@:x"); local at = ev.here()
ev.expect("bad_destination", nil, at, 'ssh.connect: bad destination "user@:x": no host (the address is empty)', ok, err)
check.eq(err.destination, "user@:x")

local ok2, err2 = pcall(ssh.connect, { address = "u@h:abc" }); local at2 = ev.here()
ev.expect("bad_destination", nil, at2,
  'ssh.connect: bad destination "u@h:abc": bad port "abc": not a port number (1-65535, digits only)', ok2, err2)

local ok3, err3 = pcall(ssh.connect, { address = "h", prot = 22 }); local at3 = ev.here()
check.eq(ok3, false)
check.eq(type(err3), "string", "an unknown option is a plain message")
check.eq(err3:sub(1, #at3 + 1), at3 .. " ", err3)

local said
if err.kind == "bad_destination" then said = "fix " .. err.destination end
check.eq(said, "fix user@:x")

-- needs: sshd
-- Upload errors say what to do (issue 12, item 7): a missing directory is not a permission
-- problem, and the sudo hint names --sudo on the command line, sudo = true in a script.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
local i = " -i " .. fx.q(inv) .. " -H h01 "
local file = dir .. "/app.conf"
fx.write(file, "x = 1\n")
local function has(text, what) check.eq(text:find(what, 1, true) ~= nil, true, what .. ":\n" .. text) end
local function hasnt(text, what) check.eq(text:find(what, 1, true), nil, what .. ":\n" .. text) end

local missing = "/tmp/drover-no-such-dir-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))
-- `DIR/` with DIR missing: said so, not permission denied
local code, out, err = fx.drover("put" .. i .. fx.q(file) .. " " .. fx.q(missing .. "/"))
check.eq(code, 1, err)
has(err, "sftp put " .. missing .. "/: no such directory " .. missing .. " (create it first")
hasnt(err, "permission denied")
-- a file below a missing directory in a writable place, and in a root-owned one
code, out, err = fx.drover("put" .. i .. fx.q(file) .. " " .. fx.q(missing .. "/app.conf"))
check.eq(code, 1, err)
has(err, "no such directory " .. missing)
code, out, err = fx.drover("put" .. i .. fx.q(file) .. " /etc/drover-no-such-dir/app.conf")
check.eq(code, 1, err)
has(err, "no such directory /etc/drover-no-such-dir")
hasnt(err, "permission denied")

-- a root-owned directory that exists: permission denied, and the CLI's flag
code, out, err = fx.drover("put" .. i .. fx.q(file) .. " /etc/")
check.eq(code, 1, err)
has(err, "sftp put /etc/app.conf: permission denied (pass --sudo for root-owned destinations)")
hasnt(err, "sudo = true")

-- the same failure in a script names the Lua option
local script = dir .. "/put.lua"
fx.write(script, ([[
local ok, e = pcall(host.put, host, %q, "/etc/app.conf")
assert(not ok)
print(e.kind, tostring(e))
]]):format(file))
code, out, err = fx.drover("run " .. fx.q(script) .. " -i " .. fx.q(inv) .. " -H h01")
check.eq(code, 0, err)
has(out, "sftp\t")
has(out, "h01: sftp put /etc/app.conf: permission denied (pass sudo = true for root-owned destinations)")
hasnt(out, "--sudo")
fx.sh("rm -rf " .. fx.q(dir))

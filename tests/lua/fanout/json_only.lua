-- needs: sshd*2
-- `drover run --json` prints nothing but JSON events on stdout, also with `stream = true`
-- command output and `progress = true` transfers (they used to print `host | line` text and
-- progress lines around the renderer).
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local here = fx.local_dir()
fx.sh("head -c 2097152 /dev/urandom > " .. fx.q(here .. "/big.bin"))
local path = dir .. "/stream.lua"
fx.write(path, ([[
ssh.run("echo out; echo err >&2", { stream = true })
local remote = ssh.run("mktemp -d").stdout:gsub("%%s+$", "")
sftp.put(%q, remote .. "/big.bin", { progress = true })
sftp.get(remote .. "/big.bin", %q .. "/" .. host.name .. ".bin", { progress = true })
ssh.run("rm -rf " .. remote)
print("done")
]]):format(here .. "/big.bin", here))
local code, out, err = fx.drover("run " .. fx.q(path) .. " -i " .. fx.q(inv) .. " -g all --json")
check.eq(code, 0, err)
local kinds = {}
for line in out:gmatch("[^\n]*") do
  if line ~= "" then
    check.eq(line:match('^{.*"event":"[%a_]+".*,"ts":%d+,"v":1}$') ~= nil, true, "not a JSON event line: " .. line)
    local kind = line:match('"event":"([%a_]+)"')
    kinds[kind] = (kinds[kind] or 0) + 1
  end
end
check.eq(out:find('"line":"out","stream":"stdout"', 1, true) ~= nil, true, out)
check.eq(out:find('"line":"err","stream":"stderr"', 1, true) ~= nil, true, out)
check.eq((kinds.progress or 0) >= 4, true, "progress events: " .. tostring(kinds.progress))
check.eq(kinds.started, 2); check.eq(kinds.finished, 2); check.eq(kinds.summary, 1)

-- needs: sshd*3
-- Output that folds (issue 12, item 4): error texts leave the host out, so one failure on every
-- host is one -b group and one summary line; an unreachable host says why in live mode (as
-- soon as it is known), under -b and in JSON, with one name for its outcome everywhere.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(3)
local i = " -i " .. fx.q(inv) .. " "
local dead = "dead1@127.0.0.1:1"

local function has(text, what, msg) check.eq(text:find(what, 1, true) ~= nil, true, (msg or what) .. ":\n" .. text) end
local function hasnt(text, what, msg) check.eq(text:find(what, 1, true), nil, (msg or what) .. ":\n" .. text) end
local function count(text, what)
  local n, at = 0, 1
  while true do
    local s, e = text:find(what, at, true)
    if not s then return n end
    n, at = n + 1, e + 1
  end
end

-- exec -b: one group for three identical failures
local code, out, err = fx.drover("exec" .. i .. "-g all -b -- false")
check.eq(code, 1, err)
has(out, "h[01-03] (3) failed: command `false` exited with code 1\n")
check.eq(count(out, "(1)"), 0, "no per-host block: " .. out)
has(err, "== 3 hosts: 3 failed\n")
has(err, "   failed h[01-03] (3): command `false` exited with code 1\n")

-- run -b: a script's failure folds too, the host named by the header only
local script = dir .. "/fail.lua"
fx.write(script, 'ssh.run("false")\n')
code, out, err = fx.drover("run " .. fx.q(script) .. i .. "-g all -b")
check.eq(code, 1, err)
has(out, "h[01-03] (3) failed: " .. script .. ":1: command `false` exited with code 1")
for _, h in ipairs { "h01", "h02", "h03" } do hasnt(out .. err, h .. ":", "no host inside the texts") end
hasnt(out .. err, "stack traceback", "no traceback heading")
-- live: one line per failing host (the message; a lone frame repeating its position is left out)
code, out, err = fx.drover("run " .. fx.q(script) .. i .. "-g all")
check.eq(code, 1, err)
check.eq(count(err, "! failed: " .. script .. ":1: command `false` exited with code 1"), 3, "live failure lines")
check.eq(count(err, "\n"), 3 + 2, "3 failure lines, the counts and one folded summary line:\n" .. err)

-- a failure deeper in the script keeps the script's own frames, and only those
local deep = dir .. "/deep.lua"
fx.write(deep, 'local function step(cmd)\n  ssh.run(cmd)\nend\nstep("exit 3")\n')
code, out, err = fx.drover("run " .. fx.q(deep) .. i .. "-H h01")
check.eq(code, 1, err)
has(err, "h01 ! failed: " .. deep .. ":2: command `exit 3` exited with code 3")
has(err, "h01 ! \t" .. deep .. ":2: in local 'step'")
has(err, "h01 ! \t" .. deep .. ":4: in main chunk")
hasnt(err, "[C]")
hasnt(err, "[drover]")

-- unreachable: the reason under -b (no empty block), in the summary once, named alike
code, out, err = fx.drover("exec" .. i .. "-H h01," .. dead .. " -b -- true")
check.eq(code, 1, err)
has(out, dead .. " (1) unreachable: cannot connect to 127.0.0.1:1: ")
has(err, "== 2 hosts: 1 ok, 1 unreachable\n")
has(err, "   unreachable " .. dead .. ": cannot connect to 127.0.0.1:1: ")
hasnt(err, dead .. ": " .. dead, "the summary does not repeat the name")

-- JSON: the finished event says unreachable with the host-less reason
code, out, err = fx.drover("exec" .. i .. "-H " .. dead .. " --json -- true")
check.eq(code, 1, err)
local finished = out:match('[^\n]*"event":"finished"[^\n]*')
check.eq(finished ~= nil, true, out)
has(finished, '"outcome":"unreachable"')
has(finished, '"error":"cannot connect to 127.0.0.1:1: ')

-- live: the reason shows as soon as the host is given up, while another host still runs.
-- Each line of drover's output is stamped as it arrives.
local stamped = fx.sh(("%s exec%s-H h01,%s -- 'sleep 3; echo slept' 2>&1 | while IFS= read -r l; do echo \"$(date +%%s%%N) $l\"; done")
  :format(fx.q(os.getenv("DROVER_EXE")), i, dead))
local t_dead = stamped:match("(%d+) " .. dead:gsub("%p", "%%%0") .. " ! unreachable: cannot connect")
local t_end = stamped:match("(%d+) == 2 hosts: 1 ok, 1 unreachable")
check.eq(t_dead ~= nil and t_end ~= nil, true, stamped)
local ahead = (tonumber(t_end) - tonumber(t_dead)) / 1e9
check.eq(ahead > 1.5, true, ("the unreachable line came only %.2fs before the end:\n%s"):format(ahead, stamped))

-- run: the same for a script whose host cannot be reached
code, out, err = fx.drover("run " .. fx.q(script) .. i .. "-H " .. dead)
check.eq(code, 1, err)
has(err, dead .. " ! unreachable: " .. script .. ":1: cannot connect to 127.0.0.1:1: ")
has(err, "   unreachable " .. dead .. ": " .. script .. ":1: cannot connect")
fx.sh("rm -rf " .. fx.q(dir))

-- needs: sshd
-- group.present against the sshd fixture, logged in as root (sshd is this machine: the
-- effects are checked here with getent): created, then found; a gid changed, then found; a
-- system group; bad input named. The test's own groups (named after this run's pid) are
-- removed at the end, also when a check fails.
local check = require "check"
local fx = require "fixture"
local group = require "drover.group"

local accounts = require "test_accounts"
local G, G2 = accounts.group, accounts.group2

local function getent(name) return accounts.getent("group", name) end

local twice = check.twice

local function body()
  check.eq(getent(G) .. getent(G2), "", "the test's groups are new")
  ssh.with(fx.host { user = "root" }, function()
    local r = twice("group.present", function() return group.present(G) end, function()
      check.eq(getent(G):match("^" .. G .. ":x:%d+:$") ~= nil, true, getent(G))
    end)
    check.eq(r.reason, "created")
    local old_gid = tonumber(getent(G):match(":(%d+):"))
    local gid = tonumber(fx.sh("for g in $(seq 61000 61999); do getent group $g >/dev/null || { echo $g; break; }; done"))
    r = twice("group.present gid", function() return group.present(G, { gid = gid }) end, function()
      check.eq(getent(G), ("%s:x:%d:"):format(G, gid))
    end)
    check.eq(r.reason, ("gid %d -> %d"):format(old_gid, gid))
    twice("group.present system", function() return group.present(G2, { system = true }) end, function()
      check.eq(tonumber(getent(G2):match(":(%d+):")) < 1000, true, "a system gid: " .. getent(G2))
    end)
    check.raises("option 'gid' must be a non-negative integer", group.present, G, { gid = 1.5 })
    check.raises("option 'gid' must be a number, got string", group.present, G, { gid = "12" })
    check.raises('"9lives" is not a valid group name', group.present, "9lives")
    check.raises("unknown option 'members'", group.present, G, { members = {} })
    -- a host without shadow-utils (Alpine's busybox has other tools): the error names it
    check.raises("drover-no-such-tool not found on the host: drover's user and group operations need shadow-utils",
      require("drover.shadow").require_tool, "drover-no-such-tool")
  end)
end

local ok, err = pcall(body)
accounts.cleanup()
if not ok then error(err, 0) end
check.eq(getent(G) .. getent(G2), "", "all removed")

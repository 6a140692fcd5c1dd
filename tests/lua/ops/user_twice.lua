-- needs: sshd
-- time-limit: 120
-- user.present and user.absent against the sshd fixture, logged in as root
-- (sshd is this machine: the effects are checked here with getent). Each op runs twice
-- (changed, then not); a changed attribute says what changed. The test's own user and
-- groups (made with group.present; named after this run's pid) are removed at the end, also
-- when a check fails.
local check = require "check"
local fx = require "fixture"
local user = require "drover.user"
local group = require "drover.group"

local accounts = require "test_accounts"
local U, G, G2, home = accounts.user, accounts.group, accounts.group2, accounts.home
local cleanup, getent = accounts.cleanup, accounts.getent

local twice = check.twice

local function body()
  check.eq(getent("passwd", U), "", "the test user is new")
  local h = fx.host { user = "root" }
  check.eq(h:run("id -u").stdout, "0\n", "logged in as root")
  ssh.with(h, function()
    -- its groups (group_twice.lua tests group.present itself)
    check.eq(group.present(G).changed, true)
    check.eq(group.present(G2, { system = true }).changed, true)
    local gid = tonumber(getent("group", G):match(":(%d+):"))
    -- a user in them
    r = twice("user.present", function()
      return user.present(U, { group = G, groups = { G2 }, home = home, shell = "/bin/sh", comment = "drover test" })
    end, function()
      check.eq(getent("passwd", U):match("^" .. U .. ":x:%d+:" .. gid .. ":drover test:" .. home:gsub("%p", "%%%0")
        .. ":/bin/sh$") ~= nil, true, getent("passwd", U))
      check.eq(fx.sh("id -Gn " .. U), G .. " " .. G2 .. "\n")
      check.eq(fx.sh("stat -c %U:%G " .. fx.q(home)), U .. ":" .. G .. "\n", "its home made")
    end)
    check.eq(r.reason, "created")

    -- attributes: only what is given, and the reason says what differs
    r = twice("user.present shell", function() return user.present(U, { shell = "/bin/bash" }) end, function()
      check.eq(getent("passwd", U):match(":([^:]*)$"), "/bin/bash")
    end)
    check.eq(r.reason, "shell /bin/sh -> /bin/bash")
    r = twice("user.present comment and groups", function()
      return user.present(U, { comment = "drover tester", groups = {} })
    end, function()
      check.eq(fx.sh("id -Gn " .. U), G .. "\n")
      check.eq(getent("passwd", U):match(":x:%d+:%d+:([^:]*):"), "drover tester")
    end)
    check.eq(r.reason, 'comment "drover test" -> "drover tester", groups -' .. G2)
    r = twice("user.present append", function() return user.present(U, { groups = { G2 }, append = true }) end,
      function() check.eq(fx.sh("id -Gn " .. U), G .. " " .. G2 .. "\n") end)
    check.eq(r.reason, "groups +" .. G2)
    local uid = tonumber(fx.sh("for u in $(seq 61000 61999); do getent passwd $u >/dev/null || { echo $u; break; }; done"))
    local old_uid = tonumber(getent("passwd", U):match(":x:(%d+):"))
    r = twice("user.present uid and primary group", function() return user.present(U, { uid = uid, group = G2 }) end,
      function()
        check.eq(getent("passwd", U):match(":x:(%d+):"), tostring(uid))
        check.eq(fx.sh("id -gn " .. U), G2 .. "\n")
      end)
    check.eq(r.reason, ("uid %d -> %d, group %s -> %s"):format(old_uid, uid, G, G2))

    -- bad input: named, at the caller's line or with the step's context
    local e = check.raises("group " .. accounts.missing .. " does not exist (group.present makes it)",
      user.present, U, { group = accounts.missing })
    check.eq(e:find("user.present " .. U, 1, true) ~= nil, true, e)
    check.raises("is not a valid user name", user.present, "-rf")
    check.raises("longer than 32 characters", user.present, ("x"):rep(33))
    check.raises("option 'shell' must be an absolute path", user.present, U, { shell = "bash" })
    check.raises("option 'comment' must not contain ':'", user.present, U, { comment = "a:b" })
    check.raises("unknown option 'password'", user.present, U, { password = "x" })

    -- absent, with its home
    r = twice("user.absent", function() return user.absent(U, { remove_home = true }) end, function()
      check.eq(getent("passwd", U), "")
      check.eq(fx.sh("test -e " .. fx.q(home) .. " && echo there || echo gone"), "gone\n")
    end)
    check.eq(r.reason, "removed")

    -- without a group: its own group, named like it; no home when asked for none
    twice("user.present own group", function() return user.present(U, { create_home = false }) end, function()
      check.eq(fx.sh("id -Gn " .. U), U .. "\n")
      check.eq(getent("group", U) ~= "", true)
    end)
    twice("user.absent again", function() return user.absent(U) end, function()
      check.eq(getent("passwd", U), "")
    end)
  end)
end

local ok, err = pcall(body)
cleanup()
if not ok then error(err, 0) end
check.eq(getent("passwd", U) .. getent("group", G) .. getent("group", G2), "", "all removed")

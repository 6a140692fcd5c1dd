-- needs: sshd
-- time-limit: 120
-- user.present, user.absent and group.present under drover run --check, logged in as root:
-- nothing changes on the host (getent here says absent: sshd is this machine), and check
-- mode reports exactly the changes, with their reasons, that the real run then makes,
-- dependent steps included (a user in groups an earlier step creates, a second step on that
-- user, a file in the home it would make). A second real run changes nothing. The test's
-- own user and groups are removed at the end, also when a check fails.
local check = require "check"
local fx = require "fixture"

local accounts = require "test_accounts"
local U, G, G2, home = accounts.user, accounts.group, accounts.group2, accounts.home
local cleanup, getent = accounts.cleanup, accounts.getent

-- an inventory of the fixture's sshd, logging in as root
local inv, dir = fx.inventory(1, nil, "root")

local script = dir .. "/accounts.lua"
fx.write(script, [[
local group = require "drover.group"
local user = require "drover.user"
local file = require "drover.file"
local u, g, g2, home = ...
group.present(g)
group.present(g2, { system = true })
user.present(u, { group = g, home = home, shell = "/bin/sh", comment = "drover check" })
user.present(u, { groups = { g2 }, append = true })
file.present(home .. "/.profile", { content = "umask 027\n", owner = u })
]])
local removal = dir .. "/removal.lua"
fx.write(removal, [[
local group = require "drover.group"
local user = require "drover.user"
local u = ...
user.absent(u, { remove_home = true })
user.present(u, { create_home = false })
user.present(u, { shell = "/bin/sh" })
user.absent(u)
group.present(u)
]])

-- op events of a --json run: {"module.op target" = "changed (reason)"} and their order
local function ops(out)
  local got, order = {}, {}
  for line in out:gmatch("[^\n]+") do
    if line:find('"event":"op"', 1, true) then
      local key = ("%s.%s %s #%d"):format(line:match('"module":"(.-)"'), line:match('"op":"(.-)"'),
        line:match('"target":"(.-)"'), #order + 1)
      got[key] = ("%s (%s)"):format(line:match('"changed":"?(%a+)"?'), line:match('"reason":"(.-)"') or "")
      order[#order + 1] = key
    end
  end
  return got, order
end

local function run(file, extra)
  local code, out, err = fx.drover(("run %s %s %s %s %s -i %s -g all --json %s"):format(fx.q(file), U, G, G2,
    fx.q(home), fx.q(inv), extra or ""))
  check.eq(code, 0, err .. out)
  return ops(out)
end

local function state()
  return getent("passwd", U) .. "|" .. getent("group", G) .. "|" .. getent("group", G2) .. "|"
    .. fx.sh("ls -a " .. fx.q(home) .. " 2>/dev/null || echo no home")
end

local function body()
  check.eq(getent("passwd", U) .. getent("group", G), "", "the test's user and group are new")
  local before = state()
  local predicted, order = run(script, "--check")
  check.eq(state(), before, "check mode changed nothing on the host")
  check.eq(getent("passwd", U), "", "no user made")
  check.eq(#order, 5, table.concat(order, "\n"))
  check.eq(predicted["group.present " .. G .. " #1"], "true (created)")
  check.eq(predicted["group.present " .. G2 .. " #2"], "true (created)")
  check.eq(predicted["user.present " .. U .. " #3"], "true (created)", "a user in a group only predicted")
  check.eq(predicted["user.present " .. U .. " #4"], "true (groups +" .. G2 .. ")",
    "planned against the predicted user")
  -- useradd -m copies the skeleton directory's files into the home it makes
  local from_skel = fx.sh("test -f /etc/skel/.profile && echo yes || true") == "yes\n"
  check.eq(predicted["file.present " .. home .. "/.profile #5"],
    from_skel and "true (content changed)" or "true (created)", "a file in a predicted home")

  local real, real_order = run(script)
  check.list_eq(real_order, order, "the same steps")
  for _, key in ipairs(order) do check.eq(real[key], predicted[key], key .. ": check mode said " .. predicted[key]) end
  check.eq(getent("passwd", U):match(":drover check:" .. home:gsub("%p", "%%%0") .. ":/bin/sh$") ~= nil, true,
    getent("passwd", U))
  check.eq(fx.sh("id -Gn " .. U), G .. " " .. G2 .. "\n")
  check.eq(fx.sh("stat -c %U " .. fx.q(home .. "/.profile")), U .. "\n")

  -- done: the real run and check mode both find nothing to do
  for _, extra in ipairs { "", "--check" } do
    local again = run(script, extra)
    for _, key in ipairs(order) do check.eq(again[key], "false ()", key .. " " .. extra) end
  end

  -- removal: the user's own group after userdel is not known beforehand (USERGROUPS_ENAB)
  before = state()
  predicted, order = run(removal, "--check")
  check.eq(state(), before, "check mode removed nothing")
  check.eq(predicted["user.absent " .. U .. " #1"], "true (removed)")
  check.eq(predicted["user.present " .. U .. " #2"], "true (created)", "created again after a predicted removal")
  check.eq(predicted["group.present " .. U .. " #5"],
    "unknown (whether it exists is not known: userdel may have removed it with user " .. U .. ")",
    "the user's own group (useradd -U) after userdel")
  -- useradd's default shell (/etc/default/useradd) is not predicted
  check.eq(predicted["user.present " .. U .. " #3"],
    "unknown (its shell after an earlier step is not known before that step runs)")
  check.eq(predicted["user.absent " .. U .. " #4"], "true (removed)")
  real, real_order = run(removal)
  check.list_eq(real_order, order, "the same steps")
  for _, key in ipairs(order) do
    if not predicted[key]:match("^unknown") then check.eq(real[key], predicted[key], key) end
  end
  check.eq(getent("passwd", U), "")
  check.eq(getent("group", U):match("^" .. U .. ":") ~= nil, true, "group.present made it (again)")
  check.eq(fx.sh("test -e " .. fx.q(home) .. " && echo there || echo gone"), "gone\n")
end

local ok, err = pcall(body)
cleanup()
if not ok then error(err, 0) end
check.eq(getent("passwd", U) .. getent("group", G) .. getent("group", G2), "", "all removed")

-- needs: sshd
-- time-limit: 60
-- drover run --check on "add a repository, then install from it": the sources list an
-- earlier step writes is only predicted, the index does not have the packages yet, and
-- check mode still says "would install" them (changed = true, the reason saying they are
-- not in the index yet), predicts them installed for the later steps and facts, and changes
-- nothing on the host (dpkg, the list, apt's lists and history: looked at here). The real
-- run then makes exactly those changes, in one apt-get run, with a log event per package;
-- a check run after it predicts nothing; a package the index has is "would install" plainly.
-- A file the package brings is "unknown" in check mode after that step, not an error.
local check = require "check"
local fx = require "fixture"
local test_pkg = require "test_pkg"

local t = test_pkg.create("check", 3)
local a, b, c = t.names[1], t.names[2], t.names[3]
local inv, dir = fx.inventory(1, nil, "root")

local opts = "{"
for k, v in pairs(t.apt_options) do opts = opts .. ("[%q] = %q, "):format(k, v) end
opts = opts .. "}"
local script = dir .. "/packages.lua"
fx.write(script, ([[
local file = require "drover.file"
local pkg = require "drover.pkg"
local facts = require "drover.facts"
local apt = %s
file.present(%q, { content = %q })
pkg.installed({ %q, %q }, { update = true, apt_options = apt })
file.present(%q, { content = "tuned\n" })
pkg.installed(%q, { apt_options = apt })
pkg.removed(%q, { apt_options = apt })
print("fact after: " .. tostring(facts.pkg(%q) ~= nil))
]]):format(opts, t.list, t.source, a, b, "/usr/share/" .. a .. "/tuned.conf", a, c, b))

-- op events of a --json run, in order: "module.op changed reason"; and the log lines
local function events(out)
  local ops, logs = {}, {}
  for line in out:gmatch("[^\n]+") do
    if line:find('"event":"op"', 1, true) then
      ops[#ops + 1] = ("%s.%s %s %s"):format(line:match('"module":"(.-)"'), line:match('"op":"(.-)"'),
        line:match('"changed":"?(%a+)"?'), line:match('"reason":"(.-)"'))
    elseif line:find('"event":"log"', 1, true) then
      check.eq(line:match('"host":"(.-)"'), "h01", line)
      logs[#logs + 1] = line:match('"text":"(.-)"')
    end
  end
  return table.concat(ops, "\n"), table.concat(logs, "\n")
end

local function host_state()
  return ("a=%s b=%s c=%s list=%s lists=%s runs=%d"):format(tostring(t.installed(a)), tostring(t.installed(b)),
    tostring(t.installed(c)), tostring(fx.read(t.list) ~= nil),
    fx.sh("ls " .. fx.q(t.apt_options["Dir::State::Lists"]) .. " | grep -c Packages || true"):match("%d+"),
    #t.history())
end

local ok, err = pcall(function()
  local run = ("run %s -i %s -g all --json"):format(fx.q(script), fx.q(inv))
  local before = host_state()
  check.eq(before, "a=false b=false c=false list=false lists=0 runs=0")
  local code, out, e = fx.drover(run .. " --check")
  check.eq(code, 0, e .. out)
  check.eq(host_state(), before, "check mode changed nothing")
  local predicted, logs = events(out)
  check.eq(predicted, table.concat({
    "file.present true created",
    ("pkg.installed true would install %s, %s (%s, %s not in the package index yet)"):format(a, b, a, b),
    -- a file of the package: not predicted, not an error either
    ("file.present unknown directory /usr/share/%s does not exist yet (pkg.installed %s %s may make it)"):format(a, a, b),
    "pkg.installed false nil",
    "pkg.removed false nil",
  }, "\n"))
  check.eq(logs, "", "nothing installed, nothing logged")
  check.eq(out:find('"line":"fact after: true"', 1, true) ~= nil, true, "the fact sees the prediction: " .. out)

  code, out, e = fx.drover(run)
  check.eq(code, 0, e .. out)
  local real
  real, logs = events(out)
  check.eq(real, table.concat({
    "file.present true created",
    ("pkg.installed true installed %s, %s"):format(a, b),
    "file.present true created",
    "pkg.installed false nil",
    "pkg.removed false nil",
  }, "\n"), "the changes check mode predicted")
  check.eq(logs, ("pkg.installed %s: installed 1.0 (1/2)\npkg.installed %s: installed 1.0 (2/2)"):format(a, b))
  check.eq(out:find('"line":"fact after: true"', 1, true) ~= nil, true, out)
  check.eq(host_state(), "a=true b=true c=false list=true lists=1 runs=1", "one apt-get run installed both")

  code, out, e = fx.drover(run .. " --check")
  check.eq(code, 0, e .. out)
  check.eq((events(out)), "file.present false nil\npkg.installed false nil\nfile.present false nil\npkg.installed false nil\npkg.removed false nil")

  -- in the index now: would install, plainly; and would remove
  local more = dir .. "/more.lua"
  fx.write(more, ([[
local pkg = require "drover.pkg"
local apt = %s
pkg.installed(%q, { apt_options = apt })
pkg.removed({ %q, %q }, { apt_options = apt })
]]):format(opts, c, a, b))
  before = host_state()
  code, out, e = fx.drover(("run %s -i %s -g all --check"):format(fx.q(more), fx.q(inv)))
  check.eq(code, 0, e .. out)
  check.eq(out:find(("h01 ~ pkg.installed %s: would change (would install %s)\n"):format(c, c), 1, true) ~= nil, true, out)
  check.eq(out:find(("h01 ~ pkg.removed %s %s: would change (would remove %s, %s)\n"):format(a, b, a, b), 1, true) ~= nil,
    true, out)
  check.eq(host_state(), before)

  -- an index apt cannot read: still "would install", saying why the index was not looked at
  local bad = dir .. "/bad.list"
  fx.write(bad, "garbage line\n")
  fx.write(more, ([[
local apt = %s
apt["Dir::Etc::SourceList"] = %q
require("drover.pkg").installed(%q, { apt_options = apt })
]]):format(opts, bad, c))
  code, out, e = fx.drover(("run %s -i %s -g all --check"):format(fx.q(more), fx.q(inv)))
  check.eq(code, 0, e .. out)
  check.eq(out:find(("h01 ~ pkg.installed %s: would change (would install %s (the package index could not be read: "
    .. "E: Type 'garbage' is not known on line 1 in source list %s))\n"):format(c, c, bad), 1, true) ~= nil, true, out)
  check.eq(host_state(), before)
end)
os.remove("/usr/share/" .. a .. "/tuned.conf")
t.remove()
if not ok then error(err, 0) end

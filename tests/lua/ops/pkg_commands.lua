-- drover.pkg's pure layer: the package manager commands for apt (dpkg hosts), dnf/yum (rpm)
-- and apk, as text and as sh syntax (only apt runs here), and `pkg.parse_policy` on
-- apt-cache's real output (tests/fixtures/ops/), then on it mutated and on random bytes:
-- it never raises and always returns a table of name -> version or false.
local check = require "check"
local fx = require "fixture"
local pkg = require "drover.pkg"

local cmd = pkg.command
local apt_install = cmd("install", "dpkg", { "nginx", "curl" })
check.eq(apt_install, "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 "
  .. "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install nginx curl")
check.eq(cmd("install", "dpkg", { "htop" }, { version = "3.2.2-2", apt_options = { ["B::x"] = "1", ["A::y"] = "" },
  extra_args = { "--no-install-recommends" } }),
  "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef "
  .. "-o Dpkg::Options::=--force-confold -o A::y= -o B::x=1 --no-install-recommends install htop=3.2.2-2")
check.eq(cmd("remove", "dpkg", { "telnet" }), "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 remove telnet")
check.eq(cmd("purge", "dpkg", { "telnet" }), "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 purge telnet")
check.eq(cmd("update", "dpkg", {}, { extra_args = { "--x" }, apt_options = { ["Dir::Etc::SourceList"] = "/tmp/a b.list" } }),
  "apt-get -q -o DPkg::Lock::Timeout=120 -o 'Dir::Etc::SourceList=/tmp/a b.list' update", "no extra args on update")
check.eq(cmd("policy", "dpkg", { "a", "b" }), "apt-cache policy a b")
check.eq(cmd("install", "rpm", { "nginx" }, { version = "1.20.1-14.el9" }),
  "if command -v dnf >/dev/null 2>&1; then dnf -y install nginx-1.20.1-14.el9; else yum -y install nginx-1.20.1-14.el9; fi")
check.eq(cmd("remove", "rpm", { "a", "b" }),
  "if command -v dnf >/dev/null 2>&1; then dnf -y remove a b; else yum -y remove a b; fi")
check.eq(cmd("update", "rpm", {}), "if command -v dnf >/dev/null 2>&1; then dnf -y makecache; else yum -y makecache; fi")
check.eq(cmd("install", "apk", { "nginx", "curl" }, { version = "1.24.0-r15" }), "apk add nginx=1.24.0-r15 curl=1.24.0-r15")
check.eq(cmd("install", "apk", { "nginx", "curl" }), "apk add nginx curl")
check.eq(cmd("purge", "apk", { "nginx" }), "apk del --purge nginx")
check.eq(cmd("remove", "apk", { "nginx" }), "apk del nginx")
check.eq(cmd("update", "apk", {}), "apk update")
check.raises("policy is apt's (dpkg hosts) only", cmd, "policy", "apk", { "x" })
check.raises('no package manager for "pacman"', cmd, "install", "pacman", { "x" })
check.raises('no action "upgrade"', cmd, "upgrade", "dpkg", { "x" })
for _, m in ipairs { "dpkg", "rpm", "apk" } do
  for _, a in ipairs { "install", "remove", "purge", "update" } do
    fx.sh("sh -n -c " .. fx.q(cmd(a, m, { "a", "b+c" }, { apt_options = { ["K"] = "it's" }, extra_args = { "x y" } })))
  end
end

-- parse_policy on the real output
local text = fx.read("tests/fixtures/ops/apt-cache-policy.debian-12")
local p = pkg.parse_policy(text)
check.eq(p.bash, "5.2.15-2+b13", "the candidate, not the installed version")
check.eq(p["openssh-server"], "1:9.2p1-2+deb12u10")
check.eq(p["mail-transport-agent"], false, "a virtual package has no candidate")
check.eq(p["drover-nothing-here"], nil, "not in the index")
check.eq(p["Version table"], nil)
local n = 0
for _ in pairs(p) do n = n + 1 end
check.eq(n, 3)
check.eq(next(pkg.parse_policy("")), nil)
check.eq(next(pkg.parse_policy(nil)), nil)
check.eq(pkg.parse_policy(text:gsub("\n", "\r\n")).bash, "5.2.15-2+b13", "CRLF")

-- randomized: mutated and random texts never raise, and give names -> string|false
local seed = tonumber(os.getenv("DROVER_FUZZ_SEED") or "") or os.time()
math.randomseed(seed)
local function mutate(t)
  local how = math.random(4)
  if how == 1 then return t:sub(1, math.random(0, #t)) end
  if how == 2 then
    local pos, junk = math.random(0, #t), {}
    for i = 1, math.random(1, 20) do junk[i] = string.char(math.random(0, 255)) end
    return t:sub(1, pos) .. table.concat(junk) .. t:sub(pos + 1)
  end
  if how == 3 then return (t:gsub("[:\n ]", function() if math.random(3) == 1 then return "" end end)) end
  local ls = {}
  for l in t:gmatch("[^\n]*") do ls[#ls + 1] = l end
  local i, j = math.random(#ls), math.random(#ls)
  ls[i], ls[j] = ls[j], ls[i]
  return table.concat(ls, "\n")
end
local cases = 0
local function try(s)
  local ok, v = pcall(pkg.parse_policy, s)
  if not ok then error(("parse_policy raised on %q (seed %d): %s"):format(s:sub(1, 200), seed, tostring(v))) end
  check.eq(type(v), "table", "seed " .. seed)
  for k, x in pairs(v) do
    check.eq(type(k), "string", "seed " .. seed)
    check.eq(type(x) == "string" or x == false, true, "seed " .. seed)
  end
  cases = cases + 1
end
for _ = 1, 500 do try(mutate(text)) end
for _ = 1, 200 do
  local junk = {}
  for i = 1, math.random(0, 300) do junk[i] = string.char(math.random(0, 255)) end
  try(table.concat(junk))
end
check.eq(cases, 700)

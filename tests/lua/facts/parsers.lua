-- drover.facts' pure parsers on captured and format-written outputs (tests/fixtures/facts,
-- see its README): concrete values for every fixture.
local check = require "check"
local parse = require "drover.facts.parse"

local DIR = "tests/fixtures/facts/"
local function fixture(name)
  local f = assert(io.open(DIR .. name, "rb"), "missing fixture " .. name)
  local s = f:read("a"); f:close()
  return s
end
local function ok(v, why)
  if v == nil then error("parser failed: " .. tostring(why), 2) end
  return v
end

-- file ---------------------------------------------------------------------------------------
local f = ok(parse.file(fixture("file.regular.debian-12")))
check.eq(f.type, "file"); check.eq(f.kind, "regular file"); check.eq(f.mode, "0644")
check.eq(f.owner, "root"); check.eq(f.group, "root"); check.eq(f.uid, 0); check.eq(f.gid, 0)
check.eq(f.size, 1472)
check.eq(f.sha256, "d8f46babe672befb9a932ca31d20f58da5cb3c03323e1998d45fc533b7a31c4b")
check.eq(f.target, nil)

local d = ok(parse.file(fixture("file.directory.debian-12")))
check.eq(d.type, "directory"); check.eq(d.mode, "0755"); check.eq(d.size, 4096)
check.eq(d.sha256, nil)

local l = ok(parse.file(fixture("file.link.debian-12")))
check.eq(l.type, "link"); check.eq(l.mode, "0777"); check.eq(l.target, "usr/bin"); check.eq(l.size, 7)

local c = ok(parse.file(fixture("file.chardev.debian-12")))
check.eq(c.type, "other"); check.eq(c.kind, "character special file"); check.eq(c.mode, "0666")

local e = ok(parse.file(fixture("file.empty-setuid-nouser.debian-12")))
check.eq(e.type, "file"); check.eq(e.mode, "4750"); check.eq(e.size, 0)
check.eq(e.uid, 12345); check.eq(e.gid, 23456)
check.eq(e.owner, "12345", "an owner without a name is its uid")
check.eq(e.group, "23456")
check.eq(e.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

local b = ok(parse.file(fixture("file.backslash-name.debian-12")))
check.eq(b.sha256, "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
  "sha256sum's escaped-name form")

local al = ok(parse.file(fixture("file.link.alpine-3.19")))
check.eq(al.type, "link"); check.eq(al.target, "/bin/busybox"); check.eq(al.size, 12)
local af = ok(parse.file(fixture("file.regular.alpine-3.19")))
check.eq(af.type, "file"); check.eq(af.size, 37); check.eq(#af.sha256, 64)

-- what is not stat's output is refused, with why
local v, why = parse.file("")
check.eq(v, nil); check.eq(why:find("no stat output", 1, true) ~= nil, true, why)
v, why = parse.file("644|0|0|1|root|root|regular file\n")
check.eq(v, nil); check.eq(why:find("no sha256", 1, true) ~= nil, true, why)
v, why = parse.file("hello world\n")
check.eq(v, nil); check.eq(why:find("cannot read stat output", 1, true) ~= nil, true, why)
v, why = parse.file(nil)
check.eq(v, nil); check.eq(why:find("expected text", 1, true) ~= nil, true, why)

-- os -----------------------------------------------------------------------------------------
local o = ok(parse.os(fixture("os.debian-12")))
check.eq(o.id, "debian"); check.eq(o.version_id, "12"); check.eq(o.version_codename, "bookworm")
check.eq(o.pretty_name, "Debian GNU/Linux 12 (bookworm)"); check.eq(o.name, "Debian GNU/Linux")
check.eq(o.kernel_name, "Linux"); check.eq(o.kernel, "6.18.44-fc-v1045"); check.eq(o.arch, "x86_64")
check.eq(#o.like, 0)
o = ok(parse.os(fixture("os.ubuntu-22.04")))
check.eq(o.id, "ubuntu"); check.eq(o.version_id, "22.04"); check.eq(o.like[1], "debian")
check.eq(o.ubuntu_codename, "jammy"); check.eq(o.kernel, "5.15.0-91-generic")
o = ok(parse.os(fixture("os.rocky-9")))
check.eq(o.id, "rocky"); check.eq(o.version_id, "9.3"); check.list_eq(o.like, { "rhel", "centos", "fedora" })
check.eq(o.platform_id, "platform:el9"); check.eq(o.kernel, "5.14.0-362.8.1.el9_3.x86_64")
o = ok(parse.os(fixture("os.alpine-3.19")))
check.eq(o.id, "alpine"); check.eq(o.version_id, "3.19.0"); check.eq(o.arch, "aarch64")
o = ok(parse.os(fixture("os.quoting-edge-cases")))
check.eq(o.name, "Quoted Linux"); check.eq(o.id, "quoted")
check.eq(o.pretty_name, 'Quoted "Edge" Linux $HOME \\ done'); check.eq(o.variant, "Server Edition")
check.eq(o.kernel, "4.19.0-27-amd64")
check.eq(ok(parse.os("VERSION_ID=1\ndrover-facts:next\nLinux 1 x\n")).id, "linux",
  "os-release(5): ID defaults to linux")
check.eq(ok(parse.uname("Linux 6.1.0-13-amd64 x86_64\n")).kernel, "6.1.0-13-amd64")

-- pkg ----------------------------------------------------------------------------------------
local p = ok(parse.pkg(fixture("pkg.dpkg.debian-12")))
check.eq(p.manager, "dpkg")
local n = 0
for _ in pairs(p.packages) do n = n + 1 end
check.eq(n, 725, "every ii line")
check.eq(p.packages.openssl.version, "3.0.19-1~deb12u2"); check.eq(p.packages.openssl.arch, "amd64")
check.eq(p.packages.adduser.arch, "all")
p = ok(parse.pkg(fixture("pkg.dpkg.ubuntu-22.04")))
check.eq(p.packages.bash.version, "5.1-6ubuntu1")
check.eq(p.packages.apache2, nil, "rc: removed, configuration left")
check.eq(p.packages.snapd, nil, "un: not installed")
check.eq(p.packages["nginx-common"].version, "1.18.0-6ubuntu14.4", "iU: unpacked, its files are there")
check.eq(p.packages["linux-image-5.15.0-91-generic"].version, "5.15.0-91.101", "hi: held")
check.eq(p.packages["openssh-server"].version, "1:8.9p1-3ubuntu0.6", "epoch kept")
check.eq(p.packages.libc6.arch, "amd64", "the first architecture under the plain name")
check.eq(p.packages["libc6:i386"].version, "2.35-0ubuntu3.5")
check.eq(p.packages["libc6:amd64"].arch, "amd64")
p = ok(parse.pkg(fixture("pkg.rpm.rocky-9")))
check.eq(p.manager, "rpm")
check.eq(p.packages.bash.version, "5.1.8-6.el9_1"); check.eq(p.packages.openssl.version, "1:3.0.7-24.el9")
check.eq(p.packages.tzdata.arch, "noarch"); check.eq(p.packages["glibc:i686"].arch, "i686")
check.eq(p.packages["gpg-pubkey"].arch, nil)
p = ok(parse.pkg(fixture("pkg.apk.alpine-3.19")))
check.eq(p.manager, "apk")
check.eq(p.packages.musl.version, "1.2.4_git20230717-r4"); check.eq(p.packages.musl.arch, "x86_64")
check.eq(p.packages.busybox.version, "1.36.1-r15")
check.eq(p.packages.openssl.version, "3.1.4-r2", "the last block needs no blank line")
v, why = parse.pkg("pacman\nfoo 1\n")
check.eq(v, nil); check.eq(why:find("no package manager", 1, true) ~= nil, true, why)
check.eq(next(ok(parse.pkg("dpkg\n")).packages), nil, "an empty list")

-- service ------------------------------------------------------------------------------------
local function svc(name) return ok(parse.service(fixture("service." .. name))) end
local s = svc("sysv-stopped-enabled.debian-12")
check.eq(s.manager, "sysv"); check.eq(s.exists, true); check.eq(s.active, false); check.eq(s.enabled, true)
check.eq(s.state, "3")
s = svc("sysv-rcS.debian-12")
check.eq(s.active, true); check.eq(s.enabled, true, "started from rcS.d")
s = svc("sysv-hwclock.debian-12")
check.eq(s.active, false, "status 1: dead"); check.eq(s.state, "1")
s = svc("sysv-absent.debian-12")
check.eq(s.exists, false); check.eq(s.active, false); check.eq(s.enabled, false)
s = svc("systemd-running-enabled.debian-12")
check.eq(s.manager, "systemd"); check.eq(s.exists, true); check.eq(s.active, true); check.eq(s.enabled, true)
check.eq(s.state, "active/running")
s = svc("systemd-stopped-disabled.rocky-9")
check.eq(s.active, false); check.eq(s.enabled, false)
s = svc("systemd-absent.ubuntu-22.04")
check.eq(s.exists, false); check.eq(s.enabled, false)
s = svc("systemd-static.debian-12")
check.eq(s.exists, true); check.eq(s.active, true); check.eq(s.enabled, nil, "static: not enableable")
s = svc("systemd-masked.ubuntu-22.04")
check.eq(s.exists, true); check.eq(s.enabled, false); check.eq(s.load_state, "masked")
s = svc("openrc-started.alpine-3.19")
check.eq(s.manager, "openrc"); check.eq(s.active, true); check.eq(s.enabled, true)
s = svc("openrc-stopped.alpine-3.19")
check.eq(s.active, false); check.eq(s.enabled, false)
v, why = parse.service("manager=upstart\n")
check.eq(v, nil); check.eq(why:find("no init system", 1, true) ~= nil, true, why)

-- user, group --------------------------------------------------------------------------------
local u = ok(parse.user(fixture("user.root.debian-12")))
check.eq(u.name, "root"); check.eq(u.uid, 0); check.eq(u.gid, 0); check.eq(u.home, "/root")
check.eq(u.shell, "/bin/bash"); check.list_eq(u.groups, { "root" })
u = ok(parse.user(fixture("user.unprivileged.debian-12")))
check.eq(u.name, "drover-test"); check.eq(u.uid, 1001); check.eq(u.gecos, ""); check.eq(u.shell, "/bin/sh")
u = ok(parse.user(fixture("user.postgres.debian-12")))
check.eq(u.gecos, "PostgreSQL administrator,,,"); check.list_eq(u.groups, { "postgres", "ssl-cert" })
u = ok(parse.user(fixture("user.alpine-3.19")))
check.eq(u.shell, "/sbin/nologin"); check.list_eq(u.groups, { "nginx", "www-data" })
check.eq(ok(parse.passwd("x:x:1:2:g:/h:/s")).groups, nil)
local g = ok(parse.group(fixture("group.sudo.debian-12")))
check.eq(g.name, "sudo"); check.eq(g.gid, 27); check.list_eq(g.members, {})
g = ok(parse.group(fixture("group.members.debian-12")))
check.eq(g.name, "ssl-cert"); check.eq(g.gid, 103); check.list_eq(g.members, { "postgres" })
g = ok(parse.group(fixture("group.wheel.rocky-9")))
check.list_eq(g.members, { "alice", "bob" })
check.eq(parse.user(fixture("user.absent.debian-12")), nil, "the absent marker is not a user")

-- mem ----------------------------------------------------------------------------------------
local m = ok(parse.meminfo(fixture("meminfo.debian-12")))
check.eq(m.total, 24683584 * 1024); check.eq(m.free, 17591408 * 1024)
check.eq(m.available, 23653732 * 1024); check.eq(math.type(m.total), "integer")
check.eq(m.fields.HugePages_Total, 0, "counts are not in kB")
m = ok(parse.meminfo(fixture("meminfo.linux-3.2")))
check.eq(m.available, (153636 + 208964 + 1285644) * 1024, "no MemAvailable: free + buffers + cached")
check.eq(m.swap_total, 1046524 * 1024); check.eq(m.swap_free, 1040896 * 1024)

-- disk ---------------------------------------------------------------------------------------
local rows = ok(parse.df(fixture("df.debian-12")))
check.eq(#rows, 4)
check.eq(rows[3].filesystem, "/dev/vda"); check.eq(rows[3].mount, "/")
check.eq(rows[3].size, 264212084 * 1024); check.eq(rows[3].used, 23489896 * 1024)
check.eq(rows[3].available, 71795992 * 1024); check.eq(rows[3].capacity, 25)
rows = ok(parse.df(fixture("df-path.debian-12")))
check.eq(#rows, 1); check.eq(rows[1].mount, "/"); check.eq(rows[1].capacity, 25)
rows = ok(parse.df(fixture("df.alpine-3.19")))
check.eq(#rows, 5); check.eq(rows[2].filesystem, "devtmpfs"); check.eq(rows[2].used, 0)
check.eq(rows[5].filesystem, "//nas/backups share"); check.eq(rows[5].mount, "/mnt/nas backups")
v, why = parse.df("nothing here")
check.eq(v, nil); check.eq(why:find("no header", 1, true) ~= nil, true, why)

-- cpu ----------------------------------------------------------------------------------------
local cpu = ok(parse.cpu(fixture("cpu.x86_64.debian-12")))
check.eq(cpu.count, 2); check.eq(cpu.processors, 2); check.eq(cpu.model, "AMD EPYC")
check.eq(cpu.vendor, "AuthenticAMD")
cpu = ok(parse.cpu(fixture("cpu.aarch64.ubuntu-22.04")))
check.eq(cpu.count, 4); check.eq(cpu.processors, 4); check.eq(cpu.model, "Raspberry Pi 4 Model B Rev 1.1")
cpu = ok(parse.cpu(fixture("cpu.no-nproc.alpine-3.19")))
check.eq(cpu.count, 2, "no nproc: the processors listed"); check.eq(cpu.vendor, "GenuineIntel")
check.eq(cpu.model, "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz")

-- randomized: every parser, on every fixture mutated (lines dropped, truncated, junk bytes,
-- lines shuffled), on empty text and on random bytes, returns a value or nil and a reason,
-- and never raises
local parsers = {}
for name, fn in pairs(parse) do
  if type(fn) == "function" and name ~= "lines" then parsers[#parsers + 1] = name end
end
table.sort(parsers)
check.eq(#parsers >= 17, true, "parsers found: " .. table.concat(parsers, ","))
local texts = {}
for line in io.popen("ls " .. DIR):lines() do
  if line ~= "README.md" then texts[#texts + 1] = fixture(line) end
end
check.eq(#texts >= 40, true, "fixtures found: " .. #texts)
local seed = tonumber(os.getenv("DROVER_FUZZ_SEED") or "") or os.time()
math.randomseed(seed)
local function mutate(t)
  local ls = parse.lines(t)
  local how = math.random(6)
  if how == 1 and #ls > 0 then table.remove(ls, math.random(#ls))
  elseif how == 2 then
    return t:sub(1, math.random(0, #t))
  elseif how == 3 then
    local pos = math.random(0, #t)
    local junk = {}
    for i = 1, math.random(1, 20) do junk[i] = string.char(math.random(0, 255)) end
    return t:sub(1, pos) .. table.concat(junk) .. t:sub(pos + 1)
  elseif how == 4 and #ls > 1 then
    local i, j = math.random(#ls), math.random(#ls)
    ls[i], ls[j] = ls[j], ls[i]
  elseif how == 5 then
    return (t:gsub("[|:\t=]", function(c) if math.random(4) == 1 then return "" end end))
  else
    return t:gsub("\n", "\r\n")
  end
  return table.concat(ls, "\n")
end
local cases = 0
local function try(name, text)
  local okcall, value, reason = pcall(parse[name], text)
  if not okcall then
    error(("parse.%s raised on %q (seed %d): %s"):format(name, text:sub(1, 300), seed, tostring(value)))
  end
  if value == nil and type(reason) ~= "string" then
    error(("parse.%s gave neither a value nor a reason (seed %d)"):format(name, seed))
  end
  cases = cases + 1
end
for _, name in ipairs(parsers) do
  try(name, "")
  try(name, "\n\n\n")
  for _ = 1, 30 do
    local junk = {}
    for i = 1, math.random(0, 200) do junk[i] = string.char(math.random(0, 255)) end
    try(name, table.concat(junk))
  end
  for _, t in ipairs(texts) do
    for _ = 1, 8 do try(name, mutate(t)) end
  end
end
check.eq(cases > 5000, true, "cases run: " .. cases)

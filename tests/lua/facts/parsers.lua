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

-- needs: sshd
-- sftp against a real sshd: 100 MB round trip both ways, empty file, names with spaces and
-- unicode, read/write, stat (nil when missing), list, mkdir, rename, chmod, remove, skip_same.
local check = require "check"
local fx = require "fixture"
local h = fx.host()
local here, there = fx.local_dir(), fx.remote_dir(h)

-- 100 MB of random bytes, up and back down, SHA-256 equal
local big = here .. "/big.bin"
fx.sh("head -c 100000000 /dev/urandom > " .. fx.q(big))
local up = h:put(big, there .. "/big.bin")
check.eq(up.changed, true); check.eq(up.bytes, 100000000); check.eq(up.files, 1)
check.eq(h:run("sha256sum " .. fx.q(there .. "/big.bin")).stdout:sub(1, 64), fx.sha256(big), "uploaded hash")
local down = h:get(there .. "/big.bin", here .. "/big.back")
check.eq(down.bytes, 100000000)
check.eq(fx.sha256(here .. "/big.back"), fx.sha256(big), "downloaded hash")

-- skip_same: unchanged content is not sent again
local again = h:put(big, there .. "/big.bin")
check.eq(again.changed, false, "skip_same"); check.eq(again.bytes, 0)
local forced = h:put(big, there .. "/big.bin", { skip_same = false })
check.eq(forced.changed, true); check.eq(forced.bytes, 100000000)

-- the mode comes from the local file unless given
fx.sh("chmod 0751 " .. fx.q(big))
local chm = h:put(big, there .. "/big.bin")
check.eq(chm.changed, true, "mode change is a change"); check.eq(chm.bytes, 0, "mode-only change sends no data")
check.eq(h:stat(there .. "/big.bin").perms, "0751")

-- empty file
fx.write(here .. "/empty", "")
check.eq(h:put(here .. "/empty", there .. "/empty").changed, true)
local st = h:stat(there .. "/empty")
check.eq(st.type, "file"); check.eq(st.size, 0)
check.eq(h:read(there .. "/empty"), "")
check.eq(h:get(there .. "/empty", here .. "/empty.back").bytes, 0)
check.eq(fx.read(here .. "/empty.back"), "")

-- spaces and unicode in names
local odd = "a name with spaces ünïcødé ✓.txt"
fx.write(here .. "/" .. odd, "odd\n")
h:put(here .. "/" .. odd, there .. "/" .. odd)
check.eq(h:run("cat " .. fx.q(there .. "/" .. odd)).stdout, "odd\n")
h:get(there .. "/" .. odd, here .. "/back " .. odd)
check.eq(fx.read(here .. "/back " .. odd), "odd\n")

-- into an existing directory, like cp
h:mkdir(there .. "/into")
h:put(here .. "/empty", there .. "/into")
check.eq(h:stat(there .. "/into/empty").type, "file")

-- write / read, binary-safe, with a mode
local blob = "line\n\0\1\2\255 end"
local w = h:write(there .. "/blob", blob, { mode = "0600" })
check.eq(w.changed, true); check.eq(w.bytes, #blob)
check.eq(h:read(there .. "/blob"), blob)
check.eq(h:stat(there .. "/blob").perms, "0600")
check.eq(h:write(there .. "/blob", blob, { mode = "0600" }).changed, false)
check.eq(h:write(there .. "/blob", "new", { mode = tonumber("640", 8) }).changed, true)
check.eq(h:read(there .. "/blob"), "new")
check.eq(h:stat(there .. "/blob").mode, tonumber("640", 8))

-- stat: nil for a missing path; a symlink with follow = false
check.eq(h:stat(there .. "/missing"), nil)
h:run("ln -s blob " .. fx.q(there .. "/link"))
check.eq(h:stat(there .. "/link").type, "file")
check.eq(h:stat(there .. "/link", { follow = false }).type, "symlink")

-- mkdir with parents and mode, list, rename, chmod, remove
h:mkdir(there .. "/a/b/c", { parents = true, mode = "0700" })
check.eq(h:stat(there .. "/a/b/c").type, "dir")
check.eq(h:stat(there .. "/a/b/c").perms, "0700")
h:mkdir(there .. "/a/b/c", { parents = true }) -- exists: fine
check.raises("sftp mkdir " .. there .. "/a", h.mkdir, h, there .. "/a")
local names = {}
for _, e in ipairs(h:list(there)) do names[#names + 1] = e.name .. ":" .. e.type end
check.list_eq(names, { "a:dir", "a name with spaces ünïcødé ✓.txt:file", "big.bin:file", "blob:file",
  "empty:file", "into:dir", "link:symlink" })
h:write(there .. "/r1", "one"); h:write(there .. "/r2", "two")
h:rename(there .. "/r1", there .. "/r2") -- replaces r2
check.eq(h:read(there .. "/r2"), "one"); check.eq(h:stat(there .. "/r1"), nil)
h:chmod(there .. "/r2", "0604")
check.eq(h:stat(there .. "/r2").perms, "0604")
check.raises("not empty", h.remove, h, there .. "/a")
h:remove(there .. "/a", { recursive = true })
check.eq(h:stat(there .. "/a"), nil)
h:remove(there .. "/r2")
check.eq(h:stat(there .. "/r2"), nil)

-- errors: host, operation, path, cause, and the sudo hint where it applies
local e = check.raises("sftp read " .. there .. "/nope: no such file or directory", h.read, h, there .. "/nope")
check.eq(e:find("127.0.0.1:", 1, true) ~= nil, true, e)
e = check.raises("permission denied", h.write, h, "/etc/drover-test-denied", "x")
check.eq(e:find("sftp write /etc/drover-test-denied", 1, true) ~= nil, true, e)
check.eq(e:find("sudo = true", 1, true) ~= nil, true, e)
check.raises("is a directory", h.put, h, here, there .. "/x")
check.raises("mode must be an octal string", h.write, h, there .. "/m", "x", { mode = "rw-r--r--" })

-- owner/group where permitted: our own group works, another owner needs sudo
local own = h:write(there .. "/owned", "x", { group = "drover-test" })
check.eq(own.changed, true)
check.eq(fx.sh("stat -c %G " .. fx.q(there .. "/owned")), "drover-test\n")
e = check.raises("cannot set owner root", h.write, h, there .. "/owned", "y", { owner = "root" })
check.eq(e:find("sudo = true", 1, true) ~= nil, true, e)
check.eq(h:read(there .. "/owned"), "x", "old content kept when chown fails")

-- AES-GCM is preferred when the CPU has AES instructions (about twice chacha20's throughput)
local cpu = fx.read("/proc/cpuinfo")
local log = fx.read(os.getenv("DROVER_TEST_SSH_LOG"))
if cpu:find("%f[%w]aes%f[%W]") and cpu:find("pclmulqdq", 1, true) then
  check.eq(log:find("client->server cipher: aes128-gcm@openssh.com", 1, true) ~= nil, true, "AES-GCM negotiated")
else
  check.eq(log:find("client->server cipher: chacha20-poly1305@openssh.com", 1, true) ~= nil, true, "chacha20 negotiated")
end

-- no temp files left behind by any of this
check.eq(h:run("ls -A " .. fx.q(there) .. " | grep drover- || true").stdout, "")

fx.sh("rm -rf " .. fx.q(here))
h:run("rm -rf " .. fx.q(there))

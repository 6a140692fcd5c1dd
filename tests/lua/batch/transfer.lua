-- needs: sshd*8
-- time-limit: 60
-- drover put / get across 8 sshd: the upload lands (atomically) and reports per host; get
-- writes LOCAL_DIR/<host>/<name> so hosts never overwrite each other; -r copies trees.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(8)
fx.sh("chmod 755 " .. fx.q(dir))
local i = " -i " .. fx.q(inv)
-- each sshd serves the same machine, so each host gets its own remote directory
local remote = {}
for n = 1, 8 do
  remote[n] = ("%s/remote-h%02d"):format(dir, n)
  fx.sh("mkdir -p " .. fx.q(remote[n]) .. " && chown drover-test " .. fx.q(remote[n]))
end
fx.write(dir .. "/app.conf", "setting = 1\n")

-- put: one host at a time so each writes its own directory
for n = 1, 8 do
  local code, out, err = fx.drover(("put%s -H h%02d %s %s"):format(i, n, fx.q(dir .. "/app.conf"), fx.q(remote[n] .. "/")))
  check.eq(code, 0, err)
  check.eq(out:find(("h%02d | put %s/: changed: 1 file, 12 bytes"):format(n, remote[n]), 1, true) ~= nil, true, out)
  check.eq(fx.read(remote[n] .. "/app.conf"), "setting = 1\n")
end
-- the same file again: unchanged everywhere (all hosts at once, same target file)
local code, out, err = fx.drover(("put%s -g all %s %s"):format(i, fx.q(dir .. "/app.conf"), fx.q(remote[1] .. "/app.conf")))
check.eq(code, 0, err)
local unchanged = select(2, out:gsub("unchanged", ""))
check.eq(unchanged, 8, out)

-- get: each host's copy in its own directory
code, out, err = fx.drover(("get%s -g all %s %s"):format(i, fx.q(remote[1] .. "/app.conf"), fx.q(dir .. "/got")))
check.eq(code, 0, err)
for n = 1, 8 do
  check.eq(fx.read(("%s/got/h%02d/app.conf"):format(dir, n)), "setting = 1\n", "h" .. n)
end

-- a tree with -r
fx.sh(("mkdir -p %s/tree/sub && echo a > %s/tree/a && echo b > %s/tree/sub/b"):format(fx.q(dir), fx.q(dir), fx.q(dir)))
code, out, err = fx.drover(("put%s -r -H h01 %s %s"):format(i, fx.q(dir .. "/tree"), fx.q(remote[1] .. "/tree")))
check.eq(code, 0, err)
check.eq(fx.read(remote[1] .. "/tree/sub/b"), "b\n")
code, out, err = fx.drover(("get%s -r -H h01,h02 %s %s"):format(i, fx.q(remote[1] .. "/tree"), fx.q(dir .. "/trees")))
check.eq(code, 0, err)
check.eq(fx.read(dir .. "/trees/h02/tree/sub/b"), "b\n")

-- a missing remote file fails that host with the sftp error
code, out, err = fx.drover(("get%s -H h03 /nonexistent/file %s"):format(i, fx.q(dir .. "/got")))
check.eq(code, 1)
check.eq(err:find("failed h03: sftp get /nonexistent/file: no such file or directory", 1, true) ~= nil, true, err)
fx.sh("rm -rf " .. fx.q(dir))

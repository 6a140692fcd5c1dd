-- needs: sshd
-- time-limit: 30
-- A compromised host cannot steer sftp.get outside its local directory: a symlink fetched
-- by one recursive get is replaced, never followed, when the remote side later puts a
-- directory or a file at that name; set-id bits are not copied; odd but legal names (a
-- newline, `...`) stay inside. The victim directories are created and removed by this test.
local check = require "check"
local fx = require "fixture"
local h = fx.host()
local here, there = fx.local_dir(), fx.remote_dir(h)
local victim = fx.local_dir()
fx.sh("chmod 0755 " .. fx.q(victim) .. " && printf keep > " .. fx.q(victim .. "/file") .. " && chmod 0644 " .. fx.q(victim .. "/file"))
local function victim_state()
  return fx.sh(("cd %s && stat -c '%%a' . && find . -printf '%%y %%m %%p %%s\\n' | sort && cat file"):format(fx.q(victim)))
end
local before = victim_state()

-- round 1: the remote tree holds symlinks into the victim
local tree = there .. "/tree"
h:run(("mkdir %s && ln -s %s %s/sub && ln -s %s %s/f"):format(fx.q(tree), fx.q(victim), fx.q(tree),
  fx.q(victim .. "/file"), fx.q(tree)))
local copy = here .. "/copy"
local r1 = h:get(tree, copy, { recursive = true })
check.eq(r1.files, 2)
check.eq(fx.sh("readlink " .. fx.q(copy .. "/sub")), victim .. "\n", "symlink recreated as a symlink")

-- round 2: the remote side swaps the links for a directory holding evil.txt and a file
h:run(("rm %s/sub %s/f && mkdir -m 0777 %s/sub && printf evil > %s/sub/evil.txt && printf evil > %s/f && chmod 4755 %s/f")
  :format(fx.q(tree), fx.q(tree), fx.q(tree), fx.q(tree), fx.q(tree), fx.q(tree)))
local r2 = h:get(tree, copy, { recursive = true })
check.eq(r2.files, 2)
check.eq(victim_state(), before, "nothing written or chmod'ed through the old symlinks")
check.eq(fx.read(copy .. "/sub/evil.txt"), "evil", "the link became a real directory")
check.eq(fx.sh("stat -c '%F' " .. fx.q(copy .. "/sub")), "directory\n")
check.eq(fx.read(copy .. "/f"), "evil")
check.eq(fx.sh("stat -c '%F %a' " .. fx.q(copy .. "/f")), "regular file 755\n", "link replaced; no set-uid bit")

-- a single-file get over a symlink left in the destination replaces the link
h:run(("printf new > %s/one"):format(fx.q(there)))
fx.sh(("ln -s %s %s"):format(fx.q(victim .. "/file"), fx.q(here .. "/one")))
h:get(there .. "/one", here .. "/one")
check.eq(fx.sh("stat -c '%F' " .. fx.q(here .. "/one")), "regular file\n")
check.eq(victim_state(), before, "single get did not write through the link")

-- legal but odd names are kept, inside the copy
h:run(("printf n > %s && printf d > %s/..."):format(fx.q(tree .. "/new\nline"), fx.q(tree)))
h:get(tree, copy, { recursive = true })
check.eq(fx.read(copy .. "/new\nline"), "n")
check.eq(fx.read(copy .. "/..."), "d")

-- a remote FIFO inside a tree is refused by name, and the session still works
h:run("mkfifo " .. fx.q(tree .. "/pipe"))
local started = task.now()
check.raises(tree .. "/pipe: is not a regular file, directory or symlink", h.get, h, tree, copy, { recursive = true })
check.between(task.now() - started, 0, 10, "refused without waiting on the FIFO")
check.eq(h:read(tree .. "/f"), "evil", "sftp session not blocked")

check.eq(victim_state(), before, "victim untouched at the end")
check.eq(fx.sh("find " .. fx.q(here) .. " -name '*.drover-*' | wc -l"), "0\n", "no local temp files")
fx.sh("rm -rf " .. fx.q(here) .. " " .. fx.q(victim)); h:run("rm -rf " .. fx.q(there))

-- needs: sshd
-- Recursive put and get of a tree: nested directories, modes kept, symlinks recreated as
-- symlinks (never followed), a second put changes nothing, an edited file is the only change.
local check = require "check"
local fx = require "fixture"
local h = fx.host()
local here, there = fx.local_dir(), fx.remote_dir(h)
local src = here .. "/site"
fx.sh(("mkdir -p %s/conf.d/deep/er %s/bin && cd %s && printf 'a\\n' > conf.d/a.conf && printf 'b\\n' > conf.d/deep/b.conf"
  .. " && printf 'c\\n' > conf.d/deep/er/c.txt && printf '#!/bin/sh\\necho hi\\n' > bin/run && chmod 0755 bin/run"
  .. " && chmod 0600 conf.d/a.conf && chmod 0750 conf.d/deep && ln -s conf.d/a.conf current && ln -s /nonexistent dangling"
  .. " && : > empty"):format(fx.q(src), fx.q(src), fx.q(src)))

local function listing(root)
  -- type, mode, path and link target or content hash of every entry, sorted
  return fx.sh(("cd %s && find . -mindepth 1 -printf '%%y %%m %%p %%l\\n' | sort"):format(fx.q(root)))
end

local dest = there .. "/site"
local r = h:put(src, dest, { recursive = true })
check.eq(r.changed, true); check.eq(r.files, 7)
check.eq(listing(dest), listing(src), "remote tree mirrors the local one")
check.eq(h:run("sh " .. fx.q(dest .. "/bin/run")).stdout, "hi\n")
check.eq(h:stat(dest .. "/current", { follow = false }).type, "symlink")
check.eq(h:run("readlink " .. fx.q(dest .. "/dangling")).stdout, "/nonexistent\n")

-- idempotent: nothing changes the second time
local again = h:put(src, dest, { recursive = true })
check.eq(again.changed, false, "second put changes nothing"); check.eq(again.bytes, 0)
-- one edit, one file sent
fx.write(src .. "/conf.d/deep/b.conf", "b2\n")
local edit = h:put(src, dest, { recursive = true })
check.eq(edit.changed, true); check.eq(edit.files, 1); check.eq(edit.bytes, 3)

-- get it back
local back = here .. "/back"
local g = h:get(dest, back, { recursive = true })
check.eq(g.files, 7)
check.eq(listing(back), listing(src), "local copy mirrors the remote tree")
check.eq(fx.read(back .. "/conf.d/deep/b.conf"), "b2\n")

-- a directory without recursive is refused with the hint
check.raises("pass recursive = true", h.get, h, dest, here .. "/x")
check.eq(h:run("find " .. fx.q(there) .. " -name '*.drover-*' | wc -l").stdout, "0\n", "no temp files remote")
check.eq(fx.sh("find " .. fx.q(here) .. " -name '*.drover-*' | wc -l"), "0\n", "no temp files local")
fx.sh("rm -rf " .. fx.q(here)); h:run("rm -rf " .. fx.q(there))

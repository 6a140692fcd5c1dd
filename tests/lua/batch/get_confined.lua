-- needs: sshd*2
-- time-limit: 40
-- `drover get` keeps every host inside LOCAL_DIR/<host>/: a second `get -r` never follows a
-- symlink the first one created (remote `sub -> victim`, then `sub` a directory holding
-- evil.txt); `/pub/..` and other paths without a last name are refused; `-r /pub/x/..` is
-- named `pub`; a host named `..` cannot write to LOCAL_DIR/.. . The victim directory is made
-- and removed here and must be untouched.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local i = " -i " .. fx.q(inv)
fx.sh("chmod 755 " .. fx.q(dir))
local remote = dir .. "/remote"
fx.sh(("mkdir -p %s/pub && chown -R drover-test %s"):format(fx.q(remote), fx.q(remote)))
local victim = fx.local_dir()
fx.sh("chmod 0755 " .. fx.q(victim))
local function victim_state()
  return fx.sh(("cd %s && stat -c '%%a' . && find . | sort"):format(fx.q(victim)))
end
local before = victim_state()
local function as_remote(cmd) fx.sh("su drover-test -s /bin/sh -c " .. fx.q(cmd)) end
local out_dir = dir .. "/out"

-- round 1: sub is a symlink to the victim
as_remote(("printf data > %s/pub/data.txt && ln -s %s %s/pub/sub"):format(fx.q(remote), fx.q(victim), fx.q(remote)))
local code, out, err = fx.drover(("get%s -g all -r %s %s"):format(i, fx.q(remote .. "/pub"), fx.q(out_dir)))
check.eq(code, 0, err .. out)
check.eq(fx.sh("readlink " .. fx.q(out_dir .. "/h01/pub/sub")), victim .. "\n")
-- round 2: sub becomes a directory with evil.txt
as_remote(("rm %s/pub/sub && mkdir -m 0777 %s/pub/sub && printf evil > %s/pub/sub/evil.txt")
  :format(fx.q(remote), fx.q(remote), fx.q(remote)))
code, out, err = fx.drover(("get%s -g all -r %s %s"):format(i, fx.q(remote .. "/pub"), fx.q(out_dir)))
check.eq(code, 0, err .. out)
check.eq(victim_state(), before, "nothing written or chmod'ed in the victim")
for _, host in ipairs({ "h01", "h02" }) do
  check.eq(fx.read(("%s/%s/pub/sub/evil.txt"):format(out_dir, host)), "evil", host)
  check.eq(fx.sh(("stat -c '%%F %%a' %s/%s/pub/sub"):format(fx.q(out_dir), host)), "directory 777\n", host)
end

-- paths that end in no name are refused, and nothing lands beside the host directories
local listing = fx.sh("cd " .. fx.q(dir) .. " && find . | sort")
for _, bad in ipairs({ "/pub/..", "/", ".", "/tmp/./..", "pub/.." }) do
  code, out, err = fx.drover(("get%s -H h01 -r %s %s"):format(i, fx.q(bad), fx.q(out_dir)))
  check.eq(code, 1, bad .. ": " .. out .. err)
  check.eq(err:find("does not end in a name to give the local copy", 1, true) ~= nil, true, err)
end
check.eq(fx.sh("cd " .. fx.q(dir) .. " && find . | sort"), listing, "refused gets wrote nothing")
-- `..` is resolved lexically: pub/sub/.. is pub
code, out, err = fx.drover(("get%s -H h02 -r %s %s"):format(i, fx.q(remote .. "/pub/sub/.."), fx.q(dir .. "/norm")))
check.eq(code, 0, err)
check.eq(fx.read(dir .. "/norm/h02/pub/data.txt"), "data")
check.eq(out:find("-> " .. dir .. "/norm/h02/pub: ", 1, true) ~= nil, true, out)

-- a host named `..` (or `.`) gets no LOCAL_DIR/.. : refused, or the inventory rejects it
local port, key = os.getenv("DROVER_TEST_SSH_PORT"), os.getenv("DROVER_TEST_SSH_KEY")
local dots = dir .. "/dots.ini"
fx.write(dots, table.concat({ "[defaults]", "user = " .. os.getenv("DROVER_TEST_SSH_USER"),
  "known_hosts = " .. dir .. "/known_hosts", "address = 127.0.0.1", "port = " .. port, "identity = " .. key,
  "[host ..]", "[host .]", "" }, "\n"))
fx.sh("mkdir -p " .. fx.q(dir .. "/deep/down"))
local deep_before = fx.sh("cd " .. fx.q(dir .. "/deep") .. " && find . | sort")
code, out, err = fx.drover(("get -i %s -H .. -H . %s %s"):format(fx.q(dots), fx.q(remote .. "/pub/data.txt"), fx.q(dir .. "/deep/down")))
check.eq(code ~= 0, true, "host names . and .. must not succeed: " .. out .. err)
-- (if the inventory let them through, the error names the refused local name)
check.eq(err:find("failed ..:", 1, true) == nil or err:find('the local name ".."', 1, true) ~= nil, true, err)
check.eq(fx.sh("cd " .. fx.q(dir .. "/deep") .. " && find . | sort"), deep_before, "nothing written above LOCAL_DIR")
check.eq(fx.read(dir .. "/deep/data.txt"), nil)

check.eq(victim_state(), before, "victim untouched at the end")
fx.sh("rm -rf " .. fx.q(dir) .. " " .. fx.q(victim))

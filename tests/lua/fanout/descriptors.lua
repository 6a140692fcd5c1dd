-- needs: sshd*10
-- time-limit: 120
-- Descriptors in use follow --forks, not the number of hosts: a finished host's connection is
-- closed. 30 hosts (3 names per sshd, each its own connection) with --forks 2, for `drover
-- run -g` and `drover exec`; drover's open descriptors are sampled from /proc while it runs.
local check = require "check"
local fx = require "fixture"
local dir = fx.local_dir()
local lines = { "[defaults]", "user = " .. os.getenv("DROVER_TEST_SSH_USER"),
  "known_hosts = " .. dir .. "/known_hosts", "", "[group all]" }
local names = {}
for i = 1, 30 do names[i] = ("n%02d"):format(i) end
lines[#lines + 1] = "hosts = " .. table.concat(names, ", ")
for i = 1, 30 do
  local k = (i - 1) % 10 + 1
  local suffix = k == 1 and "" or tostring(k)
  lines[#lines + 1] = ("[host %s]"):format(names[i])
  lines[#lines + 1] = "address = 127.0.0.1"
  lines[#lines + 1] = "port = " .. os.getenv("DROVER_TEST_SSH" .. suffix .. "_PORT")
  lines[#lines + 1] = "identity = " .. os.getenv("DROVER_TEST_SSH" .. suffix .. "_KEY")
end
local inv = dir .. "/inventory.ini"
fx.write(inv, table.concat(lines, "\n") .. "\n")
fx.write(dir .. "/step.lua", 'ssh.run("sleep 0.2")\n')

local function fds(pid)
  local p = io.popen("ls /proc/" .. pid .. "/fd 2>/dev/null | wc -l")
  local n = tonumber(p:read("a")); p:close()
  return n or 0
end

--- The most descriptors drover holds while running `args` (sampled), and its exit/output.
local function peak(args, hosts)
  local pid, wait = fx.start_drover(args)
  local most, samples = 0, 0
  while fx.sh("test -d /proc/" .. pid .. " && echo yes || true") ~= "" do
    local n = fds(pid)
    if n > 0 then most, samples = math.max(most, n), samples + 1 end
    task.sleep(0.02)
  end
  local code, text = wait()
  check.eq(code, 0, text)
  check.eq(text:find(("== %d hosts: %d ok"):format(hosts, hosts), 1, true) ~= nil, true, text)
  check.eq(samples > 3, true, "too few samples: " .. samples)
  return most
end

-- The peak over 30 hosts is the peak over 4 (same --forks): fixed costs (runtimes, signal
-- handling) do not count, a connection kept per finished host would (it was +26), and so
-- would --out-dir files kept open per finished host (+52).
local out_dir = dir .. "/out"
for _, form in ipairs({
  { "run %s -i %s %s --forks 2", fx.q(dir .. "/step.lua") },
  { "exec %s-i %s %s --forks 2 -- sleep 0.2", "" },
  { "exec %s-i %s %s --forks 2 -- 'echo out; echo err >&2; sleep 0.2'", "--out-dir " .. fx.q(out_dir) .. " " },
}) do
  local few = peak(form[1]:format(form[2], fx.q(inv), "-H n01,n02,n03,n04"), 4)
  local all = peak(form[1]:format(form[2], fx.q(inv), "-g all"), 30)
  check.eq(all - few <= 4, true, ("%s: peak %d descriptors for 30 hosts, %d for 4"):format(form[1], all, few))
end
-- and every host's files were written in full before they were closed
check.eq(fx.sh("ls " .. fx.q(out_dir) .. " | wc -l"):match("%d+"), "60")
check.eq(fx.sh("cat " .. fx.q(out_dir) .. "/n17.out " .. fx.q(out_dir) .. "/n17.err"), "out\nerr\n")

-- Under a tiny open-files limit (hosts run one at a time then) every host still succeeds,
-- under strict host key checking too (keys learned above): running out of descriptors is
-- never reported as an unknown host key.
local errf = fx.tmpname()
local p = assert(io.popen(("sh -c 'ulimit -n 24; exec \"$0\" \"$@\"' %s exec -i %s -g all -e host_key_policy=strict -- true 2>%s")
  :format(fx.q(os.getenv("DROVER_EXE")), fx.q(inv), errf)))
local out = p:read("a")
local _, _, code = p:close()
local err = fx.read(errf) or ""
os.remove(errf)
check.eq(code, 0, out .. err)
check.eq(err:find("== 30 hosts: 30 ok", 1, true) ~= nil, true, err)
fx.sh("rm -rf " .. fx.q(dir))

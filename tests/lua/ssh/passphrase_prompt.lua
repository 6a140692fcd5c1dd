-- needs: sshd
-- time-limit: 60
-- On a terminal, an encrypted identity without a configured passphrase is asked for once,
-- without echo. Driven through tmux: drover runs in a pane, the test types the passphrase.
local check = require "check"
local dir = os.getenv("DROVER_TEST_SSH_KEY"):match("^(.*)/[^/]*$")
local keyfile = dir .. "/prompt_key"
check.eq(os.execute(("ssh-keygen -q -t ed25519 -N typed-pass-321 -f %s"):format(keyfile)), true)
local pub = assert(io.open(keyfile .. ".pub")):read("a")
local ak = assert(io.open(os.getenv("DROVER_TEST_AUTHORIZED_KEYS"), "a")); ak:write(pub); ak:close()

local inner = dir .. "/inner.lua"
local f = assert(io.open(inner, "w"))
f:write(([[
local spec = { address = "127.0.0.1", port = %s, user = "drover-test", identity = %q,
  known_hosts = %q, agent = false, ssh_config = false }
local a, b = ssh.connect(spec), ssh.connect(spec)
print(a:run("echo prompted-ok").stdout .. b:run("echo second-host-no-prompt").stdout)
]]):format(os.getenv("DROVER_TEST_SSH_PORT"), keyfile, os.getenv("DROVER_TEST_KNOWN_HOSTS")))
f:close()

local out = dir .. "/inner.out"
local session = "drover-prompt-" .. os.getenv("DROVER_TEST_SSH_PORT")
local function tmux(args) return os.execute("tmux " .. args .. " >/dev/null 2>&1") end
local function pane()
  local p = io.popen("tmux capture-pane -p -t " .. session); local t = p:read("a"); p:close(); return t
end
check.eq(tmux(("new-session -d -s %s -x 120 -y 20 '%s run %s > %s 2>&1; echo exit=$? >> %s'")
  :format(session, os.getenv("DROVER_EXE"), inner, out, out)), true, "tmux started")
local closer <close> = setmetatable({}, { __close = function() tmux("kill-session -t " .. session) end })

local deadline = task.now() + 20
while not pane():find("Enter passphrase for " .. keyfile, 1, true) do
  local fo = io.open(out); local so_far = fo and fo:read("a") or ""; if fo then fo:close() end
  check.eq(task.now() < deadline, true, "prompt shown; pane:\n" .. pane() .. "\noutput:\n" .. so_far)
  task.sleep(0.1)
end
tmux(("send-keys -t %s -l typed-pass-321"):format(session))
tmux(("send-keys -t %s Enter"):format(session))
local text
repeat
  check.eq(task.now() < deadline, true, "drover finished")
  task.sleep(0.1)
  local fo = io.open(out); text = fo and fo:read("a") or ""; if fo then fo:close() end
until text:find("exit=", 1, true)
check.eq(text:find("prompted-ok", 1, true) ~= nil, true, text)
check.eq(text:find("second-host-no-prompt", 1, true) ~= nil, true, text)
check.eq(text:find("exit=0", 1, true) ~= nil, true, text)
check.eq(pane():find("typed-pass-321", 1, true), nil, "no echo of the passphrase")

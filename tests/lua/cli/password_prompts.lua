-- needs: sshd
-- time-limit: 90
-- --ask-pass asks for the login password once, -K for sudo's once, both without echo; the
-- login password reaches every host, sudo's is fed to sudo on stdin (`run`: every host:run
-- through sudo; `exec --sudo`). Driven through tmux as a person would, no key and no agent
-- available, so only the typed password can log in.
local check = require "check"
local fx = require "fixture"
local dir = fx.local_dir()
local port, user = os.getenv("DROVER_TEST_SSH_PORT"), os.getenv("DROVER_TEST_SSH_USER")
local password = os.getenv("DROVER_TEST_SSH_PASSWORD")
local target = ("-H %s@127.0.0.1:%s -e known_hosts=%s"):format(user, port, fx.q(dir .. "/known_hosts"))
local env = ("env HOME=%s SSH_AUTH_SOCK= XDG_STATE_HOME=%s"):format(fx.q(dir), fx.q(dir .. "/state"))


--- Runs drover ARGS in a tmux pane, typing each answer when its prompt shows; returns the
--- output (with `exit=N`) and the pane's text.
local function prompted(name, args, answers)
  local out = dir .. "/" .. name .. ".out"
  local session = ("drover-%s-%s"):format(name, port)
  -- a server of its own: a shared one may be exiting as its last session is killed
  local function tmux(args) return os.execute(("tmux -L %s %s >/dev/null 2>&1"):format(session, args)) end
  local command = ("%s %s %s > %s 2>&1; echo exit=$? >> %s; sleep 30"):format(env, fx.q(os.getenv("DROVER_EXE")), args, out, out)
  check.eq(tmux(("new-session -d -s %s -x 150 -y 20 %s"):format(session, fx.q(command))), true, "tmux started")
  local closer <close> = setmetatable({}, { __close = function() tmux("kill-session -t " .. session) end })
  local function pane()
    local p = io.popen(("tmux -L %s capture-pane -p -t %s"):format(session, session)); local t = p:read("a"); p:close(); return t
  end
  local deadline = task.now() + 30
  local seen = {} -- per prompt text, how many were answered
  for _, a in ipairs(answers) do
    -- each answer waits for a prompt not answered yet
    -- (the pane's lines lose their trailing spaces)
    local prompt = a.prompt:gsub("%s+$", "")
    fx.wait_for("prompt " .. prompt, deadline - task.now(), function()
      local _, shown = pane():gsub(prompt:gsub("%p", "%%%0"), "")
      return shown > (seen[prompt] or 0)
    end)
    seen[prompt] = (seen[prompt] or 0) + 1
    tmux(("send-keys -t %s -l %s"):format(session, fx.q(a.answer)))
    tmux(("send-keys -t %s Enter"):format(session))
  end
  local text
  fx.wait_for("drover finished", deadline - task.now(), function()
    text = fx.read(out) or ""
    return text:find("exit=", 1, true) ~= nil
  end)
  return text, pane()
end

-- run: the login password, then sudo's; a host:run as another user gets sudo's password
local script = dir .. "/sudo.lua"
fx.write(script, [[
print("login " .. ssh.run("whoami").stdout:gsub("%s+$", ""))
local r = ssh.run("id -un; cat", { user = "drover-sudo-target", stdin = "stdin follows\n" })
print("sudo " .. r.stdout:gsub("\n", " "))
]])
local text, pane = prompted("run", ("run %s %s --ask-pass -K"):format(fx.q(script), target),
  { { prompt = "SSH password: ", answer = password }, { prompt = "sudo password: ", answer = password } })
check.eq(text:find("exit=0", 1, true) ~= nil, true, text)
check.eq(text:find("| login " .. user, 1, true) ~= nil, true, text)
check.eq(text:find("| sudo drover-sudo-target stdin follows", 1, true) ~= nil, true, text)
check.eq(pane:find(password, 1, true), nil, "no echo of the passwords:\n" .. pane)
check.eq(text:find(password, 1, true), nil, "the password is in no output")

-- exec --sudo -K: sudo (to root, which the fixture does not allow drover-test) accepts the
-- password and only then refuses the command; a wrong password is refused as such
text = prompted("exec", ("exec %s --ask-pass -K --sudo true"):format(target),
  { { prompt = "SSH password: ", answer = password }, { prompt = "sudo password: ", answer = password } })
check.eq(text:find("is not allowed to execute", 1, true) ~= nil, true, text)
check.eq(text:find("incorrect password", 1, true), nil, text)
text = prompted("wrong", ("exec %s --ask-pass -K --sudo true"):format(target),
  { { prompt = "SSH password: ", answer = password }, { prompt = "sudo password: ", answer = "wrong-sudo-pw-1" } })
check.eq(text:find("incorrect password", 1, true) ~= nil, true, text)
check.eq(text:find("wrong-sudo-pw-1", 1, true), nil, text)

-- a wrong login password fails the host as an auth failure, asked once only
text, pane = prompted("badlogin", ("exec %s --ask-pass true"):format(target),
  { { prompt = "SSH password: ", answer = "not-the-password" } })
check.eq(text:find("exit=1", 1, true) ~= nil, true, text)
check.eq(text:find("authentication failed", 1, true) ~= nil, true, text)
local asked = 0
for _ in pane:gmatch("SSH password:") do asked = asked + 1 end
check.eq(asked, 1, pane)

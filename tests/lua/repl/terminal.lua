-- needs: sshd*3
-- time-limit: 120
-- `drover repl` on a terminal (tmux): prompt with the selection (and ` check` under :check on), Tab completion of a table
-- field and a group name, Ctrl-C during a shell line (back at the prompt within a second,
-- finished hosts kept in `_`, the rest cancelled, no remote process left), the confirmation
-- above the :confirm threshold (once per target set) and not below, history kept across two
-- sessions without the line holding a password, Ctrl-D leaving with 0.
local check = require "check"
local fixture = require "fixture"
local inv, dir = fixture.inventory(3)
local port1 = os.getenv("DROVER_TEST_SSH_PORT")
local session = "drover-repl-" .. port1
local done = dir .. "/done"

local function tmux(args) return os.execute("tmux " .. args .. " >/dev/null 2>&1") end
local function pane()
  local p = io.popen("tmux capture-pane -p -S -200 -t " .. session); local t = p:read("a"); p:close(); return t
end
local function wait_pane(what, secs, from)
  local deadline = task.now() + (secs or 15)
  while true do
    local text = pane()
    local at = text:find(what, from or 1, true)
    if at then return at, text end
    check.eq(task.now() < deadline, true, ("pane shows %q; pane:\n%s"):format(what, text))
    task.sleep(0.05)
  end
end
local function count(text, what)
  local n, at = 0, 1
  while true do
    local s, e = text:find(what, at, true)
    if not s then return n end
    n, at = n + 1, e + 1
  end
end
-- Waits until the last line of the pane is a bare prompt: the REPL waits for input (keys
-- typed before it shows may be swallowed by the editor's terminal query).
local function wait_prompt(prompt)
  fixture.wait_for("an empty prompt", 15, function()
    local last = pane():gsub("%s+$", ""):match("([^\n]*)$")
    return prompt and last == prompt or last:match("^drover%[[^%]]*%]>$") ~= nil
  end)
end
local function keys(text)
  wait_prompt()
  tmux(("send-keys -t %s -l %s"):format(session, fixture.q(text)))
end
local function type_line(text)
  keys(text)
  tmux(("send-keys -t %s Enter"):format(session))
end
local function start()
  check.eq(tmux(("new-session -d -s %s -x 150 -y 50 %s"):format(session, fixture.q(
    ("XDG_STATE_HOME=%s %s repl -i %s -g all; echo exit=$? > %s; sleep 60")
      :format(dir, os.getenv("DROVER_EXE"), inv, done)))), true, "tmux started")
end
local closer <close> = setmetatable({}, { __close = function() tmux("kill-session -t " .. session) end })

start()
wait_pane("drover[all:3]>")
type_line("1 + 1")
wait_pane("\n2\n")
-- a syntax error and a runtime error leave the REPL running
type_line("x = = 1")
wait_pane("unexpected symbol near '='")
type_line("error('runtime boom')")
wait_pane("eval:1: runtime boom")
type_line("40 + 2")
wait_pane("\n42\n")
-- check mode shows in the prompt while it is on
type_line(":check on")
wait_pane("drover[all:3 check]>")
type_line(":check off")
wait_prompt("drover[all:3]>")
-- a multi-line function definition goes on while it is incomplete
type_line("function triple(n)")
tmux(("send-keys -t %s -l %s"):format(session, fixture.q("return n * 3")))
tmux(("send-keys -t %s Enter"):format(session))
tmux(("send-keys -t %s -l end"):format(session))
tmux(("send-keys -t %s Enter"):format(session))
type_line("triple(14)")
wait_pane("\n42\n", 15, (wait_pane("triple(14)")))
-- a shell line on the three hosts
type_line("!uname -n")
wait_pane("(_ = _1: 3 results)")
local text = pane()
for _, h in ipairs({ "h01", "h02", "h03" }) do
  check.eq(text:find(h .. " | ", 1, true) ~= nil, true, h .. " prefixed:\n" .. text)
end
type_line("print('failed: ' .. #_:failed())")
wait_pane("failed: 0")

-- Tab completes a table field and a group name
type_line("config = { region = 'north', retries = 3 }")
keys("config.reg")
tmux(("send-keys -t %s Tab"):format(session))
wait_pane("config.region")
tmux(("send-keys -t %s Enter"):format(session))
wait_pane("\nnorth\n")
keys(":targets ev")
tmux(("send-keys -t %s Tab"):format(session))
wait_pane(":targets even")
tmux(("send-keys -t %s Enter"):format(session))
wait_pane("drover[even:1]>")
type_line(":targets all")
wait_pane("drover[all:3]>")

-- a secret stays out of the history
type_line("secret_pw = { password = 'hunter2-in-history' }")

-- Ctrl-C during a shell line: h01 ends at once, the others sleep
type_line(('!case "$SSH_CONNECTION" in *" %s") echo quick;; *) sleep 37;; esac'):format(port1))
wait_pane("h01 | quick")
-- both sleeps have started remotely
fixture.wait_for("remote sleeps", 15, function() return fixture.remote_processes("^sleep 37$") >= 2 end)
local marks = count(pane(), "drover[all:3]>")
local t0 = task.now()
tmux(("send-keys -t %s C-c"):format(session))
fixture.wait_for("back at the prompt", 5, function() return count(pane(), "drover[all:3]>") > marks end)
local back = task.now() - t0
check.eq(back < 1.0, true, ("back at the prompt within a second (took %.2fs)"):format(back))
type_line("print('kept: ' .. _.h01.outcome .. ' ' .. _.h01.stdout:gsub('\\n', '') .. ' ' .. _.h02.outcome .. ' ' .. _.h03.outcome)")
wait_pane("kept: ok quick cancelled cancelled")
fixture.wait_for("no remote sleep left", 10, function() return fixture.remote_processes("^sleep 37$") == 0 end)

-- the confirmation: above the threshold once per target set, not below
type_line(":confirm 2")
type_line("!echo confirmed-run")
wait_pane("run on all 3? [y/N]")
tmux(("send-keys -t %s -l y"):format(session))
tmux(("send-keys -t %s Enter"):format(session))
wait_pane("h03 | confirmed-run")
type_line("!echo second-run")
wait_pane("h03 | second-run")
check.eq(count(pane(), "run on all 3? [y/N]"), 1, "asked once for the same targets:\n" .. pane())
type_line(":confirm 3")
type_line("!echo below-threshold")
wait_pane("h03 | below-threshold")
check.eq(count(pane(), "[y/N]"), 1, "not asked at or below the threshold:\n" .. pane())
wait_prompt("drover[all:3]>")

-- Ctrl-D leaves with 0
tmux(("send-keys -t %s C-d"):format(session))
fixture.wait_for("drover exited", 10, function() return fixture.read(done) ~= nil end)
check.eq(fixture.read(done), "exit=0\n")
local history = fixture.read(dir .. "/drover/history") or ""
check.eq(history:find("config = { region", 1, true) ~= nil, true, "history written:\n" .. history)
check.eq(history:find("hunter2", 1, true), nil, "no password in the history:\n" .. history)

-- a second session sees the first one's history
tmux("kill-session -t " .. session)
os.remove(done)
start()
wait_prompt("drover[all:3]>")
for _ = 1, 4 do tmux(("send-keys -t %s Up"):format(session)) end
wait_pane("drover[all:3]> !echo confirmed-run")
tmux(("send-keys -t %s C-u C-d"):format(session))
fixture.wait_for("drover exited", 10, function() return fixture.read(done) ~= nil end)

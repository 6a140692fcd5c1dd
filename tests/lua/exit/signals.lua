-- needs: sshd*3
-- time-limit: 90
-- SIGTERM (what `timeout`, systemd and CI send) and SIGHUP (a closed terminal) stop a run as
-- Ctrl-C does: running hosts are cancelled, their remote commands get TERM (none is left),
-- the summary is printed, and the exit code is 143 / 129. For `drover run -g` and `exec`.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(3)
local cases = {
  { signal = "TERM", code = 143, said = "terminated (SIGTERM)" },
  { signal = "HUP", code = 129, said = "hung up (SIGHUP)" },
}
for n, c in ipairs(cases) do
  for _, form in ipairs({ "run", "exec" }) do
    local marker = ("sleep 33.%d%d"):format(n, #form)
    local args
    if form == "run" then
      fx.write(dir .. "/long.lua", ('ssh.run("%s")\n'):format(marker))
      args = ("run %s -i %s -g all"):format(fx.q(dir .. "/long.lua"), fx.q(inv))
    else
      args = ("exec -i %s -g all -- %s"):format(fx.q(inv), fx.q(marker))
    end
    local pid, wait = fx.start_drover(args)
    fx.wait_for("remote commands never started", 20, function() return fx.remote_commands(marker) >= 3 end)
    fx.sh("kill -" .. c.signal .. " " .. pid)
    local code, text = wait()
    check.eq(code, c.code, form .. " " .. c.signal .. ": " .. text)
    check.eq(text:find("== 3 hosts: 3 cancelled", 1, true) ~= nil, true, text)
    check.eq(text:find(c.said, 1, true) ~= nil, true, text)
    fx.wait_for(form .. " " .. c.signal .. ": remote processes left behind", 5,
      function() return fx.remote_processes(marker) == 0 end)
  end
end
fx.sh("rm -rf " .. fx.q(dir))

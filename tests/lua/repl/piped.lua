-- needs: sshd*3
-- time-limit: 90
-- `drover repl` with lines on stdin (no terminal): each line one eval, values printed, shell
-- lines on every target with results as `_`, re-targeting from a result set, connections
-- reused between lines, errors reported without ending the session, exit 1 when a line failed.
local check = require "check"
local fixture = require "fixture"
local inv, dir = fixture.inventory(3)
local port2 = os.getenv("DROVER_TEST_SSH2_PORT")

local lines = {
  "1 + 1",
  "function double(n)",
  "  return n * 2",
  "end",
  "print('double ' .. double(21))",
  "t = { name = 'loop', list = { 1, 2 } }; t.self = t",
  "t",
  "!uname -n",
  "print('failed after uname: ' .. #_:failed() .. ' of ' .. #_)",
  "!echo $SSH_CONNECTION",
  "!echo $SSH_CONNECTION",
  "print('inventory shares it: ' .. tostring(inventory.host('h01'):run('echo $SSH_CONNECTION').stdout == _3.h01.stdout))",
  "print('same connection: ' .. tostring(_2.h01.stdout == _3.h01.stdout and _2.h03.stdout == _3.h03.stdout))",
  -- h02 (the second sshd) fails
  ('!case "$SSH_CONNECTION" in *" %s") echo bad >&2; exit 3;; esac; echo fine'):format(port2),
  "print('failed: ' .. table.concat(_:failed():hosts(), ','))",
  "print('code: ' .. _.h02.code .. ' ' .. _.h02.outcome .. ' stderr ' .. _.h02.stderr)",
  "print('where: ' .. #_:where(function(r) return r.stdout:find('fine') end))",
  "error('runtime trouble')",
  "x = = 1",
  "print('several targets: ' .. tostring(select(2, pcall(ssh.run, 'true'))))",
  ":targets _:failed()",
  ":hosts",
  -- one target is the current host of a line: ssh.run, sftp and facts act on it
  "print('sole target runs: ' .. ssh.run('echo sole on $SSH_CONNECTION').stdout)",
  "print('sole target stat: ' .. sftp.stat('/').type .. ' ' .. require('drover.facts').os().id)",
  "!echo retargeted",
  "print('after retarget: ' .. #_ .. ' ' .. tostring(_.h02 ~= nil))",
  ":targets odd",
  "print('two targets again: ' .. tostring((pcall(ssh.run, 'true'))))",
  "!!",
  "print('repeat: ' .. table.concat(_:hosts(), ','))",
  "_",
  "print('still running')",
}
local path = dir .. "/lines.txt"
fixture.write(path, table.concat(lines, "\n") .. "\n")
local code, out, err = fixture.drover(("repl -i %s -g all < %s"):format(fixture.q(inv), fixture.q(path)))
local both = out .. "\n--- stderr\n" .. err
check.eq(code, 1, "a failed line makes the exit code 1:\n" .. both)
check.eq(out:match("^2\n") ~= nil, true, "an expression prints its value:\n" .. both)
check.eq(out:find("double 42", 1, true) ~= nil, true, "a multi-line function:\n" .. both)
check.eq(out:find("self = <cycle: table:", 1, true) ~= nil, true, "cycles shown:\n" .. both)
check.eq(out:find("list = { 1, 2 }", 1, true) ~= nil, true, "nested tables:\n" .. both)
for _, h in ipairs({ "h01", "h02", "h03" }) do
  check.eq(out:find("\n" .. h .. " | [^\n]+\n") ~= nil, true, h .. " prefixed output:\n" .. both)
end
check.eq(out:find("failed after uname: 0 of 3", 1, true) ~= nil, true, both)
check.eq(out:find("same connection: true", 1, true) ~= nil, true, both)
check.eq(out:find("inventory shares it: true", 1, true) ~= nil, true, "ssh from Lua reuses the connection:\n" .. both)
check.eq(out:find("failed: h02\n", 1, true) ~= nil, true, both)
check.eq(out:find("code: 3 failed stderr bad", 1, true) ~= nil, true, both)
check.eq(out:find("where: 2", 1, true) ~= nil, true, both)
check.eq(err:find("runtime trouble", 1, true) ~= nil, true, "runtime error shown:\n" .. both)
check.eq(err:find("eval:1:", 1, true) ~= nil, true, "errors name their line:\n" .. both)
check.eq(err:find("unexpected symbol near '='", 1, true) ~= nil, true, "syntax error shown:\n" .. both)
check.eq(out:find("several targets: [^\n]*ssh.run: no current host[^\n]*fleet.run%(cmd%)") ~= nil, true, both)
check.eq(out:find("sole target runs: sole on [%d.]+ %d+ [%d.]+ " .. port2 .. "\n") ~= nil, true, "ssh.run on the one target:\n" .. both)
local os_id = fixture.sh(". /etc/os-release && printf %s \"$ID\"")
check.eq(out:find("sole target stat: dir " .. os_id, 1, true) ~= nil, true, both)
check.eq(out:find("two targets again: false", 1, true) ~= nil, true, both)
check.eq(out:find("h02 | retargeted", 1, true) ~= nil, true, both)
local retargeted_at = out:find("after retarget", 1, true) or 0
check.eq(out:find("h01 | retargeted", 1, true) > retargeted_at, true, "only the failed host was retargeted:\n" .. both)
check.eq(err:find("targets: h02 (1)", 1, true) ~= nil, true, both)
check.eq(out:find("after retarget: 1 true", 1, true) ~= nil, true, both)
check.eq(out:find("repeat: h01,h03", 1, true) ~= nil, true, "!! on the new targets:\n" .. both)
check.eq(out:find("2 hosts: 2 ok", 1, true) ~= nil, true, "a result set prints a summary:\n" .. both)
check.eq(out:find("still running", 1, true) ~= nil, true, "the session went on:\n" .. both)
check.eq(out:find("\27%["), nil, "no colours when piped")
check.eq(out:find("drover%["), nil, "no prompts when piped")

-- needs: sshd
-- time-limit: 60
-- `drover exec` takes the command with or without `--`; its words are joined with spaces
-- and the remote shell parses the result, as pssh does; words starting with - belong to it.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(1)
local i = "-i " .. fx.q(inv)
local env = "XDG_STATE_HOME=" .. fx.q(dir .. "/state") .. " "
local function drover(args)
  local err = os.tmpname()
  local p = assert(io.popen(("%s%s %s 2>%s"):format(env, fx.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fx.read(err) or ""; os.remove(err)
  return code, out, e
end

-- without `--`: the words joined ('b  c' is one argument here, two words remotely)
local code, out, err = drover("exec " .. i .. " -H h01 echo a 'b  c'")
check.eq(code, 0, err)
check.eq(out, "h01 | a b c\n", err)
-- with `--`: the same
code, out, err = drover("exec " .. i .. " -H h01 -- echo a 'b  c'")
check.eq(code, 0, err)
check.eq(out, "h01 | a b c\n", err)
-- quoting meant for the remote shell is kept
code, out, err = drover("exec " .. i .. " -H h01 'echo \"x  y\"'")
check.eq(code, 0, err)
check.eq(out, "h01 | x  y\n", err)
-- options of the command are the command's, not drover's
code, out, err = drover("exec " .. i .. " -g all echo -l -H -- -e")
check.eq(code, 0, err)
check.eq(out, "h01 | -l -H -- -e\n", err)
-- a command starting with - after --
code, out, err = drover("exec " .. i .. " -H h01 -- -x '2>/dev/null;' echo after")
check.eq(out:find("h01 | after", 1, true) ~= nil, true, out .. err)
-- no command at all is a usage error
code, out, err = drover("exec " .. i .. " -H h01")
check.eq(code, 2, err)
check.eq(err:find("<CMD>", 1, true) ~= nil, true, err)

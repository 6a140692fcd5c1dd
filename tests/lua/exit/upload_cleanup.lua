-- needs: sshd*2
-- time-limit: 120
-- An upload cut short by a stop (SIGTERM), a --timeout, or a per-host --timeout leaves no temp
-- file beside its target and no sudo staging copy in /tmp: the clean-ups its drop guards spawn
-- run before the process ends, over a channel kept open for them.
local check = require "check"
local fx = require "fixture"
local inv, dir = fx.inventory(2)
local big = dir .. "/big.bin"
fx.sh("truncate -s 2G " .. fx.q(big))           -- sparse: instant here, seconds to send
local dest = fx.scratch_dir("upload")
fx.sh("chown drover-test " .. fx.q(dest))
local marker = dir .. "/started"

-- what this test's uploads left: temp files beside the target, staging copies (large, newer
-- than the marker) under /tmp/.drover-put-*
local function leftovers()
  return fx.sh(("find %s -name '.big.bin.drover-*'; find /tmp -maxdepth 2 -path '/tmp/.drover-put-*' -type f -size +1M -newer %s 2>/dev/null || true")
    :format(fx.q(dest), fx.q(marker)))
end
local function uploading()
  return leftovers() ~= ""
end

local cases = {
  { what = "put, SIGTERM", args = ("put -i %s -g all %s %s/big.bin"), signal = "TERM", code = 143 },
  { what = "put --sudo, SIGTERM", args = ("put -i %s -g all --sudo %s %s/big.bin"), signal = "TERM", code = 143 },
  { what = "put --sudo --timeout", args = ("put -i %s -g all --sudo --timeout 1.5 %s %s/big.bin"), code = 1 },
  { what = "run, per-host --timeout", script = 'sftp.put(%q, %q .. "/big.bin", { sudo = %s })', timeout = true, code = 1 },
}
for _, c in ipairs(cases) do
  for _, sudo in ipairs(c.script and { "false", "true" } or { "n/a" }) do
    fx.write(marker, "")
    local args
    if c.script then
      fx.write(dir .. "/put.lua", c.script:format(big, dest, sudo))
      args = ("run %s -i %s -g all --timeout 1.5"):format(fx.q(dir .. "/put.lua"), fx.q(inv))
    else
      args = c.args:format(fx.q(inv), fx.q(big), fx.q(dest))
    end
    local pid, wait = fx.start_drover(args)
    fx.wait_for(c.what .. ": the upload never started", 20, uploading)
    if c.signal then fx.sh("kill -" .. c.signal .. " " .. pid) end
    local code, text = wait()
    check.eq(code, c.code, c.what .. " sudo=" .. sudo .. ": " .. text)
    check.eq(leftovers(), "", c.what .. " sudo=" .. sudo .. ": left behind\n" .. text)
  end
end
fx.sh("rm -rf " .. fx.q(dir) .. " " .. fx.q(dest))

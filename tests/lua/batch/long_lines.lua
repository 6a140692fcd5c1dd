-- needs: sshd
-- time-limit: 90
-- Live output without newlines is split in linear time and shown in bounded pieces: 32 MB of
-- one "line" took over 20 s when every chunk rescanned the buffer (and nothing showed
-- meanwhile); each piece is at most 64 KiB, and every byte arrives.
local check = require "check"
local fx = require "fixture"
local inv = fx.inventory(1)
local t0 = task.now()
local p = assert(io.popen(("%s exec -i %s -H h01 -- \"head -c 32000000 /dev/zero | tr '\\\\0' y\" 2>/dev/null")
  :format(fx.q(os.getenv("DROVER_EXE")), fx.q(inv))))
local pieces, bytes, longest = 0, 0, 0
for line in p:lines() do
  local text = line:match("^h01 | (y*)$")
  assert(text, "unexpected line: " .. line:sub(1, 80))
  pieces, bytes, longest = pieces + 1, bytes + #text, math.max(longest, #text)
end
local _, _, code = p:close()
local took = task.now() - t0
check.eq(code, 0)
check.eq(bytes, 32000000)
check.eq(longest, 64 * 1024)
check.eq(pieces, math.ceil(32000000 / (64 * 1024)))
check.eq(took < 20, true, ("32 MB without newlines took %.1f s"):format(took))

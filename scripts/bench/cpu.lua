-- Lua-heavy work (recursion, tables, strings), about 2 s, to measure the cost of preemption.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t0 = os.clock()
local r = fib(32)
local s = 0
for round = 1, 5 do
  local t = {}
  for i = 1, 2000000 do t[i] = i * round end
  for i = 1, #t do s = s + t[i] end
end
local parts = {}
for i = 1, 500000 do parts[#parts + 1] = tostring(i) end
local joined = table.concat(parts, ",")
print(("cpu: %.3f s CPU (fib=%d sum=%d len=%d)"):format(os.clock() - t0, r, s, #joined))

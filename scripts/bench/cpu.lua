-- Lua-heavy work (recursion, tables, strings) to measure the cost of preemption.
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t0 = os.clock()
local r = fib(30)
local t = {}
for i = 1, 2000000 do t[i] = i * 2 end
local s = 0
for i = 1, #t do s = s + t[i] end
local parts = {}
for i = 1, 200000 do parts[#parts + 1] = tostring(i) end
local joined = table.concat(parts, ",")
print(("cpu: %.3f s CPU (fib=%d sum=%d len=%d)"):format(os.clock() - t0, r, s, #joined))

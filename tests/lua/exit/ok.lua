-- expect-exit: 0
-- args: one two -- --flag
-- expect-stdout: args=one,two,--flag arg0=tests/lua/exit/ok.lua n=3
local a = { ... }
print(("args=%s arg0=%s n=%d"):format(table.concat(a, ","), arg[0], #arg))

-- expect-exit: 2
-- expect-stderr: tests/lua/exit/syntax_error.lua:6:
-- A syntax error is a load error: exit 2, file:line and the parser's message, nothing runs.
-- reject-stderr: must not run
print("must not run")
local x = = 1

-- expect-exit: 1
-- expect-stderr: error: tests/lua/exit/script_error.lua:8: boom
-- expect-stderr: stack traceback:
-- expect-stderr: tests/lua/exit/script_error.lua:8: in
-- reject-stderr: __mlua
-- reject-stderr: [drover]
local function inner()
  error("boom")
end
inner()

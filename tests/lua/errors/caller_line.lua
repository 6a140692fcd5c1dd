-- expect-exit: 1
-- expect-stderr: error: tests/lua/errors/caller_line.lua:9: task.sleep: seconds must be a finite number >= 0, got -2
-- expect-stderr: tests/lua/errors/caller_line.lua:9: in local 'nap'
-- reject-stderr: __mlua
-- reject-stderr: get_future
-- An invalid argument from Rust raises at the caller's line, with a clean traceback.
local function nap(s)
  -- the bad call is on the next line
  task.sleep(s)
end
nap(-2)

-- expect-exit: 130
-- interrupt-on: READY
-- interrupt-twice: true
-- expect-stderr: aborted
-- time-limit: 20
-- A second Ctrl-C aborts at once, even when the first could not stop a loop where Lua
-- cannot yield (inside a table.sort comparator here).
print("READY")
io.stdout:flush()
-- Each interruption error raised in the loop is swallowed by the pcall: only the second
-- Ctrl-C can end this.
table.sort({ 3, 1, 2, 5, 4 }, function(a, b)
  while true do pcall(function() while true do end end) end
end)

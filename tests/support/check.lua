-- Small assertion helpers for drover's Lua tests.
local check = {}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

--- Fails unless a == b.
function check.eq(a, b, what)
  if a ~= b then
    error(("%s: expected %s, got %s"):format(what or "check.eq", show(b), show(a)), 2)
  end
end

--- Fails unless the lists have equal items.
function check.list_eq(a, b, what)
  local sa, sb = {}, {}
  for i = 1, math.max(#a, #b) do
    sa[i], sb[i] = show(a[i]), show(b[i])
  end
  local ta, tb = table.concat(sa, ", "), table.concat(sb, ", ")
  if ta ~= tb then
    error(("%s: expected {%s}, got {%s}"):format(what or "check.list_eq", tb, ta), 2)
  end
end

--- Calls fn(...) expecting an error whose text contains `needle`; returns the text.
function check.raises(needle, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error(("expected an error containing %q, got success"):format(needle), 2) end
  local text = tostring(err)
  if not text:find(needle, 1, true) then
    error(("expected an error containing %q, got: %s"):format(needle, text), 2)
  end
  return text
end

--- Fails unless lo <= v <= hi.
function check.between(v, lo, hi, what)
  if not (v >= lo and v <= hi) then
    error(("%s: expected %s..%s, got %s"):format(what or "check.between", show(lo), show(hi), show(v)), 2)
  end
end

--- Runs the operation `fn` twice: the first run must change the host, the second find it
--- done (no reason given); `verify()` looks at the host after each. Returns the first result.
function check.twice(what, fn, verify)
  local first = fn()
  check.eq(first.changed, true, what .. ": first run changes")
  if verify then verify() end
  local second = fn()
  check.eq(second.changed, false, what .. ": second run finds it done")
  check.eq(second.reason, nil, what .. ": second run's reason")
  if verify then verify() end
  return first
end

return check

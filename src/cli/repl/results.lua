-- The REPL's keeping of shell results: `_` is the latest result set, `_1`, `_2`, ... each one
-- in the order the lines ran. Loaded once per session with (fleet); kept as the global
-- `__drover_repl` so that the chunk of a shell line can reach it.
local fleet = ...
local R = { count = 0 }

--- Runs a shell line on the current targets into a set made first, so that a cancelled line
--- still leaves what came back (see R.settle).
function R.shell(cmd, stream)
  R.pending = fleet.results(cmd)
  return fleet.run(cmd, { stream = stream, into = R.pending })
end

--- After a shell line ended, however it ended: hosts without a result become cancelled, and
--- the set is numbered and kept. Returns its number, or nil when no shell line ran.
function R.settle(why)
  local set = R.pending
  R.pending = nil
  if set == nil then return nil end
  set:finish(why)
  R.count = R.count + 1
  rawset(_G, "_", set)
  rawset(_G, "_" .. R.count, set)
  return R.count, #set, #set:failed()
end

return R

-- A user's own coroutine.wrap / coroutine.resume around calls that suspend works
-- transparently: the generator's values come out in order, a resume loop terminates, and
-- other tasks keep running meanwhile.
local check = require "check"
local ticks = 0
local ticker = task.spawn(function() while true do task.sleep(0.01); ticks = ticks + 1 end end)

local gen = coroutine.wrap(function(a)
  check.eq(a, "start")
  for i = 1, 5 do
    task.sleep(0.01)
    local got = coroutine.yield(i)
    check.eq(got, "next" .. i, "value passed back in")
  end
  return "end"
end)
local seen = { gen("start") }
for i = 1, 4 do seen[#seen + 1] = gen("next" .. i) end
check.list_eq(seen, { 1, 2, 3, 4, 5 })
check.eq(gen("next5"), "end")
check.eq(ticks > 3, true, "other tasks ran while the generator slept (" .. ticks .. ")")

-- The classic resume loop: must end, each resume returns only user-visible yields.
local co = coroutine.create(function()
  task.sleep(0.02)
  coroutine.yield("first")
  task.sleep(0.02)
  return "last"
end)
local results, resumes = {}, 0
while coroutine.status(co) ~= "dead" do
  local ok, v = coroutine.resume(co)
  check.eq(ok, true)
  check.eq(type(v), "string", "no internal marker leaks to resume")
  results[#results + 1] = v
  resumes = resumes + 1
  check.eq(resumes <= 2, true, "resume loop does not spin")
end
check.list_eq(results, { "first", "last" })

-- Nested coroutines, each suspending.
local outer = coroutine.wrap(function()
  local inner = coroutine.wrap(function()
    task.sleep(0.01); coroutine.yield("inner-1")
    task.sleep(0.01); coroutine.yield("inner-2")
  end)
  coroutine.yield(inner()); task.sleep(0.01); coroutine.yield(inner())
end)
check.eq(outer(), "inner-1"); check.eq(outer(), "inner-2")

-- Errors inside a wrapped generator keep their line; resume returns false, message.
local bad = coroutine.create(function() task.sleep(0.01); error("gen broke") end)
local ok, err = coroutine.resume(bad)
check.eq(ok, false)
check.eq(err:find("generators.lua:52: gen broke", 1, true) ~= nil, true, err)
local tv = { why = "table" }
local ok2, err2 = coroutine.resume(coroutine.create(function() task.sleep(0); error(tv) end))
check.eq(ok2, false); check.eq(err2, tv, "error values stay exact")
check.raises("wrapped broke", coroutine.wrap(function() task.sleep(0); error("wrapped broke") end))

-- queue get inside a generator, fed by another task
local q = task.queue()
task.delay(0.02, function() q:put("fed") end)
local reader = coroutine.wrap(function() coroutine.yield(q:get()) end)
check.eq(reader(), "fed")
ticker:cancel()

-- fifo, lifo and priority order (pairs and a comparator); try_put/try_get; len.
local check = require "check"
local function drain(q)
  local out = {}
  while true do
    local v = q:try_get()
    if v == nil then return out end
    out[#out + 1] = type(v) == "table" and (v[2] or v.name) or v
  end
end
local f = task.queue()
for _, v in ipairs { "a", "b", "c" } do f:put(v) end
check.eq(f:len(), 3); check.eq(#f, 3)
check.list_eq(drain(f), { "a", "b", "c" }, "fifo")

local l = task.queue { kind = "lifo" }
for _, v in ipairs { "a", "b", "c" } do l:put(v) end
check.list_eq(drain(l), { "c", "b", "a" }, "lifo")

local p = task.queue { kind = "priority" }
p:put { 5, "five" }; p:put { 1, "one" }; p:put { 3, "three" }; p:put { 1, "one-again" }; p:put { 0.5, "half" }
check.list_eq(drain(p), { "half", "one", "one-again", "three", "five" }, "priority (ties keep fifo order)")

local c = task.queue { kind = "priority", compare = function(a, b) return a.age > b.age end }
c:put { name = "young", age = 3 }; c:put { name = "old", age = 90 }; c:put { name = "mid", age = 40 }
check.list_eq(drain(c), { "old", "mid", "young" }, "priority with comparator")

local s = task.queue { kind = "priority" }
s:put { "b", "B" }; s:put { "a", "A" }
check.list_eq(drain(s), { "A", "B" }, "string priorities")

local bounded = task.queue { maxsize = 1 }
check.eq(bounded:try_put("x"), true)
check.eq(bounded:try_put("y"), false, "try_put on a full queue")
check.eq(bounded:full(), true)
check.eq(bounded:try_get(), "x")
check.eq(bounded:try_get(), nil, "try_get on an empty queue")
check.eq(bounded:empty(), true)

check.raises("unknown option 'size'", task.queue, { size = 3 })
check.raises("kind must be", task.queue, { kind = "stack" })
check.raises("pairs", p.put, p, "not a pair")
check.raises("cannot put nil", f.put, f, nil)

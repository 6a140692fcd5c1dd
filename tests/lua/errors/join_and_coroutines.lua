-- needs: sshd
-- Error values survive where errors travel: a task's join re-raises the same kind (its text
-- with the task's traceback, as before), pcall inside a user coroutine, coroutine.wrap,
-- xpcall handlers, task.retry (which still says how many attempts failed) and task.timeout.
local check = require "check"
local fx = require "fixture"
local ev = require "error_value"

local h = fx.host()
local expected = h.name .. ": command `exit 4` exited with code 4 (pass {check = false} to get the result instead)"

-- join: the child's failure re-raised as an error value whose text is the old string
local child = task.spawn(function()
  h:run("exit 4")
end)
local ok, err = pcall(child.join, child)
check.eq(ok, false)
check.eq(type(err), "userdata", tostring(err))
check.eq(err.kind, "exit"); check.eq(err.host, h.name); check.eq(err.code, 4)
check.eq(err.message, expected)
check.eq(tostring(err), child:error(), "tostring is the task's report (message and traceback)")
local src = debug.getinfo(1, "S").short_src
check.eq(tostring(err):find(src .. ":14: " .. expected .. "\nstack traceback:", 1, true), 1, tostring(err))
-- joined twice, nested: still the same kind
local outer = task.spawn(function() return child:join() end)
local ok2, err2 = pcall(outer.join, outer)
check.eq(ok2, false); check.eq(err2.kind, "exit"); check.eq(err2.code, 4)

-- pcall inside a user coroutine (the forwarders pass the suspension of h:run outward)
local co = coroutine.create(function()
  local okc, errc = pcall(h.run, h, "exit 4"); local at = ev.here()
  coroutine.yield(okc, errc, at)
  return "done"
end)
local resumed, okc, errc, atc = coroutine.resume(co)
check.eq(resumed, true)
ev.expect("exit", h.name, atc, expected, okc, errc)
check.list_eq({ coroutine.resume(co) }, { true, "done" })

-- coroutine.wrap re-raises into the caller's pcall
local gen = coroutine.wrap(function() h:run("exit 4") end)
local okw, errw = pcall(gen)
check.eq(okw, false); check.eq(errw.kind, "exit"); check.eq(errw.message, expected)

-- xpcall's handler gets the value
local seen
xpcall(h.run, function(e) seen = e.kind .. " " .. e.code end, h, "exit 4")
check.eq(seen, "exit 4")

-- task.retry: every attempt failed; the count is in the text, the kind is kept
local attempts = 0
local okr, errr = pcall(task.retry, function() attempts = attempts + 1; h:run("exit 4") end, { attempts = 2 }); local atr = ev.here()
check.eq(okr, false); check.eq(attempts, 2)
check.eq(errr.kind, "exit"); check.eq(errr.code, 4)
check.eq(tostring(errr), "task.retry: all 2 attempts failed; last error: " .. atr .. " " .. expected)
-- a retry that succeeds after an error value
local n = 0
check.eq(task.retry(function() n = n + 1; if n == 1 then h:run("exit 4") end; return "second" end), "second")

-- task.timeout passes a child's error value through
local okt, errt = pcall(task.timeout, 5, h.run, h, "exit 4")
check.eq(okt, false); check.eq(errt.kind, "exit")

-- re-raised by the script itself
local oke, erre = pcall(function() local _, e = pcall(h.run, h, "exit 4"); error(e) end)
check.eq(oke, false); check.eq(erre.kind, "exit")

-- A module that (wrongly) suspends at its top level; used by coroutine/yield_traps.lua.
task.sleep(0.01)
return {}

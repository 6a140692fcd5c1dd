-- require's search order: the embedded stdlib answers drover.* (and nothing else may), then
-- --lib directories, $DROVER_PATH templates, the script's directory and its lib/, then
-- ~/.config/drover/lib ($XDG_CONFIG_HOME); $DROVER_STDLIB_DIR stands in for the stdlib.
local check = require "check"
local fx = require "fixture"
local root = fx.local_dir()
local dirs = {
  lib = root .. "/lib1", template = root .. "/tmpl", script = root .. "/proj",
  script_lib = root .. "/proj/lib", config = root .. "/config/drover/lib",
}
for _, d in pairs(dirs) do fx.sh("mkdir -p " .. fx.q(d)) end
local function module_in(where)
  fx.write(dirs[where] .. "/m.lua", ("return %q"):format(where))
end
for where in pairs(dirs) do module_in(where) end
-- a module outside the stdlib trying to be part of it
fx.sh("mkdir -p " .. fx.q(dirs.lib .. "/drover"))
fx.write(dirs.lib .. "/drover/shell.lua", "return { quote = function() return 'impostor' end }")
fx.write(dirs.lib .. "/drover/evil.lua", "return 'evil'")
fx.write(dirs.script .. "/main.lua", [[
local which = ...
if which == "m" then print((require "m")) return end
if which == "evil" then print(pcall(require, "drover.evil")) return end
local shell = require "drover.shell"
print(shell.quote("it's"), shell.join { "echo", "a b", "plain", "" })
print(debug.getinfo(shell.quote, "S").source)
]])

local function run(which, env)
  local cmd = ("cd %s && XDG_CONFIG_HOME=%s DROVER_PATH=%s %s %s run main.lua --lib %s -- %s 2>&1")
    :format(fx.q(dirs.script), fx.q(root .. "/config"), fx.q(dirs.template .. "/?.lua"), env or "",
      fx.q(os.getenv("DROVER_EXE")), fx.q(dirs.lib), which)
  return fx.sh(cmd)
end

-- the stdlib is embedded, and named by its path in the repository
check.eq(run("shell"), "'it'\\''s'\techo 'a b' plain ''\n@stdlib/drover/shell.lua\n")
-- drover.* is the stdlib's alone: a --lib drover/shell.lua is not used, drover/evil.lua refused
local refused = run("evil")
check.eq(refused:find("is not part of drover's stdlib", 1, true) ~= nil, true, refused)
check.eq(refused:find("acme.evil", 1, true) ~= nil, true, refused)

-- each place answers in turn as the ones before it lose the module
for _, where in ipairs { "lib", "template", "script", "script_lib", "config" } do
  check.eq(run("m"), where .. "\n", "m from " .. where)
  os.remove(dirs[where] .. "/m.lua")
end
local gone = fx.sh("cd " .. fx.q(dirs.script) .. " && " .. fx.q(os.getenv("DROVER_EXE")) ..
  " run main.lua -- m 2>&1 || true")
check.eq(gone:find("module 'm' not found", 1, true) ~= nil, true, gone)

-- $DROVER_STDLIB_DIR: the stdlib read from a directory (stdlib development)
local dev = root .. "/stdlib-dev"
fx.sh("mkdir -p " .. fx.q(dev))
fx.write(dev .. "/shell.lua", "return { quote = function() return 'dev' end, join = function() return 'dev' end }")
local out = run("shell", "DROVER_STDLIB_DIR=" .. fx.q(dev))
check.eq(out:match("^[^\n]*"), "dev\tdev")
check.eq(out:find("@" .. dev .. "/shell.lua", 1, true) ~= nil, true, out)

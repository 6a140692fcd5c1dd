-- Without -i, $DROVER_INVENTORY or ./inventory.ini, naming inventory hosts or groups says
-- the file is missing and how to name one; ad-hoc hosts still need no inventory.
local check = require "check"
local fx = require "fixture"
local dir = fx.local_dir()
local function drover(args)
  local err = os.tmpname()
  local p = assert(io.popen(("cd %s && env -u DROVER_INVENTORY HOME=%s %s %s 2>%s")
    :format(fx.q(dir), fx.q(dir), fx.q(os.getenv("DROVER_EXE")), args, err)))
  local out = p:read("a")
  local _, _, code = p:close()
  local e = fx.read(err) or ""; os.remove(err)
  return code, out, e
end
local want = "no inventory: ./inventory.ini does not exist (name one with -i FILE or $DROVER_INVENTORY)"
for _, args in ipairs { "hosts -g web", "hosts -H web1", "hosts -l 'web*'", "exec -g web true" } do
  local code, out, err = drover(args)
  check.eq(code, 2, args .. ": " .. err)
  check.eq(err:find(want, 1, true) ~= nil, true, args .. ": " .. err)
  check.eq(err:find("is not in inventory.ini", 1, true), nil, args .. ": " .. err)
end
-- ad-hoc hosts resolve without an inventory
local code, out, err = drover("hosts -H deploy@10.0.0.5:2222")
check.eq(code, 0, err)
check.eq(out:find("deploy@10.0.0.5:2222", 1, true) ~= nil, true, out)
-- with a file, the usual error names it
fx.write(dir .. "/inventory.ini", "[group db]\nhosts = db1\n")
code, out, err = drover("hosts -g web")
check.eq(code, 2, err)
check.eq(err:find('group "web" is not in inventory.ini', 1, true) ~= nil, true, err)

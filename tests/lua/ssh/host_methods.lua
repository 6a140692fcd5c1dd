-- needs: sshd
-- Host objects take their methods from one table (`require("drover.host").methods`): what a
-- module adds there, every host object has, whether made before or after; fields come first
-- and the built-in methods are in the same table.
local check = require "check"
local fixture = require "fixture"
local methods = require("drover.host").methods

check.eq(type(methods.run), "function", "ssh adds run")
check.eq(type(methods.put), "function", "sftp adds put")
check.eq(methods.name, nil, "fields are not methods")

local early = fixture.host()
function methods:greeting(word)
  return self:run("echo " .. word .. " from $USER").stdout
end
check.eq(early:greeting("hi"), "hi from " .. os.getenv("DROVER_TEST_SSH_USER") .. "\n",
  "a host made before the method was added has it")
check.eq(fixture.host({ name = "later" }):greeting("yo"),
  "yo from " .. os.getenv("DROVER_TEST_SSH_USER") .. "\n", "a host made after has it")

-- a field wins over a method of the same name; an unknown key is nil, as for a table
methods.name = function() return "shadowed" end
check.eq(early.name, "127.0.0.1:" .. os.getenv("DROVER_TEST_SSH_PORT"))
methods.name = nil
check.eq(early.no_such_method, nil)

-- a method called with a dot gets no host and says so
check.raises("host:run: call it on a host object with a colon", early.run, "true")
check.raises("host:put: call it on a host object with a colon", early.put, "a", "b")

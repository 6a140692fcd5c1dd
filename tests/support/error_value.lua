-- Assertions for drover's error values (tests/lua/errors/kind_*.lua): the value a pcall of an
-- ssh or sftp call returns has `kind`, `host`, `message`, and a tostring that is exactly the
-- text such an error always had: "file:line: " .. message at the caller's line.
local check = require "check"
local M = {}

--- "file:line:" of the caller's current line (call it on the line of the pcall).
function M.here()
  local info = debug.getinfo(2, "Sl")
  return info.short_src .. ":" .. info.currentline .. ":"
end

--- Checks `ok, err` of a pcall made at `position`: an error value of `kind` on `host` whose
--- message is `message` and whose text is the positioned message. Returns err.
function M.expect(kind, host, position, message, ok, err)
  check.eq(ok, false, kind .. ": the call fails")
  check.eq(type(err), "userdata", kind .. ": an error value (" .. tostring(err) .. ")")
  check.eq(err.kind, kind, "err.kind of " .. tostring(err))
  check.eq(err.host, host, "err.host")
  check.eq(err.message, message, "err.message")
  check.eq(tostring(err), position .. " " .. message, "tostring(err)")
  -- code written when errors were strings keeps working
  check.eq(err:find(message, 1, true), #position + 2, "err:find on the text")
  check.eq("<" .. err .. ">", "<" .. tostring(err) .. ">", "concatenation")
  return err
end

return M

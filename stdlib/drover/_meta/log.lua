---@meta log
-- LuaLS type definitions for drover's `log` module (global `log`, also `require "log"`).
--
-- Each call is one log line. Its arguments are joined as `print` joins them: `tostring` of
-- each, separated by tabs (format first when you want a format: `log.info(("%d hosts"):format(n))`).
-- In a host's part of a per-host run the line is that host's (also from tasks it spawns).
-- `drover run` shows it on stderr as `web01: [warn] text` (`[warn] text` outside any host),
-- inside the host's block with -b, and as a `log` event with --json; debug lines only with -v.

---@class log
log = {}

---Detail for the script's author: shown only with `drover run -v`.
---@param ... any
function log.debug(...) end

---Progress worth seeing.
---@param ... any
function log.info(...) end

---Something odd that did not stop the script.
---@param ... any
function log.warn(...) end

---Something failed. Only reports: it does not raise, and the host's outcome stays as it is
---(call `error` to fail it).
---@param ... any
function log.error(...) end

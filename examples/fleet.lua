-- fleet: 4
-- expect-stdout: h01 | h01: 127.0.0.1
-- expect-stdout: h04 | h04: wrote /tmp/drover-example-h04.txt (changed)
-- expect-stderr: == 4 hosts: 4 ok
-- A per-host script: `drover run examples/fleet.lua -g web` runs it once for every host of
-- group web, all at once. Inside, `host` is the host this copy runs for, `ssh.run` and
-- `sftp.*` act on it, and `host.vars` holds its inventory variables.
--
--   drover run examples/fleet.lua -i inventory.ini -g all
print(("%s: %s"):format(host.name, host.address))
print(("%s runs as %s; colour from the inventory: %s"):format(host.name, ssh.run("id -un").stdout:gsub("\n", ""),
  host.vars.colour or "(none)"))

-- every host uploads a small file atomically; a second run would report it unchanged
local path = ("/tmp/drover-example-%s.txt"):format(host.name)
local w = sftp.write(path, ("hello from %s\n"):format(host.name), { mode = "0644" })
print(("%s: wrote %s (%s)"):format(host.name, path, w.changed and "changed" or "unchanged"))

-- wait for every host, then elect one to report for all
task.barrier("uploaded")
local first = task.once("report", function() return host.name end)
if host.name == first then print(("%s reports: all hosts uploaded their file"):format(host.name)) end
sftp.remove(path)

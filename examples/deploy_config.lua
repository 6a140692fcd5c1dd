-- driver: tests/examples/deploy_config.lua
-- Deploy a config file rendered from a template, and restart the service only when the file
-- changed. A per-host script: it runs once for every host of the group, each copy on its host.
--
--   drover run examples/deploy_config.lua -i inventory.ini -g web --check --diff   # what would change
--   drover run examples/deploy_config.lua -i inventory.ini -g web --diff           # do it
--
-- A second run finds the file as it should be: it changes nothing and restarts nothing.
-- The inventory says what to deploy where (each has a default):
--
--   [group web]
--   hosts = web[01-04]
--   app_service = app                   # the service to restart (systemd unit or init.d script)
--   app_conf = /etc/app/app.conf        # where the rendered file goes
--   app_port = 8080                     # template values: app_port, app_workers, app_log_level
--   [host web01]
--   app_workers = 8
--
-- The template, examples/templates/app.conf.tmpl, says `{{ port }}`; values come from `vars`
-- below, then from the host's inventory variables. Writing /etc and restarting services needs
-- root: log in as root, or add `sudo = true` to the three operations (and -K for a password).
local file = require "drover.file"
local service = require "drover.service"

local v = host.vars
local name = v.app_service or "app"
local conf = v.app_conf or "/etc/app/app.conf"
-- the template next to this script (a local file: it is read here and rendered per host)
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local template = v.app_template or (here .. "/templates/app.conf.tmpl")

file.directory(conf:match("^(.*)/[^/]*$"), { mode = "0755" })
local written = file.template(conf, {
  source = template,
  vars = {
    service = name, name = host.name,
    port = v.app_port or 8080, workers = v.app_workers or 4, log_level = v.app_log_level or "info",
  },
  mode = "0644", backup = true,
})
-- restart only for a new file (check mode: "would restart"); else just make sure it runs
if written.changed then
  service.restarted(name)
else
  service.running(name)
end

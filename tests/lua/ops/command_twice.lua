-- needs: sshd
-- command.run against the sshd fixture: run once (changed), then not again because of what
-- it left (`creates`) or what a test command says (`unless`); its failure names the step.
-- Errors of operations say which step failed and keep the error's kind.
local check = require "check"
local fx = require "fixture"
local command = require "drover.command"
local file = require "drover.file"
local h = fx.host()
local dir = fx.remote_dir(h)

ssh.with(h, function()
  local marker = dir .. "/made"
  local r = command.run("echo run >> " .. fx.q(dir .. "/log") .. " && touch " .. fx.q(marker), { creates = marker })
  check.eq(r.changed, true)
  check.eq(r.result.code, 0)
  r = command.run("echo run >> " .. fx.q(dir .. "/log"), { creates = marker })
  check.eq(r.changed, false)
  check.eq(fx.read(dir .. "/log"), "run\n", "ran once")

  local flag = dir .. "/flag"
  local cmd = "echo on > " .. fx.q(flag)
  local unless = "grep -qx on " .. fx.q(flag)
  check.eq(command.run(cmd, { unless = unless }).changed, true)
  check.eq(command.run(cmd, { unless = unless }).changed, false)
  check.eq(fx.read(flag), "on\n")

  -- a file the command made is seen by the next operation (its facts were dropped)
  check.eq(file.present(marker, { content = "" }).changed, false)

  -- failures: the step and host in the message, the kind kept
  local ok, err = pcall(command.run, "exit 3", {})
  check.eq(ok, false)
  check.eq(err.kind, "exit")
  check.eq(err.code, 3)
  check.eq(tostring(err):find(h.name .. ": command.run exit 3: command `exit 3` exited with code 3", 1, true) ~= nil,
    true, tostring(err))
  ok, err = pcall(file.present, dir .. "/no/such/dir/x", { content = "x" })
  check.eq(ok, false)
  check.eq(tostring(err):find("file.present " .. dir .. "/no/such/dir/x on " .. h.name
    .. ": directory " .. dir .. "/no/such/dir does not exist", 1, true) ~= nil, true, tostring(err))
  ok, err = pcall(file.template, dir .. "/t", { content = "{{ nowhere }}" })
  check.eq(tostring(err):find("template:1: {{ nowhere }} is not defined", 1, true) ~= nil, true, tostring(err))
  check.eq(fx.read(dir .. "/t"), nil)
end)

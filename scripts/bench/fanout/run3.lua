-- The `drover run` side of the fan-out benchmark: three commands per host over its one
-- connection, as a deploy script would (check state, act, verify).
ssh.run("true")
ssh.run("true")
ssh.run("true")

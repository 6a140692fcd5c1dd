#!/usr/bin/env bash
# The README's first command: builds drover, starts a throwaway fleet of 6 OpenSSH sshd on
# loopback addresses 127.0.0.11-16 (own host keys, client key and known_hosts, all in a temp
# directory), writes an inventory with two groups, and runs drover across it: the task demo,
# a per-host script, and batch exec / put / get. The fleet is torn down (by PID) at the end.
# Works on a fresh Debian machine as root (installs openssh-server when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
ensure_sshd_fixture
echo "== building drover (release): cargo's progress below; a cold build takes 5-10 minutes"
echo "   on 2 cores (the vendored Lua and the crypto crates are the slow part), seconds once built"
cargo build --release --locked
drover=$PWD/target/release/drover

demo=$(mktemp -d /tmp/drover-demo.XXXXXX)
chmod 755 "$demo"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$demo"
}
trap cleanup EXIT

ssh-keygen -q -t ed25519 -N "" -f "$demo/client_key"
cp "$demo/client_key.pub" "$demo/authorized_keys"
chmod 644 "$demo/authorized_keys"
mkdir -p /run/sshd
port=2222
for n in 11 12 13 14 15 16; do
  d="$demo/sshd-$n"; mkdir -p "$d"
  ssh-keygen -q -t ed25519 -N "" -f "$d/host_key"
  cat > "$d/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.$n
HostKey $d/host_key
AuthorizedKeysFile $demo/authorized_keys
PidFile $d/sshd.pid
StrictModes no
UsePAM no
LogLevel ERROR
Subsystem sftp internal-sftp
CFG
  /usr/sbin/sshd -D -e -f "$d/sshd_config" 2> "$d/sshd.log" &
  pids+=($!)
done
for n in 11 12 13 14 15 16; do
  for _ in $(seq 100); do
    if (head -c 8 < /dev/tcp/127.0.0.$n/$port) 2>/dev/null | grep -q SSH-2.0-; then break; fi
    sleep 0.05
  done
done

cat > "$demo/inventory.ini" <<INI
; the demo fleet: six sshd on 127.0.0.11-16, port $port
[defaults]
user = drover-test
port = $port
identity = $demo/client_key
known_hosts = $demo/known_hosts

[group web]
hosts = web[1-4]
colour = blue

[group db]
hosts = db[1-2]
colour = green

[group all]
children = web, db
INI
for i in 1 2 3 4; do printf '[host web%s]\naddress = 127.0.0.%s\n' "$i" $((10 + i)) >> "$demo/inventory.ini"; done
for i in 1 2; do printf '[host db%s]\naddress = 127.0.0.%s\n' "$i" $((14 + i)) >> "$demo/inventory.ini"; done
export DROVER_INVENTORY=$demo/inventory.ini

# step COMMAND WHAT: prints the command and what its output shows, then the output follows.
step() {
  echo
  echo "== $1"
  shift
  for line in "$@"; do echo "   $line"; done
  echo
}
step "drover run examples/tasks.lua" \
  "The task runtime alone, no hosts: tasks that sleep overlap, so the timings printed" \
  "are those of the longest task, not their sum."
"$drover" run examples/tasks.lua
step "drover hosts -g web,db" \
  "What -g web,db targets, resolved from the inventory: address, port, user, groups and" \
  "variables of each host (secrets would show as <redacted>)."
"$drover" hosts -g web,db
step "drover run examples/fleet.lua -g all" \
  "One copy of the script per host, all six at once: lines come as 'host | line', in the" \
  "order they arrive, then a summary of outcomes on stderr."
"$drover" run examples/fleet.lua -g all
step "drover exec -g web -- 'echo \"\$(id -un) on \$(hostname)\"; uptime'" \
  "A shell command on every web host, output live; the login user is the inventory's."
"$drover" exec -g web -- 'echo "$(id -un) on $(hostname)"; uptime'
step "drover exec -b -g all -- 'uname -sr'" \
  "Gathered (-b), at the end: hosts with identical output folded under one header that" \
  "names all six as a node set, with the count: here every host runs the same kernel."
"$drover" exec -b -g all -- 'uname -sr'
step "drover put -g db README.md /tmp/drover-demo-readme.md   (twice)" \
  "Atomic uploads: the first run says 'changed', the second 'unchanged' (identical content is" \
  "not sent again). All six sshd serve this one machine, so the hosts share /tmp."
"$drover" put -g db README.md /tmp/drover-demo-readme.md
"$drover" put -g db README.md /tmp/drover-demo-readme.md
step "drover get -g db /tmp/drover-demo-readme.md $demo/got" \
  "Downloads land in one directory per host, so hosts never overwrite each other:"
"$drover" get -g db /tmp/drover-demo-readme.md "$demo/got"
find "$demo/got" -type f | sort
"$drover" exec -H db1 -- rm -f /tmp/drover-demo-readme.md >/dev/null 2>&1
step "done" "The fleet is stopped (by PID) and $demo removed."

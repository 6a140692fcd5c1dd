#!/usr/bin/env bash
# Prints SSH figures (not a test): handshakes/s and client CPU per handshake, commands/s over
# one connection, RSS per open connection. Starts its own sshd on a free loopback port (killed
# by its PID at the end).
#   scripts/bench-ssh.sh [N]      (N connections, default 500)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
ensure_sshd_fixture
cargo build --release --locked -q

dir=$(mktemp -d /tmp/drover-bench-ssh.XXXXXX)
chmod 755 "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ssh-keygen -q -t ed25519 -N "" -f "$dir/host_key"
ssh-keygen -q -t ed25519 -N "" -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"; chmod 644 "$dir/authorized_keys"
cat > "$dir/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
StrictModes no
UsePAM no
LogLevel ERROR
CFG
mkdir -p /run/sshd
/usr/sbin/sshd -D -e -f "$dir/sshd_config" 2> "$dir/sshd.log" &
sshd_pid=$!
trap 'kill $sshd_pid 2>/dev/null; wait $sshd_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  if (head -c 8 < /dev/tcp/127.0.0.1/$port) 2>/dev/null | grep -q SSH-2.0-; then break; fi
  sleep 0.05
done
BENCH_SSH_PORT=$port BENCH_SSH_USER=drover-test BENCH_SSH_KEY=$dir/client_key \
BENCH_KNOWN_HOSTS=$dir/known_hosts target/release/drover run scripts/bench/ssh.lua "${1:-500}"

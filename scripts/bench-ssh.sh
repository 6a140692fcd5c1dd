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

start_bench_sshd
trap 'kill $bench_sshd_pid 2>/dev/null; wait $bench_sshd_pid 2>/dev/null; rm -rf "$bench_dir"' EXIT
dir=$bench_dir port=$bench_port
BENCH_SSH_PORT=$port BENCH_SSH_USER=drover-test BENCH_SSH_KEY=$dir/client_key \
BENCH_KNOWN_HOSTS=$dir/known_hosts target/release/drover run scripts/bench/ssh.lua "${1:-500}"

#!/usr/bin/env bash
# Prints file transfer figures (not a test): upload and download of a 256 MiB file against one
# loopback sshd, drover versus OpenSSH's scp and sftp in the same run, each with the cipher it
# picks by default (drover: AES-GCM when the CPU has AES instructions; OpenSSH: chacha20).
# MiB/s (wall) and client CPU seconds. The sshd is started here and killed by its PID.
#   scripts/bench-sftp.sh [MiB]     (default 256)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
ensure_sshd_fixture
cargo build --release --locked -q
mib=${1:-256}

start_bench_sshd
dir=$bench_dir port=$bench_port
remote=$(mktemp -d /tmp/drover-bench-sftp-remote.XXXXXX)
chown drover-test "$remote"
trap 'kill $bench_sshd_pid 2>/dev/null; wait $bench_sshd_pid 2>/dev/null; rm -rf "$dir" "$remote"' EXIT

head -c $((mib << 20)) /dev/urandom > "$dir/file.bin"
chmod 644 "$dir/file.bin"
echo "file: $mib MiB; server: $(/usr/sbin/sshd -V 2>&1 | head -1)"
ssh_opts=(-i "$dir/client_key" -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=accept-new
  -o IdentitiesOnly=yes -o BatchMode=yes)
target=drover-test@127.0.0.1

# runs "$@" and prints NAME MiB/s, wall and client CPU (user + sys of the command)
measure() {
  local name=$1; shift
  local t0 t1 before after
  before=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  after=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  awk -v n="$name" -v m="$mib" -v a="$t0" -v b="$t1" -v c0="$before" -v c1="$after" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { w = b - a; printf "%-15s %7.0f MiB/s  %5.2f s wall  %5.2f s client CPU\n", n, m / w, w, (c1 - c0) / hz }'
}

quiet() { "$@" >/dev/null; }

for round in ${ROUNDS:-1 2 3}; do
  echo "-- round $round"
  BENCH_SSH_PORT=$port BENCH_SSH_USER=drover-test BENCH_SSH_KEY=$dir/client_key \
  BENCH_KNOWN_HOSTS=$dir/known_hosts target/release/drover run scripts/bench/sftp.lua \
    "$dir/file.bin" "$remote/drover.bin" "$dir/drover.back"
  cmp -s "$dir/file.bin" "$dir/drover.back" || { echo "drover: downloaded copy differs" >&2; exit 1; }
  measure "scp upload" scp -q -P "$port" "${ssh_opts[@]}" "$dir/file.bin" "$target:$remote/scp.bin"
  measure "scp download" scp -q -P "$port" "${ssh_opts[@]}" "$target:$remote/scp.bin" "$dir/scp.back"
  measure "sftp upload" quiet sftp -q -P "$port" "${ssh_opts[@]}" -b <(echo "put $dir/file.bin $remote/sftp.bin") "$target"
  measure "sftp download" quiet sftp -q -P "$port" "${ssh_opts[@]}" -b <(echo "get $remote/sftp.bin $dir/sftp.back") "$target"
  rm -f "$dir"/*.back "$remote"/*.bin
done

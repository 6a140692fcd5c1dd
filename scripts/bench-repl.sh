#!/usr/bin/env bash
# Prints REPL figures (not a test): the first `!true` on N hosts (it connects) and the second
# one (warm connections), wall time and client CPU side by side. The N hosts are N inventory
# names on one sshd of its own on a free loopback port (killed by its PID at the end).
#   scripts/bench-repl.sh [N]      (N hosts, default 100; DROVER=path uses that binary)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
ensure_sshd_fixture
drover=${DROVER:-target/release/drover}
if [ -z "${DROVER:-}" ]; then cargo build --release --locked -q; fi

start_bench_sshd
trap 'kill $bench_sshd_pid 2>/dev/null; wait $bench_sshd_pid 2>/dev/null; rm -rf "$bench_dir"' EXIT
dir=$bench_dir port=$bench_port n=${1:-100}
{
  echo "[defaults]"
  echo "user = drover-test"
  echo "address = 127.0.0.1"
  echo "port = $port"
  echo "identity = $dir/client_key"
  echo "known_hosts = $dir/known_hosts"
  echo "[group all]"
  printf 'hosts = h[001-%03d]\n' "$n"
} > "$dir/inventory.ini"
# os.clock() is the process's CPU time (every thread): the client's.
cat > "$dir/lines.txt" <<'LINES'
c0, w0 = os.clock(), task.now()
!true
first = { wall = task.now() - w0, cpu = os.clock() - c0, ok = #_:ok() }
c0, w0 = os.clock(), task.now()
!true
second = { wall = task.now() - w0, cpu = os.clock() - c0, ok = #_:ok() }
print(("%-22s %10s %14s %6s"):format("", "wall (s)", "client CPU (s)", "ok"))
for _, row in ipairs({ { "first !true (connects)", first }, { "second !true (warm)", second } }) do print(("%-22s %10.3f %14.3f %6d"):format(row[1], row[2].wall, row[2].cpu, row[2].ok)) end
print(("second / first: wall %.1f%%, CPU %.1f%%"):format(100 * second.wall / first.wall, 100 * second.cpu / first.cpu))
LINES
echo "drover repl, $n hosts on one loopback sshd ($(nproc) cores):"
"$drover" repl -i "$dir/inventory.ini" -g all --yes < "$dir/lines.txt" 2>/dev/null

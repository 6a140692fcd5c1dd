#!/usr/bin/env bash
# Prints task-runtime figures (not a test): spawn+join cost, memory of sleeping tasks,
# queue round trips, and the cost of preemption on Lua-heavy code.
#   scripts/bench-tasks.sh [N]     (N tasks, default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
cargo build --release --locked -q
bin=target/release/drover
echo "== tasks (N=${1:-100000})"
$bin run scripts/bench/tasks.lua "${1:-100000}"
echo "== Lua-heavy code, best of 5: preemption on (default) vs off"
best() {
  local best=999
  for _ in 1 2 3 4 5; do
    t=$("$@" | sed -n 's/^cpu: \([0-9.]*\) s.*/\1/p')
    best=$(echo "$t $best" | awk '{print ($1 < $2) ? $1 : $2}')
  done
  echo "$best"
}
on=$(best $bin run scripts/bench/cpu.lua)
off=$(DROVER_PREEMPT_QUANTUM_MS=0 best $bin run scripts/bench/cpu.lua)
echo "preemption on:  ${on} s"
echo "preemption off: ${off} s"
awk -v a="$on" -v b="$off" 'BEGIN { printf "overhead: %+.1f %%\n", (a - b) / b * 100 }'

#!/usr/bin/env bash
# The fan-out benchmark (not a test): drover against its peers on one fleet of real OpenSSH
# sshd hosts, all in one run.
#   scripts/bench-fanout.sh [N] [DELAY_MS]     (N hosts, default 500; one-way delay, default 0)
#
# The fleet lives in a network namespace this script creates: one sshd (`sshd -r`, its own
# host key, MaxStartups/MaxSessions raised) per 16 addresses 127.1.x.y, commands run as the
# dedicated /bin/sh user drover-bench. With DELAY_MS > 0 every packet is held DELAY_MS by an
# NFQUEUE rule and scripts/bench/fanout/delay.c (this kernel has no netem): RTT = 2 x DELAY_MS.
# Each round runs, in a rotating order: `drover exec -- true`, a 3-command `drover run`
# script, asyncssh (pinned, in a venv under target/) and OpenSSH `ssh` to every host in
# parallel. Per tool it prints the median of 3 rounds: wall, client CPU (user + sys), peak
# RSS (largest process), the fleet's sshd CPU (cpuacct cgroup of the sshds and their
# children) and the floor that CPU sets on this machine (sshd CPU / cores). Traffic stays in
# the namespace; everything started here is stopped by PID.
#
# For before/after figures on one fleet in one run: DROVER_BASE=/path/to/an/older/drover adds
# the tools base-exec and base-run (that binary, same commands). TOOLS="drover-exec asyncssh"
# runs only those; ROUNDS=5 takes the median of 5.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source scripts/bench/fanout/prepare.sh
N=${1:-500}
DELAY_MS=${2:-0}
ROUNDS=${ROUNDS:-3}
ASYNCSSH_VERSION=2.24.1
case "$N$DELAY_MS" in *[!0-9]*) echo "usage: $0 [N] [DELAY_MS]" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "N must be at least 1" >&2; exit 2; }

ensure_build_tools
ensure_sshd_fixture
command -v /usr/bin/time >/dev/null 2>&1 || apt_install time
echo "== building drover (release)"
cargo build --release --locked
bin=$PWD/target/release/drover

venv=$PWD/target/bench-venv
if ! "$venv/bin/python" -c "import asyncssh; assert asyncssh.__version__ == '$ASYNCSSH_VERSION'" 2>/dev/null; then
  echo "== installing asyncssh $ASYNCSSH_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "asyncssh==$ASYNCSSH_VERSION"
fi

[ "$DELAY_MS" -gt 0 ] && ensure_delay_tool
ensure_bench_user

work=$(mktemp -d /tmp/drover-fanout.XXXXXX)
chmod 755 "$work"
ns=drover-bench-$$
cg=/sys/fs/cgroup/cpuacct/drover-bench-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
  [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
mkdir -p "$cg" /run/sshd

ssh-keygen -q -t ed25519 -N "" -f "$work/host_key"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"; chmod 644 "$work/authorized_keys"
host_pub=$(cut -d' ' -f1,2 "$work/host_key.pub")

address() { echo "127.1.$(( $1 / 250 )).$(( $1 % 250 + 1 ))"; }
: > "$work/hosts"; : > "$work/known_hosts"
{
  echo "[defaults]"
  echo "user = drover-bench"
  echo "identity = $work/client_key"
  echo "known_hosts = $work/known_hosts"
  echo "host_key_policy = strict"
  echo
} > "$work/inventory.ini"
names=()
for i in $(seq 0 $((N - 1))); do
  a=$(address "$i")
  echo "$a" >> "$work/hosts"
  echo "$a $host_pub" >> "$work/known_hosts"
  printf '[host h%04d]\naddress = %s\n' "$i" "$a" >> "$work/inventory.ini"
  names+=("$(printf 'h%04d' "$i")")
done
printf '[group all]\nhosts = %s\n' "$(IFS=,; echo "${names[*]}")" >> "$work/inventory.ini"

sshds=$(( (N + 15) / 16 ))
echo "== fleet: $N hosts on $sshds sshds in netns $ns$( [ "$DELAY_MS" -gt 0 ] && echo ", delay $DELAY_MS ms each way")"
for s in $(seq 0 $((sshds - 1))); do
  cfg=$work/sshd_$s.conf
  {
    for i in $(seq $((s * 16)) $((s * 16 + 15))); do
      [ "$i" -lt "$N" ] && echo "ListenAddress $(address "$i"):22"
    done
    cat <<CFG
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile none
StrictModes no
UsePAM no
AllowUsers drover-bench
LogLevel ERROR
MaxStartups 1000:30:2000
MaxSessions 64
CFG
  } > "$cfg"
  ip netns exec "$ns" /usr/sbin/sshd -D -r -e -f "$cfg" 2> "$work/sshd_$s.log" &
  pids+=($!)
  echo $! > "$cg/cgroup.procs"
done
for s in $(seq 0 $((sshds - 1))); do
  a=$(address $((s * 16)))
  for _ in $(seq 200); do
    if ip netns exec "$ns" bash -c "head -c 8 < /dev/tcp/$a/22" 2>/dev/null | grep -q SSH-2.0-; then break; fi
    sleep 0.05
  done
done

if [ "$DELAY_MS" -gt 0 ]; then
  ip netns exec "$ns" target/bench-bin/delay 0 "$DELAY_MS" &
  pids+=($!)
  ip netns exec "$ns" iptables -A OUTPUT -j NFQUEUE --queue-num 0 --queue-bypass
fi

cores=$(nproc)
ssh_opts=(-i "$work/client_key" -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes
  -o IdentitiesOnly=yes -o BatchMode=yes -o ControlMaster=no -o ControlPath=none -o LogLevel=ERROR)
export SSH_AUTH_SOCK=
tool_cmd() {
  case "$1" in
    drover-exec) echo "$bin exec -i $work/inventory.ini -g all --forks $N -- true" ;;
    drover-run) echo "$bin run scripts/bench/fanout/run3.lua -i $work/inventory.ini -g all --forks $N" ;;
    base-exec) echo "$DROVER_BASE exec -i $work/inventory.ini -g all --forks $N -- true" ;;
    base-run) echo "$DROVER_BASE run scripts/bench/fanout/run3.lua -i $work/inventory.ini -g all --forks $N" ;;
    asyncssh) echo "$venv/bin/python scripts/bench/fanout/asyncssh_exec.py $work/hosts drover-bench $work/client_key $work/known_hosts true" ;;
    openssh) echo "xargs -P 0 -I{} ssh ${ssh_opts[*]} drover-bench@{} true < $work/hosts" ;;
  esac
}
default_tools="drover-exec drover-run asyncssh openssh"
[ -n "${DROVER_BASE:-}" ] && default_tools="base-exec base-run $default_tools"
read -r -a tools <<< "${TOOLS:-$default_tools}"
for tool in "${tools[@]}"; do
  case "$tool" in
    drover-exec|drover-run|asyncssh|openssh) ;;
    base-exec|base-run) [ -x "${DROVER_BASE:-}" ] || { echo "$tool needs DROVER_BASE=<a drover binary>" >&2; exit 2; } ;;
    *) echo "unknown tool $tool (drover-exec drover-run base-exec base-run asyncssh openssh)" >&2; exit 2 ;;
  esac
done
results=$work/results
: > "$results"
for r in $(seq 0 $((ROUNDS - 1))); do
  for k in $(seq 0 $((${#tools[@]} - 1))); do
    tool=${tools[$(( (k + r) % ${#tools[@]} ))]}
    before=$(cat "$cg/cpuacct.usage")
    if ! ip netns exec "$ns" /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
        bash -c "$(tool_cmd "$tool")" > "$work/out" 2>&1; then
      echo "$tool failed in round $((r + 1)):" >&2; tail -20 "$work/out" >&2; exit 1
    fi
    after=$(cat "$cg/cpuacct.usage")
    read -r wall user sys rss < <(tail -1 "$work/time")
    echo "$tool $wall $(echo "$user $sys" | awk '{print $1 + $2}') $rss $(( (after - before) / 1000000 ))" >> "$results"
    echo "round $((r + 1)) $tool: ${wall} s wall, $(echo "$after $before $N" | awk '{printf "%.1f", ($1 - $2) / 1e6 / $3}') ms sshd CPU per host"
    sleep 1
  done
done

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
stat() { awk -v t="$1" -v c="$2" '$1 == t {print $c}' "$results" | median; }
echo
echo "== $N hosts, command true, median of $ROUNDS rounds, $cores cores$( [ "$DELAY_MS" -gt 0 ] && echo ", RTT $((2 * DELAY_MS)) ms")"
printf '| %-12s | %8s | %13s | %12s | %17s | %16s | %7s |\n' tool "wall s" "client CPU s" "peak RSS MB" "fleet sshd CPU s" "sshd ms per host" "floor s"
printf '|%s|\n' "--------------|----------|---------------|--------------|-------------------|------------------|---------"
for tool in "${tools[@]}"; do
  wall=$(stat "$tool" 2); cpu=$(stat "$tool" 3); rss=$(stat "$tool" 4); srv=$(stat "$tool" 5)
  printf '| %-12s | %8.2f | %13.2f | %12.0f | %17.2f | %16.1f | %7.2f |\n' "$tool" "$wall" "$cpu" \
    "$(echo "$rss" | awk '{print $1 / 1024}')" "$(echo "$srv" | awk '{print $1 / 1000}')" \
    "$(echo "$srv $N" | awk '{print $1 / $2}')" "$(echo "$srv $cores" | awk '{print $1 / 1000 / $2}')"
done
echo
has() { local t; for t in "${tools[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }
has asyncssh || exit 0
for tool in drover-exec drover-run base-exec base-run; do
  has "$tool" || continue
  printf '%s / asyncssh: wall %.2fx, client CPU %.2fx, peak RSS %.2fx, sshd CPU %.2fx; per host: %.2f ms client CPU, %.1f ms sshd CPU\n' "$tool" \
    "$(echo "$(stat "$tool" 2) $(stat asyncssh 2)" | awk '{print $1 / $2}')" \
    "$(echo "$(stat "$tool" 3) $(stat asyncssh 3)" | awk '{print $1 / $2}')" \
    "$(echo "$(stat "$tool" 4) $(stat asyncssh 4)" | awk '{print $1 / $2}')" \
    "$(echo "$(stat "$tool" 5) $(stat asyncssh 5)" | awk '{print $1 / $2}')" \
    "$(echo "$(stat "$tool" 3) $N" | awk '{print $1 * 1000 / $2}')" \
    "$(echo "$(stat "$tool" 5) $N" | awk '{print $1 / $2}')"
done

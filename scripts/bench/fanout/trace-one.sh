#!/usr/bin/env bash
# One host, one connection per tool, looked at closely (not a test): what each client makes
# the server do. For `drover exec -- CMD`, asyncssh and OpenSSH `ssh` in turn, against a fresh
# sshd (LogLevel DEBUG3) in a network namespace this script creates, it prints
#   - the SSH messages the server received and sent, in order (from sshd's DEBUG3 log),
#   - the algorithms negotiated, the auth requests and the channel requests,
#   - the client's flights of packets and the round trips (RTT = 2 x DELAY_MS) the connection
#     took from SYN to the client's FIN (from tcpdump inside the namespace),
#   - with STRACE=1, the sshd's syscalls, forks and execs for that one connection (strace -f).
#   scripts/bench/fanout/trace-one.sh [DELAY_MS] [CMD]   (defaults: 25, true)
# Needs target/release/drover and target/bench-venv (scripts/bench-fanout.sh builds both).
set -euo pipefail
cd "$(dirname "$0")/../../.."
DELAY_MS=${1:-25}
CMD=${2:-true}
TOOLS=${TOOLS:-drover-exec asyncssh openssh}
case "$DELAY_MS" in *[!0-9]*) echo "usage: $0 [DELAY_MS] [CMD]" >&2; exit 2 ;; esac
bin=${DROVER_BIN:-$PWD/target/release/drover}
venv=$PWD/target/bench-venv
[ -x "$bin" ] || { echo "no $bin: run scripts/bench-fanout.sh 1 first" >&2; exit 1; }
source scripts/setup.sh
source scripts/bench/fanout/prepare.sh
command -v tcpdump >/dev/null 2>&1 || apt_install tcpdump
if [ "${STRACE:-0}" = 1 ]; then command -v strace >/dev/null 2>&1 || apt_install strace; fi
[ "$DELAY_MS" -gt 0 ] && ensure_delay_tool
ensure_bench_user

work=$(mktemp -d /tmp/drover-trace.XXXXXX)
chmod 755 "$work"
ns=drover-trace-$$
pids=()
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
cleanup() {
  for p in "${pids[@]}"; do stop_pid "$p"; done
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N "" -f "$work/host_key"
ssh-keygen -q -t ed25519 -N "" -f "$work/client_key"
cp "$work/client_key.pub" "$work/authorized_keys"; chmod 644 "$work/authorized_keys"
addr=127.1.0.1
echo "$addr $(cut -d' ' -f1,2 "$work/host_key.pub")" > "$work/known_hosts"
echo "$addr" > "$work/hosts"
cat > "$work/inventory.ini" <<INI
[defaults]
user = drover-bench
identity = $work/client_key
known_hosts = $work/known_hosts
host_key_policy = strict

[host h0]
address = $addr
INI
cat > "$work/sshd.conf" <<CFG
ListenAddress $addr:22
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile none
StrictModes no
UsePAM no
AllowUsers drover-bench
LogLevel DEBUG3
CFG
if [ "$DELAY_MS" -gt 0 ]; then
  ip netns exec "$ns" target/bench-bin/delay 0 "$DELAY_MS" &
  pids+=($!)
  ip netns exec "$ns" iptables -A OUTPUT -j NFQUEUE --queue-num 0 --queue-bypass
fi
ssh_opts=(-i "$work/client_key" -o UserKnownHostsFile="$work/known_hosts"
  -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ControlMaster=no
  -o ControlPath=none -o LogLevel=ERROR)
export SSH_AUTH_SOCK=
tool_cmd() {
  case "$1" in
    drover-exec) echo "$bin exec -i $work/inventory.ini -g all -- $CMD" ;;
    asyncssh) echo "$venv/bin/python scripts/bench/fanout/asyncssh_exec.py $work/hosts drover-bench $work/client_key $work/known_hosts $CMD" ;;
    openssh) echo "ssh ${ssh_opts[*]} drover-bench@$addr $CMD" ;;
  esac
}
printf '[group all]\nhosts = h0\n' >> "$work/inventory.ini"

for tool in $TOOLS; do
  log=$work/$tool.sshd.log
  ip netns exec "$ns" /usr/sbin/sshd -D -e -f "$work/sshd.conf" 2> "$log" &
  sshd_pid=$!
  for _ in $(seq 200); do
    ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$addr/22" 2>/dev/null && break
    sleep 0.05
  done
  sleep 0.3
  if [ "${STRACE:-0}" = 1 ]; then
    # attached to the running listener (and so to the connection's processes only); it
    # detaches on SIGINT and writes its summary
    strace -f -c -o "$work/$tool.strace" -p "$sshd_pid" 2> /dev/null &
    strace_pid=$!
  fi
  ip netns exec "$ns" tcpdump -i lo -nn -tt -l "tcp port 22 and host $addr" \
    > "$work/$tool.pcap.txt" 2> /dev/null &
  dump_pid=$!
  sleep 0.5
  ip netns exec "$ns" bash -c "$(tool_cmd "$tool")" > "$work/$tool.out" 2>&1 ||
    { echo "$tool failed:" >&2; cat "$work/$tool.out" >&2; }
  sleep $(( DELAY_MS > 0 ? 1 : 0 )).5
  stop_pid "$dump_pid"
  if [ "${STRACE:-0}" = 1 ]; then kill -INT "$strace_pid"; wait "$strace_pid" || true; fi
  stop_pid "$sshd_pid"
  echo "== $tool"
  grep -o 'kex: algorithm: .*\|kex: host key algorithm: .*\|kex: client->server cipher: .*' "$log" | sort -u | sed 's/^/  /'
  echo "  auth requests: $(grep -c 'userauth-request for user' "$log" || true)" \
    "($(grep -o 'userauth-request for user [^ ]* service [^ ]* method [^ ]*' "$log" | awk '{print $NF}' | paste -sd, -));" \
    "signatures checked: $(grep -c 'user_key_verify\|mm_answer_keyverify: publickey' "$log" || true)"
  echo "  channel requests: $(grep -o 'server_input_channel_req: channel [0-9]* request [^ ]*' "$log" | awk '{print $NF}' | paste -sd, -)"
  echo "  global requests: $(grep -o 'server_input_global_request: rtype [^ ]*' "$log" | awk '{print $NF}' | paste -sd, - || true)"
  # message types, received (<) and sent (>), runs of one direction joined on a line
  echo "  messages (< from client, > to client):"
  grep -o 'receive packet: type [0-9]*\|send packet: type [0-9]*' "$log" |
    awk '{d = ($1 == "receive") ? "<" : ">"; if (d != last) { if (line) print line; line = "    " d; last = d } line = line " " $NF} END {print line}'
  # flights: runs of the client's packets carrying data (or SYN/FIN) with less than DELAY_MS
  # between them; the client waits a round trip for the server between flights
  awk -v a="$addr.22" -v d="$DELAY_MS" '
    { t = $1; src = $3; len = $NF + 0 }
    NR == 1 { t0 = t }
    src != a && (len > 0 || NR == 1 || $0 ~ /Flags \[F/) {
      if (last == "" || (t - last) * 1000 > d / 2) flights++
      last = t; end = t
    }
    END {
      ms = (end - t0) * 1000
      printf "  client flights: %d; SYN to last client packet: %.0f ms", flights, ms
      if (d > 0) printf " = %.1f RTT", ms / (2 * d)
      print ""
    }' "$work/$tool.pcap.txt"
  if [ "${STRACE:-0}" = 1 ]; then
    echo "  sshd syscalls (strace -f -c): $(awk '/^------/ {n++} n == 2 && /total/ {print $4 " calls"}' "$work/$tool.strace")," \
      "clone/fork: $(awk '$NF ~ /^(clone|clone3|fork|vfork)$/ {s += $4} END {print s + 0}' "$work/$tool.strace")," \
      "wait4: $(awk '$NF == "wait4" {print $4}' "$work/$tool.strace")," \
      "execve: $(awk '$NF == "execve" {print $4}' "$work/$tool.strace")"
  fi
  [ -n "${KEEP_LOGS:-}" ] && cp "$log" "$work/$tool.pcap.txt" "$KEEP_LOGS/" 2>/dev/null || true
done

# Shared by scripts/bench-fanout.sh and scripts/bench/fanout/trace-one.sh (sourced after
# scripts/setup.sh): the delay program and the fleet's command user.

# target/bench-bin/delay, which holds every packet DELAY_MS (no netem on this kernel).
ensure_delay_tool() {
  command -v iptables >/dev/null 2>&1 || apt_install iptables
  [ -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ] || apt_install libnetfilter-queue-dev
  mkdir -p target/bench-bin
  cc -O2 -o target/bench-bin/delay scripts/bench/fanout/delay.c -lnetfilter_queue
}

# The dedicated /bin/sh user the fleet's commands run as.
ensure_bench_user() {
  id drover-bench >/dev/null 2>&1 || useradd -r -m -d /var/lib/drover-bench -s /bin/sh drover-bench
  # `*`: no password, but not locked (sshd without PAM refuses locked accounts, keys or not)
  usermod -p '*' drover-bench
}

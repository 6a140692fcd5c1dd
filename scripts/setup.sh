# Shared setup for scripts/*.sh (sourced): installs missing tools on Debian as root.
# Never shipped; safe to run repeatedly.

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "missing: $* — install it (e.g. sudo apt-get install -y $*) and retry" >&2
    exit 1
  fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_build_tools() {
  if ! command -v cargo >/dev/null 2>&1; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "cargo not found: install Rust from https://rustup.rs and retry" >&2
      exit 1
    fi
  fi
  # vendored Lua 5.4 and aws-lc need a C compiler and make.
  command -v cc >/dev/null 2>&1 || apt_install gcc libc6-dev
  command -v make >/dev/null 2>&1 || apt_install make
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
      rustup component add rustfmt clippy
    else
      echo "cargo fmt / cargo clippy missing: install the rustfmt and clippy components" >&2
      exit 1
    fi
  fi
}

# What the SSH tests need: OpenSSH's sshd (started by the tests themselves on loopback) and a
# dedicated login user whose shell is /bin/sh (root's shell startup here adds ~95 ms a command).
ensure_sshd_fixture() {
  if [ ! -x /usr/sbin/sshd ]; then
    apt_install openssh-server
  fi
  command -v ssh-keygen >/dev/null 2>&1 || apt_install openssh-client
  # the passphrase-prompt test drives drover on a terminal through tmux
  command -v tmux >/dev/null 2>&1 || apt_install tmux
  # the README test runs the README's `drover exec --json | jq` pipeline
  command -v jq >/dev/null 2>&1 || apt_install jq
  # the man page test renders drover(1) with man -l; terminal tests run under script(1)
  command -v man >/dev/null 2>&1 || apt_install man-db
  command -v script >/dev/null 2>&1 || apt_install bsdutils
  if ! id drover-test >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
      echo "user drover-test missing: as root run: useradd -m -s /bin/sh drover-test && usermod -p '*' drover-test" >&2
      exit 1
    fi
    useradd -m -s /bin/sh drover-test
    # useradd leaves the password locked ('!'), which sshd with UsePAM no treats as a ban
    # even for key logins; '*' unlocks key logins without giving it a password.
    usermod -p '*' drover-test
  fi
}

# sudo for the sudo tests: drover-test may sudo, with its password, only to drover-sudo-target,
# an unprivileged user without a login, so the tests exercise the password path without
# granting anything.
ensure_sudo_fixture() {
  command -v sudo >/dev/null 2>&1 || apt_install sudo
  [ "$(id -u)" = 0 ] || return 0
  id drover-sudo-target >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin drover-sudo-target
  id drover-nopass-target >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin drover-nopass-target
  local rule=/etc/sudoers.d/drover-test
  printf 'Defaults:drover-test lecture=never\ndrover-test ALL=(drover-sudo-target) ALL\ndrover-test ALL=(drover-nopass-target) NOPASSWD: ALL\n' > "$rule"
  chmod 440 "$rule"
}

# Starts a throwaway sshd for the benchmarks on a free loopback port, in a new temp directory:
# sets bench_dir, bench_port, bench_sshd_pid (the caller kills it by that PID and removes the
# directory), with a client key ($bench_dir/client_key) authorized for drover-test.
start_bench_sshd() {
  bench_dir=$(mktemp -d /tmp/drover-bench.XXXXXX)
  chmod 755 "$bench_dir"
  bench_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  ssh-keygen -q -t ed25519 -N "" -f "$bench_dir/host_key"
  ssh-keygen -q -t ed25519 -N "" -f "$bench_dir/client_key"
  cp "$bench_dir/client_key.pub" "$bench_dir/authorized_keys"; chmod 644 "$bench_dir/authorized_keys"
  cat > "$bench_dir/sshd_config" <<CFG
Port $bench_port
ListenAddress 127.0.0.1
HostKey $bench_dir/host_key
AuthorizedKeysFile $bench_dir/authorized_keys
PidFile $bench_dir/sshd.pid
StrictModes no
UsePAM no
LogLevel ERROR
Subsystem sftp internal-sftp
CFG
  mkdir -p /run/sshd
  /usr/sbin/sshd -D -e -f "$bench_dir/sshd_config" 2> "$bench_dir/sshd.log" &
  bench_sshd_pid=$!
  for _ in $(seq 100); do
    if (head -c 8 < /dev/tcp/127.0.0.1/$bench_port) 2>/dev/null | grep -q SSH-2.0-; then return 0; fi
    sleep 0.05
  done
  echo "the benchmark sshd did not start: $(cat "$bench_dir/sshd.log")" >&2
  return 1
}

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
  local rule=/etc/sudoers.d/drover-test
  printf 'Defaults:drover-test lecture=never\ndrover-test ALL=(drover-sudo-target) ALL\n' > "$rule"
  chmod 440 "$rule"
}

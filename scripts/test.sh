#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh Debian machine, then
# runs formatting and lint checks and every test (Rust and tests/lua/**/*.lua).
#
#   scripts/test.sh            everything
#   scripts/test.sh NAME       only tests whose name contains NAME (after fmt and clippy)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
ensure_sshd_fixture
ensure_sudo_fixture

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked
echo "== cargo test"
cargo test --locked -- "$@"

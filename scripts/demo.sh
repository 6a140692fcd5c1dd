#!/usr/bin/env bash
# The README's first command: builds drover and runs the built-in demo.
# (Until the fan-out work lands, the demo is the task runtime: gevent's classic demos in Lua.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_build_tools
echo "== building drover (release)"
cargo build --release --locked -q
echo "== drover run examples/tasks.lua"
target/release/drover run examples/tasks.lua

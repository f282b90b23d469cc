#!/usr/bin/env bash
# Runs every fuzz target for a bounded time; exits non-zero on the first crash.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked
for target in $(RUSTC_BOOTSTRAP=1 cargo fuzz list); do
  echo "== $target (${seconds}s)"
  RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -O "$target" -- -max_total_time="$seconds"
done

#!/usr/bin/env bash
# The fuzz suite, briefly: every cargo-fuzz target (fuzz/fuzz_targets) runs for a bounded time on
# nightly with overflow checks and debug assertions on (-a), from its seed corpus; any crash fails
# CI and leaves its input under fuzz/artifacts. The long runs whose counts the README gives are
# `scripts/fuzz-long`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
cd fuzz
cargo +nightly fuzz build -O -a
for target in world sweep_spec search_spec command_log pool; do
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run -O -a "$target" -- -max_total_time="$seconds" -max_len=16384 2>&1 | tail -2
done

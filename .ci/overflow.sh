#!/usr/bin/env bash
# Every bundled world (and the stress and benchmark worlds, shortened) with integer overflow
# checks and debug assertions on (token conservation checked every block): an overflow that a
# release build would silently wrap panics here. The binary is the one `cargo test --workspace`
# builds for the CLI's integration tests (test profile: optimised, checks on), so this step
# compiles nothing of its own; `--no-run` only makes sure it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked --no-run -q
bin=target/debug/meshsim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for w in worlds/*.ron worlds/stress/*.ron; do
    "$bin" run "$w" --out "$out/$(basename "$w" .ron)" --quiet >/dev/null
done
"$bin" run worlds/bench/s1.ron --blocks 200000 --tables none --out "$out/s1" --quiet >/dev/null
"$bin" run worlds/bench/s2.ron --blocks 50000 --tables none --out "$out/s2" --quiet >/dev/null
"$bin" run worlds/mesh.ron --blocks 50000 --tables none --out "$out/mesh-long" --quiet >/dev/null
echo "every world ran with overflow checks on"

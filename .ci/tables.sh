#!/usr/bin/env bash
# Every table of every bundled world loads in polars and pandas with the dtypes its schema.json
# names (plain read_csv, then with the schema; and Parquet): installs them into target/py-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/py-venv.sh py-venv
target/py-venv/bin/pip install -q --disable-pip-version-check polars==2.1.0 pandas==3.1.1 pyarrow==26.0.1
cargo build --release --locked -q -p meshsim-cli
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for w in worlds/*.ron worlds/stress/*.ron; do
    target/release/meshsim run "$w" --out "$out/$(basename "$w" .ron)" --quiet >/dev/null
done
target/release/meshsim run worlds/mesh.ron --blocks 60000 --out "$out/mesh-long" --quiet >/dev/null
target/release/meshsim run worlds/vaults.ron --format parquet --out "$out/vaults-parquet" --quiet >/dev/null
target/py-venv/bin/python scripts/check_tables.py "$out"/*

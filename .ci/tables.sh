#!/usr/bin/env bash
# Every table of every bundled world loads in polars and pandas with the dtypes its schema.json
# names (plain read_csv, then with the schema; and Parquet): installs them into target/py-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
[ -x target/py-venv/bin/python ] || python3 -m venv target/py-venv
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

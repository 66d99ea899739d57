#!/usr/bin/env bash
# The Python package as a user installs it: a fresh virtual environment, `pip install
# ./crates/python` (the README's command; maturin builds the abi3 wheel, reusing the workspace's
# target directory), the stubs checked against the module by mypy's stubtest, then pytest with
# the Ray and notebook tests required (MESHSIM_TEST_ALL=1): same digests and tables as the CLI,
# the Ray sweep on a local 2-CPU cluster equal to the CLI sweep, the notebook executed.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/py-venv.sh py-fresh
rm -rf "$venv"
python3 -m venv "$venv"
pip="$venv/bin/pip --disable-pip-version-check -q"
$pip install pytest==9.2.0 pandas==3.1.1 polars==2.1.0 pyarrow==26.0.1 mypy==2.4.1 ray==2.60.0 \
    nbclient==0.11.0 nbformat==5.11.1 ipykernel==7.4.0 matplotlib==3.11.2
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
$pip install ./crates/python
# a stale extension in the source tree would shadow the installed one
test ! -e crates/python/python/meshsim/_meshsim.abi3.so
(cd "$venv" && bin/python -m mypy.stubtest meshsim --ignore-missing-stub --mypy-config-file "$OLDPWD/crates/python/pyproject.toml")
MESHSIM_TEST_ALL=1 MESHSIM_BIN="$PWD/target/release/meshsim" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider crates/python/tests

#!/usr/bin/env bash
# The Balancer weighted math against balancer-maths (PyPI, Balancer's own Python implementation):
# installs Python's venv module if missing, the package into target/bm-venv, then runs the
# differential test (ignored by default because it needs that Python).
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/py-venv.sh bm-venv
target/bm-venv/bin/pip install -q --disable-pip-version-check balancer-maths==0.1.2
MESHSIM_BALANCER_PYTHON="$PWD/target/bm-venv/bin/python" cargo test -p meshsim-math --locked --test balancer -- --ignored

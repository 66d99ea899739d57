#!/usr/bin/env bash
# The Balancer weighted math against balancer-maths (PyPI, Balancer's own Python implementation):
# installs Python's venv module if missing, the package into target/bm-venv, then runs the
# differential test (ignored by default because it needs that Python).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
[ -x target/bm-venv/bin/python ] || python3 -m venv target/bm-venv
target/bm-venv/bin/pip install -q --disable-pip-version-check balancer-maths==0.1.2
MESHSIM_BALANCER_PYTHON="$PWD/target/bm-venv/bin/python" cargo test -p meshsim-math --locked --test balancer -- --ignored

#!/usr/bin/env bash
# Sourced by CI scripts: makes sure Python's venv module is there (apt when it is not) and creates
# the virtual environment "$1" under target/ if missing; sets $venv to it.
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
venv="target/$1"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"

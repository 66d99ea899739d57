"""Shared fixtures: the repository root and the `meshsim` command line built from the same
checkout, so the package's results can be checked against the CLI's."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `meshsim` binary: MESHSIM_BIN, or built here with cargo (release, locked)."""
    given = os.environ.get("MESHSIM_BIN")
    if given:
        return Path(given)
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "meshsim-cli", "--quiet"], cwd=ROOT, check=True
    )
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "meshsim"


@pytest.fixture(scope="session")
def spec(root) -> Path:
    """The sweep the Python, Ray and CLI sweeps are compared on."""
    return root / "worlds" / "sweeps" / "threshold.ron"


@pytest.fixture(scope="session")
def cli_sweep(cli, spec, tmp_path_factory) -> Path:
    """`meshsim sweep` of `spec` on two threads."""
    out = tmp_path_factory.mktemp("cli") / "sweep"
    subprocess.run(
        [str(cli), "sweep", str(spec), "--out", str(out), "--threads", "2"], check=True, capture_output=True
    )
    return out

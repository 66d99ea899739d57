"""Worst-case searches from Python: the same files as `meshsim search`, to the byte, and the
candidates handed back as tables."""

import json
import subprocess

import pytest

import meshsim

FILES = ["candidates.csv", "convergence.csv", "summary.json", "worst-1.ron", "tail.json"]


def write_spec(root, tmp_path, name="crash"):
    """A small cross-entropy search of stress/crash.ron's shock, with a tail estimate."""
    world = root / "worlds" / "stress" / "crash.ron"
    spec = tmp_path / f"{name}.ron"
    spec.write_text(
        f'Search(version: 1, name: "{name}", world: "{world}", blocks: 300, seeds: 1, master_seed: 5,\n'
        "    parameters: [\n"
        '        (path: "market.shocks[0].change", from: -0.7, to: 0.0, prior: (-0.1, 0.15)),\n'
        '        (path: "market.shocks[0].blocks", from: 1.0, to: 200.0, integer: true),\n'
        "    ],\n"
        '    objective: Vault(vault: "cm-threshold", metric: "max_drawdown"),\n'
        "    method: CrossEntropy(iterations: 2, population: 6, elite: 0.5),\n"
        "    plausibility: 0.02,\n"
        "    tail: 0.05,\n"
        ")\n"
    )
    return spec


def test_search_writes_the_cli_files_and_returns_its_candidates(root, cli, tmp_path, capsys):
    spec = write_spec(root, tmp_path)
    subprocess.run(
        [str(cli), "search", str(spec), "--out", str(tmp_path / "cli"), "--threads", "2", "--quiet"],
        check=True,
        capture_output=True,
    )
    result = meshsim.search(spec, threads=1, out=tmp_path / "py", progress=True)
    for f in FILES:
        assert (tmp_path / "py" / f).read_bytes() == (tmp_path / "cli" / f).read_bytes(), f
    assert "12/12 candidates" in capsys.readouterr().err
    candidates = result["candidates"]
    assert candidates.num_rows == 12 == result["summary"]["candidates"]
    assert "market.shocks[0].change" in candidates.column_names
    # the summary's best objective is the largest one in the table
    objectives = [x for x in candidates.column("objective").to_pylist() if x is not None]
    assert max(objectives) == result["summary"]["best_objective"]
    assert result["convergence"].num_rows == 2
    assert result["reused"] == 0
    assert json.loads((tmp_path / "py" / "summary.json").read_text()) == result["summary"]
    # the same search again resumes from its journal and evaluates nothing new
    journalled = len((tmp_path / "py" / "journal.csv").read_text().splitlines()) - 1
    assert journalled >= 12  # the candidates, and the tail estimate's draws
    again = meshsim.search(spec, out=tmp_path / "py")
    assert again["reused"] == journalled
    assert len((tmp_path / "py" / "journal.csv").read_text().splitlines()) - 1 == journalled
    assert again["summary"] == result["summary"]


def test_a_bad_search_spec_is_located(root, tmp_path):
    spec = write_spec(root, tmp_path, name="bad")
    spec.write_text(spec.read_text().replace('"market.shocks[0].blocks"', '"market.shocks[0].nope"'))
    with pytest.raises(ValueError, match="nope"):
        meshsim.search(spec, out=tmp_path / "out")
    spec.write_text("Search(version: 1,\n  name: 7)\n")
    with pytest.raises(ValueError, match=r"bad\.ron:2:\d+"):
        meshsim.search(spec, out=tmp_path / "out")
    with pytest.raises(ValueError, match="threads"):
        meshsim.search(spec, threads=0)

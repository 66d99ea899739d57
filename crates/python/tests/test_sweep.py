"""Sweeps from Python: the whole sweep, and its runs made one by one and collected, give the
CLI's tables byte for byte."""

import pytest

import meshsim

TABLES = ["runs.csv", "vaults.csv", "points.csv", "vault_points.csv", "tails.csv", "pareto.csv"]


def same_files(a, b):
    for t in TABLES:
        assert (a / t).read_bytes() == (b / t).read_bytes(), t


def test_sweep_writes_the_cli_tables_and_returns_them(spec, cli_sweep, tmp_path):
    result = meshsim.sweep(spec, threads=2, out=tmp_path / "py")
    assert result["complete"] and result["failed"] == 0
    same_files(cli_sweep, tmp_path / "py")
    runs = result["tables"]["runs"]
    assert runs.num_rows == result["runs_total"] == meshsim.SweepPlan(spec).run_count
    assert "vault_cost" in runs.column_names


def test_runs_made_one_by_one_and_collected_equal_the_cli(spec, cli_sweep, tmp_path):
    plan = meshsim.SweepPlan(spec)
    ids = list(range(plan.run_count))
    # out of order, in two batches, the way tasks finish
    first, second = plan.run(ids[1::2]), plan.run(ids[::2])
    partial = plan.collect(first, out=tmp_path / "py")
    assert not partial["complete"] and partial["tables"] == {}
    done = plan.collect(second + first, out=tmp_path / "py")
    assert done["complete"] and done["ran"] == len(second) and done["skipped"] == len(first)
    same_files(cli_sweep, tmp_path / "py")
    damaged = [(list(first[0][0]), first[0][1])]
    damaged[0][0][3] = "999"
    with pytest.raises(ValueError, match="damaged"):
        plan.collect(damaged, out=tmp_path / "other")

"""Sweeps from Python: the whole sweep, and its runs made one by one and collected, give the
CLI's tables byte for byte."""

import _thread
import threading

import pytest

import meshsim

TABLES = ["runs.csv", "vaults.csv", "points.csv", "vault_points.csv", "tails.csv", "pareto.csv"]


def same_files(a, b):
    for t in TABLES:
        assert (a / t).read_bytes() == (b / t).read_bytes(), t


def test_sweep_writes_the_cli_tables_and_returns_them(spec, cli_sweep, tmp_path, capsys):
    result = meshsim.sweep(spec, threads=2, out=tmp_path / "py", progress=True)
    assert result["complete"] and result["failed"] == 0
    total = result["runs_total"]
    assert f"\r{total}/{total} runs\n" in capsys.readouterr().err
    same_files(cli_sweep, tmp_path / "py")
    runs = result["tables"]["runs"]
    assert runs.num_rows == result["runs_total"] == meshsim.SweepPlan(spec).run_count
    assert "vault_cost" in runs.column_names


def test_ctrl_c_stops_a_sweep_which_then_resumes_to_the_cli_tables(spec, cli_sweep, tmp_path):
    # Ctrl-C, as the interpreter sees it, a moment into a sweep of several seconds on one thread
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        meshsim.sweep(spec, threads=1, out=tmp_path / "py")
    total = meshsim.SweepPlan(spec).run_count
    assert not (tmp_path / "py" / "runs.csv").exists()
    done = meshsim.sweep(spec, threads=2, out=tmp_path / "py")
    assert done["complete"] and done["skipped"] + done["ran"] == total
    assert done["skipped"] < total
    same_files(cli_sweep, tmp_path / "py")


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


def test_a_bad_spec_is_located(root, tmp_path):
    world = (root / "worlds" / "vaults.ron").read_text()
    (tmp_path / "w.ron").write_text(world)
    spec = tmp_path / "bad.ron"
    spec.write_text('Sweep(version: 1, name: "bad", worlds: ["w.ron"], seeds: 2, master_seed: 1,\n'
                    '    parameters: [(path: "vaults[nope].trigger.band", values: List([0.01]))])\n')
    with pytest.raises(ValueError, match="line 2, column 54 of the spec") as caught:
        meshsim.SweepPlan(spec)
    assert "nope" in str(caught.value) and "cm-threshold" in str(caught.value)
    with pytest.raises(ValueError, match="line 2, column 54"):
        meshsim.sweep(spec, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    # a syntax error names the file
    spec.write_text('Sweep(version: 1,\n  name: 7)\n')
    with pytest.raises(ValueError, match=r"bad\.ron:2:\d+"):
        meshsim.SweepPlan(spec)

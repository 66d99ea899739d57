"""The package runs the engine the CLI runs: same digests, same tables, same summary; worlds'
problems are located; commands replay; the GIL is released while the engine works."""

import json
import subprocess
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import meshsim

# one world per kind of venue: vaults and cascades, lending, two chains and a bridge, books
WORLDS = [("cascade.ron", None), ("lending.ron", 300), ("cross-chain.ron", 300), ("orderbook.ron", 300)]


def cli_run(cli: Path, world: Path, out: Path, *args: str) -> dict:
    subprocess.run([str(cli), "run", str(world), "--out", str(out), "--quiet", *args], check=True,
                   capture_output=True)
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("name,blocks", WORLDS)
def test_same_digest_summary_and_tables_as_the_cli(root, cli, tmp_path, name, blocks):
    world = root / "worlds" / name
    extra = ["--blocks", str(blocks)] if blocks else []
    summary = cli_run(cli, world, tmp_path / "cli", "--format", "parquet", *extra)
    result = meshsim.run(world, blocks=blocks)
    assert result["digest"] == summary["final_digest"]
    # the summary is the CLI's but for the files it names (none here)
    ours = dict(result["summary"])
    theirs = dict(summary)
    assert ours.pop("outputs") == {}
    theirs.pop("outputs")
    assert ours == theirs
    written = sorted(p.stem for p in (tmp_path / "cli").glob("*.parquet"))
    kept = sorted(k for k in result if k not in ("summary", "digest"))
    assert kept == written
    for t in written:
        mine, file = result[t], pq.read_table(tmp_path / "cli" / f"{t}.parquet")
        assert mine.schema.equals(file.schema), t
        assert mine.num_rows == file.num_rows, t
        # cell by cell, exact: amounts as Decimals, floats bit for bit
        assert mine.to_pylist() == file.to_pylist(), t


def test_stepping_equals_running_and_seeds_matter(root):
    world = meshsim.load_world(root / "worlds" / "vaults.ron")
    a = meshsim.Simulation(world, seed=3)
    for _ in range(120):
        a.step()
    b = meshsim.Simulation(world, seed=3)
    assert b.run(120) == 120 == a.block
    assert a.digest() == b.digest()
    assert a.trades().equals(b.trades()) and a.vaults().equals(b.vaults())
    c = meshsim.Simulation(world, seed=4)
    c.run(120)
    assert c.digest() != a.digest()
    # a world passed by path, a world picked and unpickled: the same run
    import pickle

    d = meshsim.Simulation(pickle.loads(pickle.dumps(world)), seed=3)
    d.run(120)
    assert d.digest() == a.digest()


def test_tables_are_arrow_and_convert_in_one_call(root):
    sim = meshsim.Simulation(root / "worlds" / "cascade.ron")
    sim.run()
    trades = sim.trades()
    assert trades.schema.field("amount_in").type.precision == 38
    assert trades.schema.field("block").metadata == {b"meshsim_type": b"u64"}
    df = trades.to_pandas()
    assert len(df) == trades.num_rows > 0
    import polars as pl

    frame = pl.from_arrow(sim.blocks())
    assert frame.height == 150 and frame["block"].to_list() == list(range(1, 151))
    cascades = sim.cascades()
    assert cascades.num_rows >= 1 and cascades.column("depth").to_pylist()[0] >= 1
    with pytest.raises(KeyError, match="lending"):
        sim.table("lending")


def test_reading_as_the_run_goes_gives_the_whole_tables(root):
    import pyarrow as pa

    world = root / "worlds" / "cascade.ron"
    whole = meshsim.Simulation(world)
    whole.run()
    sim = meshsim.Simulation(world)
    parts = {"blocks": [], "trades": [], "vaults": []}
    seen = {name: 0 for name in parts}
    while sim.block < 150:
        sim.run(min(7, 150 - sim.block))
        for name in parts:
            new = sim.table(name, start=seen[name])
            seen[name] += new.num_rows
            parts[name].append(new)
    for name, tables in parts.items():
        assert pa.concat_tables(tables).equals(whole.table(name)), name
    assert sim.trades(start=10**9).num_rows == 0


def test_no_tables_means_no_rows_but_the_same_digest(root):
    world = root / "worlds" / "mesh.ron"
    full = meshsim.Simulation(world)
    bare = meshsim.Simulation(world, tables="none")
    full.run(300)
    bare.run(300)
    assert full.digest() == bare.digest()
    assert bare.tables() == {}
    with pytest.raises(ValueError, match="unknown table"):
        meshsim.Simulation(world, tables="blocks,nope")


def test_a_run_that_stops_stays_stopped():
    # a price process that leaves the represented range within a few hundred blocks
    text = """World(version: 1, name: "blowup", seed: 1, blocks: 100000,
        chain: (block_time: Fixed(12.0), gas_limit: 30000000, base_fee_gwei: 0.0, native_token: "ETH"),
        numeraire: "USDC",
        tokens: [(symbol: "ETH", decimals: 18), (symbol: "USDC", decimals: 6)],
        market: (assets: [(token: "ETH", price: 2000.0, volatility: 0.5)]),
        pools: [ConstantProduct(name: "pool", tokens: ("ETH", "USDC"), reserves: ("100", "200000"), fee_bps: 30.0)],
    )"""
    sim = meshsim.Simulation(meshsim.World.from_str(text))
    sim.run(10)
    sim.apply('Shock(token: "ETH", change: 100.0, blocks: 1)')
    for _ in range(30):
        sim.apply('Shock(token: "ETH", change: 100.0, blocks: 1)')
        try:
            sim.run(1)
        except RuntimeError as e:
            first = str(e)
            break
    else:
        pytest.fail("the price never left its range")
    assert "outside" in first
    with pytest.raises(RuntimeError, match="stopped earlier"):
        sim.run(1)


def test_long_runs_show_progress_on_stderr(root, capsys):
    sim = meshsim.Simulation(root / "worlds" / "bench" / "s1.ron", tables="none")
    sim.run(10000, progress=True)
    err = capsys.readouterr().err
    assert err.split("\r")[1:] == ["4096/10000 blocks", "8192/10000 blocks", "10000/10000 blocks\n"]
    sim.run(10)
    assert capsys.readouterr().err == ""


def test_snapshot_reads_the_state(root):
    sim = meshsim.Simulation(root / "worlds" / "vaults.ron")
    sim.run(50)
    snap = sim.snapshot()
    assert snap["block"] == 50
    pool = snap["pools"][0]
    assert set(pool["balances"]) == set(pool["tokens"])
    assert all(isinstance(v, int) and v > 0 for v in pool["balances"].values())
    vault = snap["vaults"][0]
    assert abs(sum(vault["weights"].values()) - 1.0) < 1e-9
    assert vault["nav"] > 0 and vault["name"] in meshsim.load_world(root / "worlds" / "vaults.ron").vaults


def test_world_errors_are_located(root, tmp_path):
    text = (root / "worlds" / "cascade.ron").read_text()
    bad = text.replace("fee_bps: 30.0", "fee_bps: -1.0", 1)
    assert bad != text
    with pytest.raises(meshsim.WorldError) as caught:
        meshsim.World.from_str(bad, origin="bad.ron")
    e = caught.value
    line = next(i + 1 for i, l in enumerate(bad.splitlines()) if "fee_bps: -1.0" in l)
    assert (e.file, e.line) == ("bad.ron", line)
    assert e.field.endswith("fee_bps") and e.column > 1
    assert e.issues[0]["line"] == line and "bad.ron" in str(e)
    # a syntax error, a missing file
    with pytest.raises(meshsim.WorldError) as caught:
        meshsim.World.from_str("World(version: 1,", origin="cut.ron")
    assert caught.value.line == 1 and caught.value.file == "cut.ron"
    with pytest.raises(meshsim.WorldError) as caught:
        meshsim.load_world(tmp_path / "missing.ron")
    assert caught.value.line is None and caught.value.file.endswith("missing.ron")
    assert isinstance(caught.value, ValueError)


def test_commands_apply_and_their_log_replays_in_the_cli(root, cli, tmp_path):
    world = root / "worlds" / "vaults.ron"
    sim = meshsim.Simulation(world, seed=11)
    sim.run(100)
    plain = meshsim.Simulation(world, seed=11)
    plain.run(100)
    sim.apply('Shock(token: "ETH", change: -0.3, blocks: 5)')
    sim.run(100)
    plain.run(100)
    assert sim.digest() != plain.digest()
    log = tmp_path / "session.ron"
    log.write_text(sim.command_log())
    summary = cli_run(cli, world, tmp_path / "replay", "--commands", str(log), "--tables", "none")
    assert summary["final_digest"] == sim.digest()
    assert meshsim.run(world, commands=log, tables="none")["digest"] == sim.digest()
    with pytest.raises(ValueError, match="unknown token"):
        sim.apply('Shock(token: "DOGE", change: -0.3, blocks: 5)')
    with pytest.raises(meshsim.WorldError):
        sim.apply("Shock(token: ")


def test_the_engine_runs_with_the_gil_released(root):
    import sys
    import time

    sim = meshsim.Simulation(root / "worlds" / "bench" / "s1.ron", tables="none")
    other = meshsim.Simulation(root / "worlds" / "mesh.ron", tables="none")
    total = 4096 * 60
    worker = threading.Thread(target=sim.run, args=(total,))
    # no forced switches: a thread gets the GIL only when its holder lets go of it, so this
    # thread runs while the worker is inside sim.run only if the engine released the GIL
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    steps = 0
    try:
        worker.start()
        while worker.is_alive():
            other.step()
            steps += 1
            time.sleep(0.001)  # lets the worker take the GIL between its chunks
    finally:
        sys.setswitchinterval(interval)
        worker.join()
    assert sim.block == total
    # holding the GIL, the worker would finish before this thread ran at all (at most a step
    # or two while it exits); the run lasts a tenth of a second or more, hundreds of steps
    assert steps >= 20, steps
    assert other.block == steps


def test_simulations_in_threads_match_sequential_runs(root):
    from concurrent.futures import ThreadPoolExecutor

    world = meshsim.load_world(root / "worlds" / "mesh.ron")

    def digest(seed):
        s = meshsim.Simulation(world, seed=seed, tables="none")
        s.run(400)
        return s.digest()

    with ThreadPoolExecutor(2) as pool:
        parallel = list(pool.map(digest, range(4)))
    assert parallel == [digest(s) for s in range(4)]
    assert len(set(parallel)) == 4


def test_the_readme_example_works_as_written(root, cli, tmp_path, monkeypatch, capsys):
    readme = (root / "README.md").read_text()
    start = readme.index("## From Python")
    block = readme[readme.index("```python\n", start) + len("```python\n"):]
    code = block[: block.index("```")]
    assert len(code.strip().splitlines()) <= 11
    monkeypatch.chdir(root)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    summary = cli_run(cli, root / "worlds" / "vaults.ron", tmp_path / "cli", "--seed", "7", "--blocks", "2000",
                      "--tables", "none")
    assert printed[0] == summary["final_digest"]

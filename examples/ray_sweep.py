"""A meshsim sweep fanned out as Ray tasks.

Each task runs a batch of the sweep's runs with the Rust engine (``SweepPlan.run``, one CPU,
the GIL released) and returns their records: plain strings, each row closed by a checksum.
The driver collects them as they finish into a sweep directory, which ends up holding the
same tables as ``meshsim sweep SPEC`` writes, byte for byte: ``runs.csv``, ``vaults.csv``,
``points.csv``, ``vault_points.csv``, ``tails.csv``, ``pareto.csv`` and ``plots/``.

    python examples/ray_sweep.py worlds/sweeps/threshold.ron --out out/ray-threshold
    python examples/ray_sweep.py SPEC --address auto     # an existing Ray cluster

On a cluster every worker reads the spec and its worlds by the same path: start the job from
a checkout with ``runtime_env={"working_dir": ...}`` (and ``pip: ["./crates/python"]`` or a
prebuilt wheel), and give the spec as a path relative to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ray

import meshsim


@ray.remote(num_cpus=1)
def run_batch(spec: str, ids: list[int]) -> list:
    """Runs some of the sweep's runs on one worker; returns their records."""
    return meshsim.SweepPlan(spec).run(ids)


def batches(count: int, size: int) -> list[list[int]]:
    return [list(range(start, min(start + size, count))) for start in range(0, count, size)]


def ray_sweep(spec: str | Path, out: str | Path, batch: int | None = None) -> dict:
    """Runs the sweep `spec` as Ray tasks and writes its tables to `out`; returns the same dict
    as ``meshsim.sweep`` (``complete``, ``tables`` as pyarrow tables, ...)."""
    plan = meshsim.SweepPlan(spec)
    cpus = max(1, int(ray.available_resources().get("CPU", 1)))
    # a few batches per CPU: even load, and few enough records in flight per task
    size = batch or max(1, -(-plan.run_count // (4 * cpus)))
    pending = [run_batch.remote(str(spec), ids) for ids in batches(plan.run_count, size)]
    result = plan.collect([], out=out)
    while pending:
        done, pending = ray.wait(pending, num_returns=min(len(pending), cpus))
        # journalled as they arrive: a driver that dies keeps what was gathered
        result = plan.collect([r for ref in done for r in ray.get(ref)], out=out)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spec", help="a sweep spec (RON), e.g. worlds/sweeps/threshold.ron")
    ap.add_argument("--out", default=None, help="sweep directory (default out/ray-NAME)")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local cluster")
    ap.add_argument("--batch", type=int, default=None, help="runs per task")
    args = ap.parse_args()
    ray.init(address=args.address, num_cpus=args.num_cpus)
    out = args.out or f"out/ray-{meshsim.SweepPlan(args.spec).name}"
    result = ray_sweep(args.spec, out, args.batch)
    state = "complete" if result["complete"] else "incomplete"
    print(f"{result['runs_total']} runs ({result['failed']} failed), {state}; tables in {out}")


if __name__ == "__main__":
    main()

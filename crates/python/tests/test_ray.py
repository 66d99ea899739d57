"""examples/ray_sweep.py on a local Ray cluster of 2 CPUs writes the CLI sweep's tables."""

import importlib.util
import os

import pytest

from test_sweep import same_files

if os.environ.get("MESHSIM_TEST_ALL") != "1":
    ray = pytest.importorskip("ray")
else:
    import ray


@pytest.fixture(scope="module")
def example(root):
    spec = importlib.util.spec_from_file_location("ray_sweep", root / "examples" / "ray_sweep.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ray_sweep_equals_the_cli_sweep(example, spec, cli_sweep, tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        result = example.ray_sweep(spec, tmp_path / "ray", batch=10)
    finally:
        ray.shutdown()
    assert result["complete"] and result["failed"] == 0
    same_files(cli_sweep, tmp_path / "ray")
    assert result["tables"]["pareto"].num_rows > 0

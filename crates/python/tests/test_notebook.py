"""examples/notebook.ipynb executes top to bottom, and is kept without outputs."""

import json
import os

import pytest

if os.environ.get("MESHSIM_TEST_ALL") != "1":
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
else:
    import nbclient

import nbformat


def test_the_notebook_is_stored_without_outputs(root):
    nb = json.loads((root / "examples" / "notebook.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_the_notebook_runs(root, tmp_path):
    nb = nbformat.read(root / "examples" / "notebook.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(root)}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # every plot cell drew a figure
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 3

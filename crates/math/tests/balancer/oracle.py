"""Answers Balancer weighted-math questions with the `balancer-maths` package from PyPI, the
reference the differential test in `crates/math/tests/balancer.rs` checks meshsim's port against.

Reads one case per line on stdin: `op a b c d e` (decimal integers), op one of
  out  balance_in weight_in balance_out weight_out amount_in    (compute_out_given_exact_in)
  in   balance_in weight_in balance_out weight_out amount_out   (compute_in_given_exact_out)
  pow  x y                                                       (LogExpMath.pow)
and writes one answer per line: `ok N` or `err MESSAGE`.
"""

import importlib.util
import pathlib
import sys

# balancer-maths 0.1.2 imports its own modules as `src.*`: load the installed package under that
# name so that those imports resolve.
spec = importlib.util.find_spec("balancer_maths")
if spec is None or spec.origin is None:
    sys.exit("balancer-maths is not installed (pip install balancer-maths==0.1.2)")
root = pathlib.Path(spec.origin).parent
src_spec = importlib.util.spec_from_file_location("src", root / "__init__.py", submodule_search_locations=[str(root)])
src = importlib.util.module_from_spec(src_spec)
sys.modules["src"] = src
src_spec.loader.exec_module(src)

from src.common.log_exp_math import LogExpMath  # noqa: E402
from src.pools.weighted.weighted_math import (  # noqa: E402
    compute_in_given_exact_out,
    compute_out_given_exact_in,
)

OPS = {
    "out": lambda a: compute_out_given_exact_in(*a),
    "in": lambda a: compute_in_given_exact_out(*a),
    "pow": lambda a: LogExpMath.pow(*a),
}

out = []
for line in sys.stdin:
    op, *args = line.split()
    try:
        out.append(f"ok {int(OPS[op]([int(x) for x in args]))}")
    except Exception as e:  # every failure is an answer: the Rust side must fail the same case
        out.append(f"err {type(e).__name__}: {e}".replace("\n", " "))
sys.stdout.write("\n".join(out) + "\n")

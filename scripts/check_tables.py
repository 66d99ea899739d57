#!/usr/bin/env python3
"""Checks that every table of meshsim run directories loads in polars and pandas with the dtypes
its schema.json names: first with plain `read_csv` (what a user types: for polars, with
`infer_schema_length=None`, as the README says), then with the schema.

    python3 scripts/check_tables.py OUT_DIR [OUT_DIR ...]

Exits non-zero naming every table and column that a reader got wrong.
"""
import json
import sys
from pathlib import Path

import pandas as pd
import polars as pl

POLARS_INT = {pl.Int64, pl.UInt64, pl.Int128}
PANDAS_INT = {"int64", "uint64"}


def polars_ok(kind, dtype, series):
    if kind == "f64":
        return dtype == pl.Float64
    if kind == "f64?":
        return dtype == pl.Float64 or series.null_count() == len(series)
    if kind == "u64":
        return dtype in POLARS_INT
    if kind == "u64?":
        return dtype in POLARS_INT or series.null_count() == len(series)
    if kind == "amount":
        return dtype in POLARS_INT
    if kind == "bool":
        return dtype == pl.Boolean
    if kind == "str":
        # a column with no text at all is all null
        return dtype == pl.String or series.null_count() == len(series)
    return False


def pandas_ok(kind, dtype, series):
    name = str(dtype)
    all_missing = bool(series.isna().all())
    if kind in ("f64", "f64?"):
        # a float column with no value at all is still float64 (NaN)
        return name == "float64"
    if kind == "u64":
        return name in PANDAS_INT
    if kind == "u64?":
        # pandas has no missing integers by default: floats when some are missing
        return name in PANDAS_INT or (name == "float64" and all(x.is_integer() for x in series.dropna()))
    if kind == "amount":
        # beyond 64 bits pandas keeps exact Python integers in an object column
        return name in PANDAS_INT or (name == "object" and all(isinstance(x, int) for x in series))
    if kind == "bool":
        return name == "bool"
    if kind == "str":
        return name in ("object", "str", "string") or all_missing
    return False


def schema_overrides(columns):
    to = {"f64": pl.Float64, "f64?": pl.Float64, "u64": pl.UInt64, "u64?": pl.UInt64, "amount": pl.Decimal(38, 0),
          "bool": pl.Boolean, "str": pl.String}
    return {c["name"]: to[c["type"]] for c in columns}


def missing_numbers(value, path="summary"):
    """Paths in summary.json holding null or a non-finite number where a number belongs."""
    if value is None:
        return [path]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in missing_numbers(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in missing_numbers(v, f"{path}[{i}]")]
    return []


def check_dir(out):
    problems = []
    summary = json.loads((out / "summary.json").read_text())
    problems += [f"{out.name}/summary.json: {p} is null or not finite" for p in missing_numbers(summary)]
    schema = json.loads((out / "schema.json").read_text())
    for table, spec in schema["tables"].items():
        path = out / spec["file"]
        columns = spec["columns"]
        where = f"{out.name}/{spec['file']}"
        if path.suffix == ".parquet":
            df = pl.read_parquet(path)
            pdf = pd.read_parquet(path)
        else:
            try:
                # polars infers from the first 100 rows unless told otherwise, and an amount past
                # 2^63 further down would not fit the Int64 it guessed
                df = pl.read_csv(path, infer_schema_length=None)
            except Exception as e:  # noqa: BLE001 - report what the reader said
                problems.append(f"{where}: polars.read_csv failed: {str(e).splitlines()[0]}")
                continue
            pdf = pd.read_csv(path)
            exact = pl.read_csv(path, schema_overrides=schema_overrides(columns))
            if exact.height != df.height:
                problems.append(f"{where}: {exact.height} rows with the schema, {df.height} without")
            for c, (name, got) in zip(columns, exact.schema.items()):
                if got != schema_overrides(columns)[c["name"]]:
                    problems.append(f"{where}: {name} read with the schema as {got}")
        if df.columns != [c["name"] for c in columns]:
            problems.append(f"{where}: columns {df.columns} differ from the schema")
            continue
        for c in columns:
            name, kind = c["name"], c["type"]
            if path.suffix == ".parquet" or df.height == 0:
                continue  # typed by the file itself (checked below), or no rows to infer a type from
            if not polars_ok(kind, df.schema[name], df[name]):
                problems.append(f"{where}: {name} ({kind}) read by polars as {df.schema[name]}")
            if not pandas_ok(kind, pdf[name].dtype, pdf[name]):
                problems.append(f"{where}: {name} ({kind}) read by pandas as {pdf[name].dtype}")
        if path.suffix == ".parquet":
            want = {"f64": pl.Float64, "f64?": pl.Float64, "u64": pl.UInt64, "u64?": pl.UInt64, "amount": pl.Decimal(38, 0),
                    "bool": pl.Boolean, "str": pl.String}
            for c in columns:
                got = df.schema[c["name"]]
                if got != want[c["type"]]:
                    problems.append(f"{where}: {c['name']} ({c['type']}) stored as {got}")
        print(f"{where}: {df.height} rows, {len(columns)} columns")
    return problems


def main():
    dirs = [Path(a) for a in sys.argv[1:]]
    if not dirs:
        sys.exit(__doc__)
    problems = [p for d in dirs for p in check_dir(d)]
    for p in problems:
        print("problem:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

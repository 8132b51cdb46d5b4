#!/usr/bin/env python3
"""Converts a `zo sweep` long table (CSV) to Parquet with typed columns.

usage: sweep_to_parquet.py <sweep.csv> <sweep.parquet>

Needs pyarrow (python3 -m pip install pyarrow). The CSV stays the primary output; this is a
convenience for pandas / polars / DuckDB users. Integer columns become int64, the numeric
columns float64 (the CSV's 17 significant digits round-trip exactly), `status` a string and
`diverged_at` a nullable int64.
"""
import sys


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq
    except ImportError:
        print("sweep_to_parquet.py: pyarrow is not installed (python3 -m pip install pyarrow)",
              file=sys.stderr)
        return 3
    with open(sys.argv[1], newline="") as f:
        header = f.readline().strip().split(",")
    types = {}
    for name in header:
        if name in ("run", "config", "seed", "q", "iteration", "diverged_at"):
            types[name] = pa.int64()
        elif name in ("method", "distribution", "status"):
            types[name] = pa.string()
        else:
            types[name] = pa.float64()
    table = pacsv.read_csv(
        sys.argv[1],
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=False,
            quoted_strings_can_be_null=False),
    )
    pq.write_table(table, sys.argv[2], compression="zstd")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Peer of bench_linear_step: one ZO step of logistic regression written like the paper's numpy
code (one run, q = 1): a fresh N(0, I) direction, f(x + λu) and f(x − λu) each from a product
A @ (x ± λu), the two-point estimate, x ← x − η g u. Shapes as bench_linear_step: dense
400 × 10,001 (float64, as numpy builds it) and a5a-like 6,414 × 123 with 14 binary features per
row, as a scipy CSR matrix (what sklearn's load_svmlight_file returns) and densified (whichever
is faster is the reference). Prints one JSON object per shape/storage with the median ms per step
over --repeats measurements.

    OMP_NUM_THREADS=1 python3 bench/linear_numpy_peer.py --repeats 5
"""
import argparse
import json
import statistics
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    ap.add_argument("--out", default="", help="also write the JSON list here")
    args = ap.parse_args()
    import numpy as np

    rng = np.random.default_rng(11)
    shapes = []
    a = rng.standard_normal((400, 10001))
    a[:, 0] = 1.0
    shapes.append(("dense 400x10001", "dense", a))
    rows, cols = 6414, 123
    dense_a5a = np.zeros((rows, cols))
    for i in range(rows):
        dense_a5a[i, rng.choice(cols, 14, replace=False)] = 1.0
    try:
        import scipy.sparse as sp

        shapes.append(("csr 6414x123", "scipy csr", sp.csr_matrix(dense_a5a)))
    except ImportError:
        pass
    shapes.append(("csr 6414x123", "numpy dense", dense_a5a))

    lam, eta = 0.1, 0.01
    results = []
    for name, storage, mat in shapes:
        n, d = mat.shape
        b = np.where(rng.random(n) < 0.5, 1.0, -1.0)

        def f(x):
            return np.mean(np.logaddexp(0.0, -b * (mat @ x)))

        x = 0.1 * rng.standard_normal(d)
        times = []
        for _ in range(args.repeats):
            steps = 0
            t0 = time.perf_counter()
            while True:
                u = rng.standard_normal(d)
                g = (f(x + lam * u) - f(x - lam * u)) / (2 * lam)
                x = x - eta * g * u
                steps += 1
                el = time.perf_counter() - t0
                if el >= args.seconds and steps >= 3:
                    break
            times.append(1e3 * el / steps)
        rec = {"impl": "numpy", "shape": name, "storage": storage, "numpy": np.__version__,
               "ms_per_step_median": statistics.median(times), "ms_per_step": times}
        results.append(rec)
        print(json.dumps(rec), flush=True)
    if args.out:
        import os
        tmp = args.out + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(results, fh, indent=1)
        os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

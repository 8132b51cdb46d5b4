#!/usr/bin/env python3
"""CPU peer of `zo sweep`: Example 2.1 (d = 100), ZO-SGD with the two-point Gaussian estimator
(λ = 0.1, η = 0.001) as a plain numpy loop in the style of the paper's own code: one run at a
time, one Python iteration per step, a fresh N(0, I) direction per step, the trace computed at
the logged iterations.

`loop` mode (default, the paper's style) times a few runs for a few seconds each and reports
config-steps per second; `vectorized` mode (also run) keeps all K runs in one (K, 2d) array.
Both extrapolate to the target K = 4096 runs × 10^5 steps. Single-threaded BLAS is not forced:
numpy uses whatever it was built with (these arrays are too small for threads to matter).

usage: sweep_numpy_peer.py [--out result.json] [--seconds 15]
Prints one JSON object per mode (a list, also written to --out).
"""
import sys
import time

from sweep_peer_common import emitter, log_points, parser


def main() -> int:
    ap = parser(__doc__.split("\n")[0], seconds=15.0)
    args = ap.parse_args()
    results = []

    emit = emitter(args, results)

    try:
        import numpy as np
    except ImportError as e:
        results.append({"impl": "numpy-loop", "error": f"numpy is not installed: {e}"})
        return emit(3)

    d, lam, eta = args.d, args.lam, args.eta
    log_set = set(log_points(args.steps, args.log_points))

    def f(x):
        return 0.5 * (np.dot(x[:d], x[d:]) - 1.0) ** 2

    # --- loop: one run at a time (the paper's code) ----------------------------------------------
    rng = np.random.default_rng(0)
    deadline = time.perf_counter() + args.seconds
    steps_done = 0
    runs = 0
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        x = rng.standard_normal(2 * d)
        traces = []
        for t in range(args.steps):
            if t in log_set:
                traces.append(float(np.dot(x, x)))
            u = rng.standard_normal(2 * d)
            g = (f(x + lam * u) - f(x - lam * u)) / (2 * lam)
            x = x - eta * g * u
            steps_done += 1
            if (t & 1023) == 0 and time.perf_counter() >= deadline:
                break
        runs += 1
    elapsed = time.perf_counter() - t0
    rate = steps_done / elapsed
    results.append({
        "impl": "numpy-loop", "numpy": np.__version__, "device": "cpu (1 core)",
        "runs": args.runs, "d": d, "target_steps": args.steps, "steps_timed": steps_done,
        "seconds_timed": elapsed, "config_steps_per_s": rate,
        "extrapolated_seconds": args.runs * args.steps / rate,
        "note": f"{steps_done} steps over {runs} run(s) timed, extrapolated to "
                f"{args.runs} x {args.steps}",
    })

    # --- vectorized over runs ------------------------------------------------------------------
    K = args.runs
    x = rng.standard_normal((K, 2 * d)).astype(np.float32)

    def fk(p):
        return 0.5 * (np.einsum("ij,ij->i", p[:, :d], p[:, d:]) - 1.0) ** 2

    deadline = time.perf_counter() + args.seconds
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() < deadline and n < args.steps:
        u = rng.standard_normal((K, 2 * d), dtype=np.float32)
        g = (fk(x + lam * u) - fk(x - lam * u)) / (2 * lam)
        x -= (eta * g)[:, None].astype(np.float32) * u
        n += 1
    elapsed = time.perf_counter() - t0
    per_step = elapsed / n
    results.append({
        "impl": "numpy-vectorized", "numpy": np.__version__, "device": "cpu",
        "runs": K, "d": d, "target_steps": args.steps, "steps_timed": n,
        "seconds_timed": elapsed, "seconds_per_step": per_step, "config_steps_per_s": K / per_step,
        "extrapolated_seconds": per_step * args.steps,
        "note": f"{n} steps of all {K} runs timed, extrapolated to {args.steps}",
    })
    return emit(0)


if __name__ == "__main__":
    sys.exit(main())

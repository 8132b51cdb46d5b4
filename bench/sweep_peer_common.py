"""Shared by the peers of `zo sweep` (sweep_torch.py, sweep_jax.py, sweep_numpy_peer.py): the
problem's command-line options, the log-spaced schedule of `zo sweep`, and JSON output."""
import argparse
import json
import math


def log_points(total, points):
    """Iterations 0 and round(10^x), x evenly spaced in [0, log10(total)], and total."""
    out = {0, total}
    top = math.log10(total)
    for i in range(points):
        out.add(int(round(10 ** (top * i / (points - 1)))))
    return sorted(t for t in out if t <= total)


def parser(description, seconds):
    """The options every peer takes (Example 2.1, ZO-SGD, the K runs x steps target)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", default=None)
    ap.add_argument("--runs", type=int, default=4096)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--steps", type=int, default=100000, help="target steps (extrapolated)")
    ap.add_argument("--log-points", type=int, default=100)
    ap.add_argument("--lam", type=float, default=0.1)
    ap.add_argument("--eta", type=float, default=0.001)
    ap.add_argument("--seconds", type=float, default=seconds, help="seconds of timed steps")
    return ap


def emitter(args, payload):
    """A function code -> code that prints `payload` as JSON and writes it to --out."""
    def emit(code):
        text = json.dumps(payload)
        print(text)
        if args.out:
            with open(args.out, "w") as f:
                f.write(text + "\n")
        return code
    return emit

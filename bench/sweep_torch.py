#!/usr/bin/env python3
"""PyTorch peer of `zo sweep`: Example 2.1 (d = 100), K runs of ZO-SGD with the two-point
Gaussian estimator (λ = 0.1, η = 0.001), written the way a researcher would in PyTorch:
vectorised over runs (x is a K × 2d tensor), one Python loop over steps, eager kernels.

It times a few hundred to a few thousand steps after a warm-up (torch.cuda.synchronize around
the timed region) and extrapolates the per-step time to the target of 10^5 steps; the cost of
logging the trace at 100 log-spaced iterations (100 reductions kept on the GPU, one copy to the
host at the end) is measured separately and added. Sized to finish in about a minute.

usage: sweep_torch.py [--out result.json] [--runs 4096] [--steps 100000] [--seconds 20]
Prints one JSON object (also written to --out).
"""
import sys
import time

from sweep_peer_common import emitter, log_points, parser


def main() -> int:
    ap = parser(__doc__.split("\n")[0], seconds=20.0)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    result = {"impl": "pytorch", "runs": args.runs, "d": args.d, "target_steps": args.steps,
              "log_points": args.log_points}

    emit = emitter(args, result)

    try:
        import torch
    except ImportError as e:
        result["error"] = f"PyTorch is not installed: {e}"
        return emit(3)
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        result["error"] = "torch.cuda.is_available() is False"
        return emit(3)
    result["torch"] = torch.__version__
    result["device"] = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    K, d, lam, eta = args.runs, args.d, args.lam, args.eta
    gen = torch.Generator(device=dev)
    gen.manual_seed(0)
    x = torch.randn(K, 2 * d, device=dev, generator=gen)  # y, z ~ N(0, I) per run

    def loss(p):
        y, z = p[:, :d], p[:, d:]
        return 0.5 * ((y * z).sum(dim=1) - 1.0) ** 2

    def step(x):
        u = torch.randn(K, 2 * d, device=dev, generator=gen)
        g = (loss(x + lam * u) - loss(x - lam * u)) / (2.0 * lam)
        x.sub_(eta * g[:, None] * u)

    with torch.no_grad():
        for _ in range(20):  # warm-up: allocator, kernels
            step(x)
        sync()
        # Size the timed region to --seconds from a short probe.
        t0 = time.perf_counter()
        for _ in range(50):
            step(x)
        sync()
        probe = (time.perf_counter() - t0) / 50
        n = int(min(args.steps, max(100, args.seconds / max(probe, 1e-9))))
        t0 = time.perf_counter()
        for _ in range(n):
            step(x)
        sync()
        elapsed = time.perf_counter() - t0

        # Logging: the trace ‖y‖² + ‖z‖² of every run at each logged iteration, kept on the GPU
        # and copied to the host once.
        its = log_points(args.steps, args.log_points)
        t0 = time.perf_counter()
        traces = [(x * x).sum(dim=1) for _ in its]
        host = torch.stack(traces).cpu()
        sync()
        log_seconds = time.perf_counter() - t0
        finite = bool(torch.isfinite(host).all())

    per_step = elapsed / n
    result.update({
        "steps_timed": n,
        "seconds_timed": elapsed,
        "seconds_per_step": per_step,
        "config_steps_per_s": K / per_step,
        "log_seconds": log_seconds,
        "logged_iterations": len(its),
        "extrapolated_seconds": per_step * args.steps + log_seconds,
        "finite": finite,
        "note": f"timed {n} steps after warm-up, extrapolated to {args.steps}",
    })
    return emit(0)


if __name__ == "__main__":
    sys.exit(main())

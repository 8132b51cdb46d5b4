#!/usr/bin/env python3
"""Times a zeroth-order step in PyTorch on the GPU, written the two usual ways:

* ``mezo``: the MeZO reference code (Malladi et al. 2023, ``zo_perturb_parameters`` /
  ``zo_update``): ``torch.manual_seed(seed)``, then per tensor ``torch.normal`` and out-of-place
  arithmetic (``p.data = p.data + scale * z * eps``), the noise regenerated for +eps, -2eps,
  +eps and for the update (``p.data = p.data - lr * (g * z)``).
* ``inplace``: the best in-place version: one ``torch.Generator``, ``normal_`` into one scratch
  buffer of the largest tensor's size, ``add_(z, alpha=...)``; three passes per step, the
  restore fused with the update (alpha = eps - lr * g).

The objective is excluded (as in bench_stepper): g is a constant and nothing is synchronised
inside the step. The d coordinates are split into tensors of at most 2^24 elements, as a model
would be. Timed with CUDA events; writes JSON and CSV (one record per implementation, dtype, d).

    python3 bench/torch_step_bench.py --out results/torch_step   # writes .json and .csv

    python3 bench/torch_step_bench.py --device cpu --threads 1 --min-log2 22 --max-log2 22

Exits 0 and writes a record with "skipped" when PyTorch or a CUDA device is unavailable.
``--device cpu`` times the same steps on the host with the wall clock (--threads intra-op
threads), the peer of bench_stepper's CPU rows.
"""
import argparse
import csv
import json
import sys
import time

LAMBDA = 1e-3  # zo_eps, as in bench/stepper_grids.hpp
ETA = 1e-6  # learning rate
PROJECTED_GRAD = (1.0 - 0.5) / (2 * LAMBDA)  # the value bench_stepper's fake f values give
MAX_TENSOR = 1 << 24


def split_sizes(d):
    sizes = []
    while d > 0:
        sizes.append(min(d, MAX_TENSOR))
        d -= sizes[-1]
    return sizes


def mezo_perturb(torch, params, seed, scaling_factor):
    # MeZO's zo_perturb_parameters, verbatim apart from names.
    torch.manual_seed(seed)
    for param in params:
        z = torch.normal(mean=0, std=1, size=param.data.size(), device=param.data.device,
                         dtype=param.data.dtype)
        param.data = param.data + scaling_factor * z * LAMBDA


def mezo_update(torch, params, seed, projected_grad):
    # MeZO's zo_update for parameters without weight decay.
    torch.manual_seed(seed)
    for param in params:
        z = torch.normal(mean=0, std=1, size=param.data.size(), device=param.data.device,
                         dtype=param.data.dtype)
        param.data = param.data - ETA * (projected_grad * z)


def mezo_step(torch, params, seed, _state):
    mezo_perturb(torch, params, seed, 1)   # f(x + eps z) would be evaluated here
    mezo_perturb(torch, params, seed, -2)  # f(x - eps z) here
    mezo_perturb(torch, params, seed, 1)
    mezo_update(torch, params, seed, PROJECTED_GRAD)


def inplace_pass(params, gen, scratch, seed, alpha):
    gen.manual_seed(seed)
    for p in params:
        z = scratch[: p.numel()].view_as(p)
        z.normal_(generator=gen)
        p.add_(z, alpha=alpha)


def inplace_step(_torch, params, seed, state):
    gen, scratch = state
    inplace_pass(params, gen, scratch, seed, LAMBDA)
    inplace_pass(params, gen, scratch, seed, -2 * LAMBDA)
    inplace_pass(params, gen, scratch, seed, LAMBDA - ETA * PROJECTED_GRAD)


def time_steps(torch, step, params, state, iters, device="cuda"):
    for s in range(2):  # warm-up: allocator, kernels, generator state
        step(torch, params, 1000 + s, state)
    if device == "cpu":  # wall clock: every CPU op is synchronous
        t0 = time.perf_counter()
        for s in range(iters):
            step(torch, params, 2000 + s, state)
        return (time.perf_counter() - t0) * 1e3 / iters
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    start.record()
    for s in range(iters):
        step(torch, params, 2000 + s, state)
    stop.record()
    stop.synchronize()
    return start.elapsed_time(stop) / iters


def iterations_for(d):
    # About 2^31 coordinate-steps per measurement, between 3 and 50 steps.
    return max(3, min(50, (1 << 31) // d))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="torch_step", help="output path without extension")
    ap.add_argument("--min-log2", type=int, default=10)
    ap.add_argument("--max-log2", type=int, default=30)
    ap.add_argument("--step-log2", type=int, default=2)
    ap.add_argument("--dtypes", default="f32,bf16")
    ap.add_argument("--impls", default="mezo,inplace")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                    help="cpu: time on the host (wall clock), with --threads intra-op threads")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (cpu; 0: default)")
    ap.add_argument("--iters", type=int, default=0, help="steps per measurement (0: by size)")
    args = ap.parse_args()
    if args.out.endswith(".json"):  # scripts/gpu-check.sh passes --out <dir>/<name>.json
        args.out = args.out[: -len(".json")]

    records = []
    meta = {"lambda": LAMBDA, "eta": ETA, "max_tensor": MAX_TENSOR,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        import torch  # noqa: PLC0415 (optional dependency, absent on build machines)
    except ImportError as e:
        meta["skipped"] = "PyTorch is not installed: %s" % e
        torch = None
    dev = args.device
    if torch is not None and dev == "cuda" and not torch.cuda.is_available():
        meta["skipped"] = "no CUDA device visible to PyTorch"
    if "skipped" not in meta:
        meta["torch"] = torch.__version__
        if dev == "cpu":
            if args.threads > 0:
                torch.set_num_threads(args.threads)
            meta["device"] = "cpu, %d thread(s)" % torch.get_num_threads()
        else:
            meta["device"] = torch.cuda.get_device_name()
        dtypes = {"f32": torch.float32, "bf16": torch.bfloat16}
        impls = {"mezo": mezo_step, "inplace": inplace_step}
        free = torch.cuda.mem_get_info()[0] if dev == "cuda" else float("inf")
        for name in args.dtypes.split(","):
            dtype = dtypes[name]
            elem = torch.tensor([], dtype=dtype).element_size()
            for log2 in range(args.min_log2, args.max_log2 + 1, args.step_log2):
                d = 1 << log2
                sizes = split_sizes(d)
                # Parameters + MeZO's out-of-place temporaries (a few tensors of MAX_TENSOR).
                need = d * elem + 8 * min(d, MAX_TENSOR) * elem + (1 << 30)
                if need > free:
                    print("skip %s d=2^%d: needs %.1f GiB" % (name, log2, need / 2**30),
                          file=sys.stderr)
                    continue
                params = [torch.full((n,), 0.0115, dtype=dtype, device=dev) for n in sizes]
                for impl in args.impls.split(","):
                    state = None
                    if impl == "inplace":
                        gen = torch.Generator(device=dev)
                        scratch = torch.empty(max(sizes), dtype=dtype, device=dev)
                        state = (gen, scratch)
                    iters = args.iters or iterations_for(d)
                    ms = time_steps(torch, impls[impl], params, state, iters, dev)
                    rec = {"impl": "torch_" + impl, "dtype": name, "d": d, "ms": ms,
                           "iters": iters, "tensors": len(sizes),
                           # The minimal in-place traffic of an unfused 3-pass step (6 B·d
                           # for the parameters alone), for an "effective" bandwidth.
                           "effective_GBps": 6.0 * d * elem / (ms * 1e-3) / 1e9}
                    records.append(rec)
                    print("%-14s %-4s d=2^%-2d %10.4f ms/step" % (rec["impl"], name, log2, ms),
                          file=sys.stderr)
                    del state
                del params
                if dev == "cuda":
                    torch.cuda.empty_cache()

    with open(args.out + ".json", "w") as f:
        json.dump({"meta": meta, "records": records}, f, indent=1)
    with open(args.out + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["impl", "dtype", "d", "ms", "iters", "tensors",
                                          "effective_GBps"])
        w.writeheader()
        for r in records:
            w.writerow(r)
    if "skipped" in meta:
        print("torch_step_bench: skipped: " + meta["skipped"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""JAX peer of `zo sweep`: Example 2.1 (d = 100), K runs of ZO-SGD with the two-point Gaussian
estimator (λ = 0.1, η = 0.001), written the way a researcher would in JAX: one run is a
`lax.scan` over steps (direction u_t = normal(fold_in(key_run, t))), and the sweep is
`jit(vmap(...))` of it over runs.

The scan runs `--chunk` steps per call (compiled once); the script compiles and warms up, times
whole chunks until about `--seconds` seconds have passed (block_until_ready after each), and
extrapolates the per-step time to the target of 10^5 steps. The cost of logging the trace at 100
log-spaced iterations (a jitted vmapped reduction per logged point, copied to the host at the end)
is measured separately and added. Sized to finish in about a minute, compilation included.

usage: sweep_jax.py [--out result.json] [--runs 4096] [--steps 100000] [--seconds 20]
Prints one JSON object (also written to --out).
"""
import sys
import time

from sweep_peer_common import emitter, log_points, parser


def main() -> int:
    ap = parser(__doc__.split("\n")[0], seconds=20.0)
    ap.add_argument("--chunk", type=int, default=500, help="steps per jitted scan call")
    args = ap.parse_args()
    result = {"impl": "jax", "runs": args.runs, "d": args.d, "target_steps": args.steps,
              "log_points": args.log_points}

    emit = emitter(args, result)

    try:
        import jax
        import jax.numpy as jnp
        from jax import lax
    except ImportError as e:
        result["error"] = f"JAX is not installed: {e}"
        return emit(3)
    result["jax"] = jax.__version__
    result["device"] = str(jax.devices()[0])
    if jax.devices()[0].platform != "gpu":
        result["warning"] = "JAX is not using a GPU"

    K, d, lam, eta, chunk = args.runs, args.d, args.lam, args.eta, args.chunk

    def loss(p):
        return 0.5 * (jnp.dot(p[:d], p[d:]) - 1.0) ** 2

    def run_chunk(x, key, t0):
        """`chunk` steps of one run from step t0."""
        def body(x, t):
            u = jax.random.normal(jax.random.fold_in(key, t), x.shape, dtype=x.dtype)
            g = (loss(x + lam * u) - loss(x - lam * u)) / (2.0 * lam)
            return x - eta * g * u, None
        x, _ = lax.scan(body, x, t0 + jnp.arange(chunk, dtype=jnp.uint32))
        return x

    sweep_chunk = jax.jit(jax.vmap(run_chunk, in_axes=(0, 0, None)))
    trace = jax.jit(jax.vmap(lambda x: jnp.sum(x * x)))

    root = jax.random.PRNGKey(0)
    keys = jax.random.split(root, K)
    x = jax.random.normal(jax.random.fold_in(root, 2**31), (K, 2 * d), dtype=jnp.float32)

    t0 = time.perf_counter()
    x = sweep_chunk(x, keys, jnp.uint32(0))  # compile + first chunk
    x.block_until_ready()
    trace(x).block_until_ready()
    result["compile_and_first_chunk_seconds"] = time.perf_counter() - t0

    # Timed: whole chunks until --seconds have passed (one sync per chunk of `chunk` steps).
    chunks = 0
    t0 = time.perf_counter()
    while True:
        x = sweep_chunk(x, keys, jnp.uint32((chunks + 1) * chunk))
        x.block_until_ready()
        chunks += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= args.seconds or (chunks + 1) * chunk >= args.steps:
            break

    its = log_points(args.steps, args.log_points)
    t0 = time.perf_counter()
    logged = [trace(x) for _ in its]
    host = jax.device_get(jnp.stack(logged))
    log_seconds = time.perf_counter() - t0

    n = chunks * chunk
    per_step = elapsed / n
    result.update({
        "steps_timed": n,
        "seconds_timed": elapsed,
        "seconds_per_step": per_step,
        "config_steps_per_s": K / per_step,
        "log_seconds": log_seconds,
        "logged_iterations": len(its),
        "extrapolated_seconds": per_step * args.steps + log_seconds,
        "finite": bool(jnp.isfinite(host).all()),
        "note": f"timed {n} steps ({chunks} scans of {chunk}) after compile, extrapolated to "
                f"{args.steps}",
    })
    return emit(0)


if __name__ == "__main__":
    sys.exit(main())

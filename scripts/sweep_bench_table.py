#!/usr/bin/env python3
"""Collects bench_sweep's Google Benchmark JSON and the peer scripts' JSON into one markdown
report: config-steps per second over K for every path, the persistent kernel's fraction of the
direction-generation ceiling, and the performance target (Example 2.1, d = 100, K = 4096 × 10^5
steps, trace at 100 log-spaced points) with the ratios against JAX, PyTorch and numpy.

    bench_sweep --benchmark_out=bench_sweep.json --benchmark_out_format=json
    python3 bench/sweep_torch.py --out sweep_torch.json
    python3 bench/sweep_jax.py --out sweep_jax.json
    python3 bench/sweep_numpy_peer.py --out sweep_numpy_peer.json
    python3 scripts/sweep_bench_table.py bench_sweep.json --peers sweep_torch.json \
        sweep_jax.json sweep_numpy_peer.json [--machine "H200 + 16 cores"] [--out report.md]

Missing inputs are reported as such (e.g. a CPU-only run has no GPU rows).
"""
import argparse
import json
import sys
from collections import defaultdict


def load_gbench(path):
    with open(path) as f:
        data = json.load(f)
    rows = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate":
            continue
        name = b["name"]
        parts = name.split("/")
        fields = {}
        for p in parts[1:]:
            if ":" in p and not p.startswith(("iterations", "manual_time", "real_time")):
                k, v = p.split(":", 1)
                fields[k] = v
        rows.append({"kind": parts[0], "fields": fields, "b": b})
    return data.get("context", {}), rows


def load_peers(paths):
    peers = []
    for p in paths:
        try:
            with open(p) as f:
                data = json.loads(f.read())
        except (OSError, ValueError) as e:
            peers.append({"impl": p, "error": f"unreadable: {e}"})
            continue
        peers.extend(data if isinstance(data, list) else [data])
    return peers


def rate(v):
    if v is None:
        return "–"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g}"


def seconds(v):
    if v is None:
        return "–"
    if v >= 3600:
        return f"{v / 3600:.3g} h"
    if v >= 60:
        return f"{v / 60:.3g} min"
    return f"{v:.3g} s"


def main() -> int:
    ap = argparse.ArgumentParser(description="Markdown report of the sweep benchmarks.")
    ap.add_argument("bench", nargs="?", default=None, help="bench_sweep JSON")
    ap.add_argument("--peers", nargs="*", default=[], help="peer JSON files")
    ap.add_argument("--machine", default="")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    lines = ["# Sweep benchmark: Example 2.1, d = 100, ZO (λ = 0.1, η = 0.001, q = 1)", ""]
    context, rows = ({}, [])
    if args.bench:
        try:
            context, rows = load_gbench(args.bench)
        except (OSError, ValueError) as e:
            lines.append(f"bench_sweep JSON unreadable: {e}")
    if args.machine:
        lines.append(f"- machine: {args.machine}")
    if context:
        lines.append(f"- host: {context.get('host_name', '?')}, {context.get('num_cpus', '?')} CPUs, "
                     f"run {context.get('date', '?')}")
    lines.append("- unit: config-steps per second (runs × steps / time); GPU times are CUDA events "
                 "(fused) or wall clock around synchronous calls (RunBatch, separate runs).")
    lines.append("")

    table = defaultdict(dict)  # K -> column -> value
    errors = []
    groups = defaultdict(dict)  # K -> group -> (rate, of_ceiling)
    shared = {}  # K -> fused CPU rate with K / 8 seeds × 8 λ
    target = None
    for r in rows:
        b, f = r["b"], r["fields"]
        if b.get("error_occurred"):
            errors.append(f"{b['name']}: {b.get('error_message', 'error')}")
            continue
        gpu = f.get("gpu") == "1"
        K = int(f["K"]) if "K" in f else None
        cs = b.get("config_steps_per_s")
        if r["kind"] == "BM_Fused":
            if f.get("lambdas", "1") != "1":
                shared[K] = cs
                continue
            if gpu and f.get("group", "0") != "0":
                groups[K][int(f["group"])] = (cs, b.get("of_ceiling"))
                continue
            side = "gpu" if gpu else "cpu"
            table[K][f"fused_{side}"] = cs
            table[K][f"ceiling_{side}"] = b.get("ceiling_config_steps_per_s")
            table[K][f"of_ceiling_{side}"] = b.get("of_ceiling")
            table[K][f"group_{side}"] = b.get("group")
        elif r["kind"] == "BM_Batched":
            table[K]["runbatch_gpu" if gpu else "runbatch_cpu"] = cs
        elif r["kind"] == "BM_Separate":
            table[K]["separate_gpu" if gpu else "separate_cpu"] = cs
        elif r["kind"] == "BM_Target":
            target = b

    if table:
        lines += ["## Throughput over K", "",
                  "| K | fused GPU | of ceiling | RunBatch GPU | separate GPU | fused CPU | "
                  "of ceiling | RunBatch CPU | separate CPU |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for K in sorted(table):
            t = table[K]
            frac = lambda k: "–" if t.get(k) is None else f"{100 * t[k]:.0f}%"
            lines.append(f"| {K} | {rate(t.get('fused_gpu'))} | {frac('of_ceiling_gpu')} | "
                         f"{rate(t.get('runbatch_gpu'))} | {rate(t.get('separate_gpu'))} | "
                         f"{rate(t.get('fused_cpu'))} | {frac('of_ceiling_cpu')} | "
                         f"{rate(t.get('runbatch_cpu'))} | {rate(t.get('separate_cpu'))} |")
        lines += ["", "'of ceiling': the fused rate divided by the rate of the direction generator "
                  "alone (zo::generate_directions) on the same K × steps, in the same run.", ""]
        fused = [(K, t["fused_gpu"], t.get("runbatch_gpu"), t.get("separate_gpu"))
                 for K, t in sorted(table.items()) if t.get("fused_gpu")]
        if fused:
            lines += ["Speed-up of the persistent kernel:", ""]
            for K, fz, rb, sp in fused:
                parts = []
                if rb:
                    parts.append(f"{fz / rb:.3g}× RunBatch")
                if sp:
                    parts.append(f"{fz / sp:.3g}× separate runs")
                if parts:
                    lines.append(f"- K = {K}: " + ", ".join(parts))
            lines.append("")
    if shared:
        lines += ["## Figure 1's sweep shape: K / 8 seeds × 8 λ (fused CPU)", "",
                  "| K | config-steps/s | of the K-seed rate |", "|---:|---:|---:|"]
        for K in sorted(shared):
            own = table.get(K, {}).get("fused_cpu")
            lines.append(f"| {K} | {rate(shared[K])} | "
                         f"{'–' if not own else f'{shared[K] / own:.2f}×'} |")
        lines += ["", "The configurations of one seed share its directions: the CPU loop "
                  "generates each once per group of 8 runs.", ""]
    if groups:
        lines += ["## GPU threads per run (persistent kernel)", "",
                  "| K | group | config-steps/s | of ceiling |", "|---:|---:|---:|---:|"]
        for K in sorted(groups):
            for g in sorted(groups[K]):
                cs, frac = groups[K][g]
                lines.append(f"| {K} | {g} | {rate(cs)} | "
                             f"{'–' if frac is None else f'{100 * frac:.0f}%'} |")
        lines.append("")

    peers = load_peers(args.peers)
    lines += ["## Target: K = 4096 runs × 10^5 steps, trace at 100 log-spaced points", ""]
    zo_seconds = None
    if target:
        zo_seconds = target.get("wall_seconds")
        lines.append(f"- zo persistent kernel (measured, all 10^5 steps, logs copied to the host): "
                     f"**{seconds(zo_seconds)}** (kernel {seconds(target.get('kernel_seconds'))}, "
                     f"{rate(target.get('config_steps_per_s'))} config-steps/s)")
    else:
        lines.append("- zo persistent kernel: not measured (no GPU in this run)")
    lines += ["", "| implementation | device | time for the target | config-steps/s | zo is faster by | how measured |",
              "|---|---|---:|---:|---:|---|"]
    verdicts = []
    for p in peers:
        impl = p.get("impl", "?")
        if "error" in p:
            lines.append(f"| {impl} | – | – | – | – | not run: {p['error']} |")
            continue
        ext = p.get("extrapolated_seconds")
        ratio = ext / zo_seconds if (ext and zo_seconds) else None
        lines.append(f"| {impl} | {p.get('device', '?')} | {seconds(ext)} | "
                     f"{rate(p.get('config_steps_per_s'))} | "
                     f"{'–' if ratio is None else f'{ratio:.3g}×'} | {p.get('note', '')} |")
        if ratio is not None and impl in ("jax", "pytorch"):
            need = 10 if impl == "jax" else 100
            verdicts.append(f"- vs {impl}: {ratio:.3g}× (target ≥ {need}×): "
                            f"{'**met**' if ratio >= need else '**not met**'}")
    lines += [""] + verdicts
    if errors:
        lines += ["", "## Skipped or failed benchmarks", ""] + [f"- {e}" for e in errors]
    text = "\n".join(lines) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Turns bench_stepper's Google Benchmark JSON (and optionally bench/torch_step_bench.py's JSON)
into a markdown report with the performance targets checked, and a PNG plot (GB/s vs d, and step
time vs d for every implementation).

    bench_stepper --benchmark_out=stepper.json --benchmark_out_format=json
    python3 bench/torch_step_bench.py --out torch_step
    python3 scripts/bench_table.py stepper.json --torch torch_step.json --out stepper_report

writes stepper_report.md and stepper_report.png (the plot needs matplotlib; skipped without it).
"""
import argparse
import json
import math
import subprocess
import sys
from collections import defaultdict

PASSES = ["perturb", "flip", "update", "update_merged"]
DTYPES = ["f32", "bf16"]
TARGET_FRAC = 0.85
TARGET_FRAC_FROM = 1 << 26
TARGET_D = 1 << 28


def parse_gbench(path):
    """Returns (context, list of records) with the name split into fields."""
    with open(path) as f:
        data = json.load(f)
    out = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("aggregate_name"):
            continue
        parts = [p for p in b["name"].split("/")
                 if not p.startswith(("min_time:", "manual_time", "real_time", "iterations:"))]
        rec = {"kind": parts[0], "fields": parts[1:-1], "name": b["name"]}
        last = parts[-1]
        rec["d"] = int(last.split(":")[1]) if last.startswith("d:") else None
        if b.get("error_occurred"):
            rec["error"] = b.get("error_message", "error")
        for key in ("GBps", "copy_GBps", "frac_copy", "ms", "bytes"):
            if key in b:
                rec[key] = float(b[key])
        out.append(rec)
    return data.get("context", {}), out


def pow2(d):
    return "2^%d" % int(round(math.log2(d))) if d and d & (d - 1) == 0 else str(d)


def fmt_pass(r):
    if r is None:
        return "-"
    if "error" in r:
        return "error"
    frac = r.get("frac_copy")
    return "%.4g (%.0f%%)" % (r["GBps"], 100 * frac) if frac is not None else "%.4g" % r["GBps"]


def fmt_ms(v):
    if v is None:
        return "-"
    return "%.3g" % v


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gbench", help="bench_stepper JSON (--benchmark_out_format=json)")
    ap.add_argument("--torch", help="torch_step_bench.py JSON")
    ap.add_argument("--out", default="stepper_report", help="output path without extension")
    ap.add_argument("--commit", help="commit of the measured tree (default: git rev-parse HEAD)")
    args = ap.parse_args()

    context, recs = parse_gbench(args.gbench)
    torch_meta, torch_recs = {}, []
    if args.torch:
        with open(args.torch) as f:
            t = json.load(f)
        torch_meta, torch_recs = t.get("meta", {}), t.get("records", [])
    commit = args.commit
    if commit is None:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                    text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            commit = "unknown"

    # Index: passes[(dtype, mode, pass)][d], steps[(backend, dtype, mode, merge, q)][d], ...
    passes = defaultdict(dict)
    steps = defaultdict(dict)
    baseline = {}
    copies = defaultdict(dict)
    for r in recs:
        f = r["fields"]
        if r["kind"] == "stepper_pass" and len(f) == 4:
            passes[(f[1], f[2], f[3])][r["d"]] = r
        elif r["kind"] == "stepper_step" and len(f) == 5:
            steps[(f[0], f[1], f[2], f[3], f[4])][r["d"]] = r
        elif r["kind"] == "baseline_curand_cublas":
            baseline[r["d"]] = r
        elif r["kind"] == "copy_d2d":
            copies[f[0]][r["d"]] = r
    torch_ms = defaultdict(dict)
    for r in torch_recs:
        torch_ms[(r["impl"], r["dtype"])][r["d"]] = r["ms"]

    md = ["# In-place Stepper benchmarks", ""]
    md.append("Device: %s. Host: %s, %s CPUs. Commit %s, run %s. PyTorch: %s." % (
        context.get("zo_device", "?"), context.get("host_name", "?"),
        context.get("num_cpus", "?"), commit, context.get("date", "?"),
        torch_meta.get("torch", torch_meta.get("skipped", "not run"))))
    md.append("")
    md.append("GB/s count the bytes each pass must read and write (docs/stepper.md); the "
              "percentage is the fraction of the device-to-device copy bandwidth of the same "
              "byte count measured in the same run (read + write counted).")
    md.append("")

    # 1. Fused passes, arithmetic mode.
    ds = sorted({d for key, v in passes.items() if key[1] == "arithmetic" for d in v})
    if ds:
        md += ["## Fused passes (CUDA, arithmetic restore), GB/s (% of copy)", ""]
        header = ["d"] + ["%s %s" % (dt, p) for dt in DTYPES for p in PASSES] + \
                 ["copy f32 GB/s", "copy bf16 GB/s"]
        rows = []
        for d in ds:
            row = [pow2(d)]
            for dt in DTYPES:
                for p in PASSES:
                    row.append(fmt_pass(passes.get((dt, "arithmetic", p), {}).get(d)))
            for dt in DTYPES:
                c = copies.get(dt, {}).get(d)
                row.append("%.0f" % c["GBps"] if c and "GBps" in c else "-")
            rows.append(row)
        md += [table(header, rows), ""]

    # 2. Exact restore modes.
    exact = sorted({(key[0], key[1], d) for key, v in passes.items()
                    if key[1] in ("copy", "residual") for d in v})
    if exact:
        md += ["## Fused passes in the exact restore modes, GB/s (% of copy)", ""]
        rows = []
        for dt, mode, d in exact:
            rows.append([dt, mode, pow2(d)] +
                        [fmt_pass(passes.get((dt, mode, p), {}).get(d)) for p in PASSES])
        md += [table(["dtype", "mode", "d"] + PASSES, rows), ""]

    # 3. Full steps.
    step_ds = sorted({d for key, v in steps.items() if key[0] == "cuda" for d in v} |
                     set(baseline))
    variants = [("arithmetic", "merged"), ("arithmetic", "unmerged"), ("copy", "merged"),
                ("residual", "merged"), ("copy", "unmerged"), ("residual", "unmerged")]
    if step_ds:
        md += ["## Full ZO step (q = 1, objective excluded), ms per step", ""]
        for dt in DTYPES:
            header = ["d"] + ["zo %s %s" % v for v in variants] + \
                     (["cuRAND+cuBLAS"] if dt == "f32" else []) + \
                     ["torch in-place", "torch MeZO", "zo merged GB/s (% copy)"]
            rows = []
            for d in step_ds:
                row = [pow2(d)]
                for mode, merge in variants:
                    r = steps.get(("cuda", dt, mode, merge, "q1"), {}).get(d)
                    row.append(fmt_ms(r.get("ms")) if r and "error" not in r else "-")
                if dt == "f32":
                    b = baseline.get(d)
                    row.append(fmt_ms(b.get("ms")) if b and "error" not in b else "-")
                row.append(fmt_ms(torch_ms.get(("torch_inplace", dt), {}).get(d)))
                row.append(fmt_ms(torch_ms.get(("torch_mezo", dt), {}).get(d)))
                row.append(fmt_pass(steps.get(("cuda", dt, "arithmetic", "merged", "q1"),
                                              {}).get(d)))
                rows.append(row)
            md += ["### %s" % dt, "", table(header, rows), ""]
        qkeys = sorted(k for k in steps if k[0] == "cuda" and k[4] != "q1")
        if qkeys:
            rows = []
            for k in qkeys:
                for d, r in sorted(steps[k].items()):
                    rows.append([k[1], k[2], k[3], k[4], pow2(d), fmt_ms(r.get("ms")),
                                 fmt_pass(r)])
            md += ["### q > 1 (one update pass for all q directions)", "",
                   table(["dtype", "mode", "merge", "q", "d", "ms", "GB/s (% copy)"], rows), ""]

    # 4. Targets.
    md += ["## Targets", ""]
    rows = []
    for dt in DTYPES:
        for p in PASSES:
            v = [(d, r) for d, r in passes.get((dt, "arithmetic", p), {}).items()
                 if d >= TARGET_FRAC_FROM and "frac_copy" in r]
            if not v:
                continue
            d_min, r_min = min(v, key=lambda x: x[1]["frac_copy"])
            ok = r_min["frac_copy"] >= TARGET_FRAC
            rows.append(["%s %s pass >= 85%% of copy for d >= 2^26" % (dt, p),
                         "min %.0f%% (at %s)" % (100 * r_min["frac_copy"], pow2(d_min)),
                         "met" if ok else "MISSED"])
    for dt in DTYPES:
        zo_r = steps.get(("cuda", dt, "arithmetic", "merged", "q1"), {}).get(TARGET_D)
        if not zo_r or "ms" not in zo_r:
            continue
        zo_ms = zo_r["ms"]
        comps = []
        if dt == "f32" and TARGET_D in baseline and "ms" in baseline[TARGET_D]:
            comps.append(("cuRAND+cuBLAS", baseline[TARGET_D]["ms"], 2.0))
        for impl, label, goal in (("torch_mezo", "MeZO-style PyTorch", 5.0),
                                  ("torch_inplace", "in-place PyTorch", 2.0)):
            ms = torch_ms.get((impl, dt), {}).get(TARGET_D)
            if ms is not None:
                comps.append((label, ms, goal))
        for label, ms, goal in comps:
            ratio = ms / zo_ms
            rows.append(["%s step at 2^28: >= %gx faster than %s" % (dt, goal, label),
                         "%.2fx (%.3g ms vs %.3g ms)" % (ratio, zo_ms, ms),
                         "met" if ratio >= goal else "MISSED"])
    md += [table(["target", "measured", "status"], rows) if rows else "(no GPU results)", ""]
    md.append("The full ZO step is the merged arithmetic-restore step (two passes); the other "
              "variants are in the tables above.")
    md.append("")

    # 5. CPU backend.
    cpu_keys = sorted(k for k in steps if k[0] == "cpu")
    if cpu_keys:
        rows = []
        for k in cpu_keys:
            for d, r in sorted(steps[k].items()):
                rows.append([k[1], k[2], k[3], pow2(d), fmt_ms(r.get("ms")), fmt_pass(r)])
        md += ["## CPU backend, full steps (q = 1)", "",
               "Percentages are of a parallel host memcpy of the same bytes.", "",
               table(["dtype", "mode", "merge", "d", "ms", "GB/s (% of memcpy)"], rows), ""]

    errors = [r for r in recs if "error" in r]
    if errors:
        md += ["## Benchmarks that did not run", ""]
        md += ["- %s: %s" % (r["name"], r["error"]) for r in errors]
        md.append("")

    with open(args.out + ".md", "w") as f:
        f.write("\n".join(md))
    print("wrote " + args.out + ".md")

    try:
        import matplotlib  # noqa: PLC0415
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        print("matplotlib not available: no plot", file=sys.stderr)
        return 0
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5))
    colors = {"perturb": "C0", "flip": "C1", "update": "C2", "update_merged": "C3"}
    for dt, style in (("f32", "-"), ("bf16", "--")):
        for p in PASSES:
            pts = sorted((d, r["GBps"]) for d, r in passes.get((dt, "arithmetic", p), {}).items()
                         if "GBps" in r)
            if pts:
                ax1.plot([x for x, _ in pts], [y for _, y in pts], style, marker="o", ms=3,
                         color=colors[p], label="%s %s" % (dt, p))
        cp = sorted((d, r["GBps"]) for d, r in copies.get(dt, {}).items() if "GBps" in r)
        if cp:
            ax1.plot([x for x, _ in cp], [y for _, y in cp], style, color="k",
                     label="D2D copy (%s bytes)" % dt)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("d (coordinates)")
    ax1.set_ylabel("GB/s (read + write)")
    ax1.set_title("Fused in-place passes vs copy bandwidth")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=7, ncol=2)
    series = []
    for dt, style in (("f32", "-"), ("bf16", "--")):
        for mode, merge in (("arithmetic", "merged"), ("arithmetic", "unmerged"),
                            ("copy", "merged"), ("residual", "merged")):
            r = steps.get(("cuda", dt, mode, merge, "q1"), {})
            series.append(("zo %s %s %s" % (dt, mode, merge), style,
                           sorted((d, x["ms"]) for d, x in r.items() if "ms" in x)))
        for impl in ("torch_inplace", "torch_mezo"):
            series.append(("%s %s" % (impl, dt), style, sorted(torch_ms.get((impl, dt),
                                                                            {}).items())))
    series.append(("cuRAND+cuBLAS f32", "-",
                   sorted((d, r["ms"]) for d, r in baseline.items() if "ms" in r)))
    palette = plt.get_cmap("tab20").colors
    for k, (label, style, pts) in enumerate(series):
        if pts:
            ax2.plot([x for x, _ in pts], [y for _, y in pts], style, marker=".", label=label,
                     color=palette[k % len(palette)])
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("d (coordinates)")
    ax2.set_ylabel("ms per step (objective excluded)")
    ax2.set_title("Full ZO step")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=6, ncol=2)
    fig.suptitle("zo Stepper on %s" % context.get("zo_device", "?"), fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=120)
    print("wrote " + args.out + ".png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

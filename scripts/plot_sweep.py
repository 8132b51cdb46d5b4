#!/usr/bin/env python3
"""Draws the paper-style figure of a `zo sweep` table: loss and Hessian trace against iteration,
one line per configuration (GD, ZO λ→0, ZO for each λ) with a band over seeds, plus the final
trace against λ when the sweep has several λ.

usage: plot_sweep.py <sweep.csv> <out.png> [--summary <sweep_summary.csv>] [--band se|quantile]

Bands: `se` = mean ± standard error over the non-diverged seeds; `quantile` = 10%–90% with the
median as the line. Diverged rows are left out of the statistics (and counted in the legend).
Only the standard library and matplotlib are needed (numpy is used when present).
"""
import argparse
import csv
import math
import sys
from collections import OrderedDict, defaultdict


def mean_se(values):
    n = len(values)
    if n == 0:
        return math.nan, math.nan
    m = sum(values) / n
    if n < 2:
        return m, 0.0
    var = sum((v - m) ** 2 for v in values) / (n - 1)
    return m, math.sqrt(var / n)


def quantile(sorted_values, p):
    if not sorted_values:
        return math.nan
    pos = p * (len(sorted_values) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def label_of(method, lam, eta, q, multi_eta, multi_q):
    if method == "zo":
        text = f"ZO (λ = {lam:g})"
    elif method == "zo0":
        text = "ZO (λ → 0)"
    else:
        text = "GD"
    extra = []
    if multi_eta:
        extra.append(f"η = {eta:g}")
    if multi_q:
        extra.append(f"q = {q}")
    return text + (" " + ", ".join(extra) if extra else "")


def main() -> int:
    ap = argparse.ArgumentParser(description="Banded figure of a zo sweep table.")
    ap.add_argument("table")
    ap.add_argument("png")
    ap.add_argument("--summary", default=None)
    ap.add_argument("--band", choices=["se", "quantile"], default="se")
    args = ap.parse_args()
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_sweep.py: matplotlib is not installed (python3 -m pip install matplotlib)",
              file=sys.stderr)
        return 3

    # config -> iteration -> (losses, traces); config -> description
    data = OrderedDict()
    info = {}
    diverged_runs = defaultdict(set)
    with open(args.table, newline="") as f:
        for row in csv.DictReader(f):
            c = int(row["config"])
            if c not in info:
                info[c] = (row["method"], float(row["lambda"]), float(row["eta"]), int(row["q"]))
                data[c] = defaultdict(lambda: ([], [], []))
            if row["status"] == "diverged":
                diverged_runs[c].add(int(row["run"]))
                continue
            loss, trace = float(row["loss"]), float(row["trace"])
            if not math.isfinite(loss):
                continue
            cell = data[c][int(row["iteration"])]
            cell[0].append(loss)
            cell[1].append(trace)
            if "test_accuracy" in row:
                cell[2].append(float(row["test_accuracy"]))
    if not data:
        print("plot_sweep.py: the table has no rows", file=sys.stderr)
        return 2

    # Show η (or q) in a label only when that method was run with several values.
    etas_of = defaultdict(set)
    qs_of = defaultdict(set)
    for method, _, eta, q in info.values():
        etas_of[method].add(eta)
        qs_of[method].add(q)
    zo_lambdas = sorted({v[1] for v in info.values() if v[0] == "zo"}, reverse=True)
    cmap = plt.get_cmap("viridis")

    def color_of(c):
        method, lam = info[c][0], info[c][1]
        if method == "gd":
            return "black"
        if method == "zo0":
            return "tab:red"
        i = zo_lambdas.index(lam)
        return cmap(0.1 + 0.8 * i / max(1, len(zo_lambdas) - 1))

    with_lambda_panel = len(zo_lambdas) >= 3
    with_accuracy = any(cell[2] for series in data.values() for cell in series.values())
    ncols = 2 + int(with_accuracy) + int(with_lambda_panel)
    fig, axes = plt.subplots(1, ncols, figsize=(5.6 * ncols, 4.4))
    ax_loss, ax_trace = axes[0], axes[1]
    ax_acc = axes[2] if with_accuracy else None
    panels = [(ax_loss, 0), (ax_trace, 1)] + ([(ax_acc, 2)] if with_accuracy else [])
    for c, series in data.items():
        its = sorted(series)
        x = [i + 1 for i in its]  # iteration 0 cannot sit on a log axis
        centre = {0: [], 1: [], 2: []}
        lo = {0: [], 1: [], 2: []}
        hi = {0: [], 1: [], 2: []}
        n_seeds = 0
        for i in its:
            for k in (0, 1, 2):
                vals = series[i][k]
                n_seeds = max(n_seeds, len(vals))
                if args.band == "se":
                    m, se = mean_se(vals)
                    centre[k].append(m)
                    lo[k].append(m - se)
                    hi[k].append(m + se)
                else:
                    s = sorted(vals)
                    centre[k].append(quantile(s, 0.5))
                    lo[k].append(quantile(s, 0.1))
                    hi[k].append(quantile(s, 0.9))
        method, lam, eta, q = info[c]
        label = label_of(method, lam, eta, q, len(etas_of[method]) > 1, len(qs_of[method]) > 1)
        label += f"  [{n_seeds} seeds"
        label += f", {len(diverged_runs[c])} diverged]" if diverged_runs[c] else "]"
        color = color_of(c)
        for ax, k in panels:
            ax.plot(x, centre[k], color=color, lw=1.3, label=label)
            low = lo[k] if k == 1 else [max(v, 1e-300) for v in lo[k]]
            ax.fill_between(x, low, hi[k], color=color, alpha=0.22, lw=0)
    band_text = "mean ± SE over seeds" if args.band == "se" else "median, 10–90% over seeds"
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("iteration + 1")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title(f"Loss ({band_text})")
    ax_trace.set_xscale("log")
    ax_trace.set_xlabel("iteration + 1")
    ax_trace.set_ylabel("tr ∇²f")
    ax_trace.set_title(f"Trace of Hessian ({band_text})")
    if with_accuracy:
        ax_acc.set_xscale("log")
        ax_acc.set_xlabel("iteration + 1")
        ax_acc.set_ylabel("test accuracy")
        ax_acc.set_title(f"Test accuracy ({band_text})")
    for ax, _ in panels:
        ax.grid(True, which="major", alpha=0.3)
    ax_trace.legend(fontsize=7, loc="best")

    if with_lambda_panel:
        ax = axes[-1]
        final = {}
        if args.summary:
            with open(args.summary, newline="") as f:
                for row in csv.DictReader(f):
                    if row["method"] == "zo":
                        final[float(row["lambda"])] = (float(row["trace_mean"]), float(row["trace_se"]))
        else:
            for c, series in data.items():
                if info[c][0] == "zo":
                    final[info[c][1]] = mean_se(series[max(series)][1])
        lams = sorted(final)
        ax.errorbar(lams, [final[l][0] for l in lams],
                    yerr=[0.0 if math.isnan(final[l][1]) else final[l][1] for l in lams],
                    marker="o", color="tab:blue", capsize=3, label="ZO, final trace")
        for c in data:
            if info[c][0] in ("gd", "zo0"):
                series = data[c]
                m, _ = mean_se(series[max(series)][1])
                ax.axhline(m, color=color_of(c), ls="--", lw=1,
                           label=("GD" if info[c][0] == "gd" else "ZO (λ → 0)") + ", final trace")
        ax.set_xscale("log")
        ax.set_xlabel("λ")
        ax.set_ylabel("final tr ∇²f (mean ± SE)")
        ax.set_title("Final trace against λ")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Draws the Figure-1 style plot of `zo toy`: loss and Hessian trace against iteration.

usage: plot_toy.py <toy.csv> <out.png>
"""
import csv
import sys
from collections import OrderedDict


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_toy.py: matplotlib is not installed (python3 -m pip install matplotlib)",
              file=sys.stderr)
        return 3

    series = OrderedDict()
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            if row.get("status") == "diverged":  # frozen after diverging: not plotted
                continue
            method = row["method"]
            if method == "zo":
                label = f"ZO (λ = {float(row['lambda']):g})"
            elif method == "zo0":
                label = "ZO (λ → 0)"
            else:
                label = "GD"
            s = series.setdefault(label, {"it": [], "loss": [], "trace": []})
            s["it"].append(int(row["iteration"]))
            s["loss"].append(float(row["loss"]))
            s["trace"].append(float(row["trace"]))

    fig, (ax_loss, ax_trace) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, s in series.items():
        # Iteration 0 cannot sit on a log axis: plot it at 1/2... shift by one instead.
        its = [i + 1 for i in s["it"]]
        ax_loss.plot(its, s["loss"], label=label, lw=1.4)
        ax_trace.plot(its, s["trace"], label=label, lw=1.4)
    ax_loss.set_xscale("log")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("iteration + 1")
    ax_loss.set_ylabel("loss h(y, z)")
    ax_loss.set_title("Loss")
    ax_trace.set_xscale("log")
    ax_trace.set_xlabel("iteration + 1")
    ax_trace.set_ylabel("tr ∇²h = ‖y‖² + ‖z‖²")
    ax_trace.set_title("Trace of Hessian")
    for ax in (ax_loss, ax_trace):
        ax.grid(True, which="major", alpha=0.3)
    ax_trace.legend(fontsize=9)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())

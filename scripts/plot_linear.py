#!/usr/bin/env python3
"""Draws the Figure-2 style plot of `zo linear`: for each loss (rows), train loss, train Hessian
trace, test Hessian trace and test accuracy against iteration (columns), GD vs ZO.

usage: plot_linear.py <linear.csv> <out.png>
"""
import csv
import sys
from collections import OrderedDict

PANELS = [
    ("train_loss", "train loss", True),
    ("train_trace", "train tr ∇²f", False),
    ("test_trace", "test tr ∇²f", False),
    ("test_accuracy", "test accuracy", False),
]
TITLES = {"svm": "SVM (squared hinge)", "logistic": "logistic regression"}


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot_linear.py: matplotlib is not installed (python3 -m pip install matplotlib)",
              file=sys.stderr)
        return 3

    # losses -> run label -> column -> values
    data = OrderedDict()
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            if row.get("status") == "diverged":  # frozen after diverging: not plotted
                continue
            loss = row["loss"]
            if row["method"] == "zo":
                label = f"ZO (η = {float(row['eta']):g}, λ = {float(row['lambda']):g})"
            else:
                label = f"GD (η = {float(row['eta']):g})"
            s = data.setdefault(loss, OrderedDict()).setdefault(
                label, {k: [] for k in ["iteration"] + [p[0] for p in PANELS]})
            s["iteration"].append(int(row["iteration"]) + 1)
            for key, _, _ in PANELS:
                s[key].append(float(row[key]))
    if not data:
        print("plot_linear.py: the CSV has no rows", file=sys.stderr)
        return 1

    rows = len(data)
    fig, axes = plt.subplots(rows, len(PANELS), figsize=(4.2 * len(PANELS), 3.4 * rows),
                             squeeze=False)
    for r, (loss, runs) in enumerate(data.items()):
        for c, (key, ylabel, log_y) in enumerate(PANELS):
            ax = axes[r][c]
            for label, s in runs.items():
                ax.plot(s["iteration"], s[key], label=label, lw=1.4)
            ax.set_xscale("log")
            if log_y:
                ax.set_yscale("log")
            ax.set_xlabel("iteration + 1")
            ax.set_ylabel(ylabel)
            ax.set_title(f"{TITLES.get(loss, loss)}: {ylabel}", fontsize=10)
            ax.grid(True, which="major", alpha=0.3)
        axes[r][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())

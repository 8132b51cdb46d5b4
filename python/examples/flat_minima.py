#!/usr/bin/env python3
"""The paper's language-model protocol (Figure 3) at small scale: fine-tune a model full batch
with zeroth-order SGD (zo.torch.ZOSGD) and with gradient descent, and record every N steps the
train loss, the test accuracy and the expected-sharpness trace (2/δ²)(E f(x + δu) − f(x))
(zo.torch.expected_sharpness: in-place perturbations, exact restore). Draws a figure with the
ZO and GD curves side by side and writes the records as CSV.

Default: a two-layer MLP on scikit-learn's digits (1,797 8×8 images, shipped with the package;
no download), 75/25 train/test split, runs on the CPU in a few minutes:

    python3 python/examples/flat_minima.py --out out/flat_minima     # .png, .csv

The same script fine-tunes a Hugging Face sequence classifier on a local data set (the paper:
RoBERTa-large, ZO lr 1e-5, λ = 2e-3, δ = 1e-4, 100 samples; a GPU with tens of GB):

    python3 python/examples/flat_minima.py --hf-model roberta-large \\
        --data train.jsonl --test-data test.jsonl --text-key sentence --label-key label \\
        --device cuda --steps 100000 --zo-lr 1e-5 --lam 2e-3 --gd-lr 1e-5 \\
        --delta 1e-4 --samples 100 --every 1000 --out out/roberta

(jsonl files with one {"sentence": ..., "label": int} object per line; needs `transformers`.)
"""
import argparse
import csv
import io
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch

import zo
from zo.torch import ZOSGD, expected_sharpness


# -- tasks: a loss over the full training set, test accuracy, the parameters ---------------------

class DigitsTask:
    """scikit-learn's digits, standardised; an MLP 64 → hidden → 10 (tanh)."""

    def __init__(self, hidden, seed, device):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        x, y = load_digits(return_X_y=True)
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
        mean, std = xtr.mean(0), xtr.std(0) + 1e-6
        to = lambda a, t: torch.tensor(a, dtype=t, device=device)  # noqa: E731
        self.xtr, self.xte = to((xtr - mean) / std, torch.float32), to((xte - mean) / std, torch.float32)
        self.ytr, self.yte = to(ytr, torch.long), to(yte, torch.long)
        torch.manual_seed(seed)
        self.model = torch.nn.Sequential(torch.nn.Linear(64, hidden), torch.nn.Tanh(),
                                         torch.nn.Linear(hidden, 10)).to(device)

    def loss(self):
        return torch.nn.functional.cross_entropy(self.model(self.xtr), self.ytr)

    def accuracy(self):
        with torch.no_grad():
            return float((self.model(self.xte).argmax(1) == self.yte).float().mean())


class HuggingFaceTask:
    """A Hugging Face sequence classifier on local jsonl data (full batch; documented, not run
    in zo's CI)."""

    def __init__(self, name, data, test_data, text_key, label_key, max_length, device):
        import json
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        def read(path):
            with open(path) as f:
                rows = [json.loads(line) for line in f if line.strip()]
            return [r[text_key] for r in rows], [int(r[label_key]) for r in rows]

        texts, labels = read(data)
        test_texts, test_labels = read(test_data)
        tok = AutoTokenizer.from_pretrained(name)
        enc = lambda t: {k: v.to(device) for k, v in tok(  # noqa: E731
            t, padding=True, truncation=True, max_length=max_length, return_tensors="pt").items()}
        self.train, self.test = enc(texts), enc(test_texts)
        self.ytr = torch.tensor(labels, device=device)
        self.yte = torch.tensor(test_labels, device=device)
        self.model = AutoModelForSequenceClassification.from_pretrained(
            name, num_labels=int(max(labels + test_labels)) + 1).to(device)
        self.model.eval()  # no dropout: f must be a function of the parameters

    def loss(self):
        return torch.nn.functional.cross_entropy(self.model(**self.train).logits, self.ytr)

    def accuracy(self):
        with torch.no_grad():
            return float((self.model(**self.test).logits.argmax(1) == self.yte).float().mean())


# -- training -----------------------------------------------------------------------------------

def record(task, method, step, args, rows, t0):
    params = [p for p in task.model.parameters() if p.requires_grad]
    with torch.no_grad():
        loss = float(task.loss())
    # fresh probes at every record (seed per step), never the optimizer's directions
    sharp = expected_sharpness(lambda: float(task.loss()), params, delta=args.delta,
                               samples=args.samples, seed=zo.trace_seed(10**6 + args.seed, step))
    rows.append(dict(method=method, step=step, train_loss=loss, test_accuracy=task.accuracy(),
                     trace=sharp.estimate, trace_se=sharp.std_error,
                     seconds=time.perf_counter() - t0))
    r = rows[-1]
    print(f"{method:>2} step {step:>6}  loss {loss:.4f}  test acc {r['test_accuracy']:.3f}  "
          f"trace {sharp.estimate:9.2f} ± {sharp.std_error:.2f}", flush=True)


def train(make_task, method, args):
    task = make_task()
    params = [p for p in task.model.parameters() if p.requires_grad]
    if method == "zo":
        opt = ZOSGD(params, lr=args.zo_lr, lam=args.lam, q=args.q, seed=args.seed)
        closure = lambda: float(task.loss())  # noqa: E731
    else:
        opt = torch.optim.SGD(params, lr=args.gd_lr)

        def closure():
            opt.zero_grad()
            loss = task.loss()
            loss.backward()
            return loss
    rows, t0 = [], time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.every == 0:
            record(task, method, step, args, rows, t0)
        if step < args.steps:
            if method == "zo":
                with torch.no_grad():
                    opt.step(closure)
            else:
                opt.step(closure)
    return rows


# -- output -------------------------------------------------------------------------------------

def atomic_bytes(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_csv(path, rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    atomic_bytes(path, buf.getvalue().encode())


def plot(path, rows, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    style = {"gd": dict(color="tab:blue", label="GD"), "zo": dict(color="tab:red", label="ZO")}
    for method in ("gd", "zo"):
        rs = [r for r in rows if r["method"] == method]
        steps = np.array([r["step"] for r in rs])
        axes[0].plot(steps, [r["train_loss"] for r in rs], **style[method])
        axes[1].plot(steps, [r["test_accuracy"] for r in rs], **style[method])
        tr = np.array([r["trace"] for r in rs])
        se = np.array([r["trace_se"] for r in rs])
        axes[2].plot(steps, tr, **style[method])
        axes[2].fill_between(steps, tr - se, tr + se, color=style[method]["color"], alpha=0.2)
    axes[0].set_yscale("log")
    for ax, name in zip(axes, ("train loss", "test accuracy", "trace of Hessian (expected sharpness)")):
        ax.set_xlabel("step")
        ax.set_title(name, fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    atomic_bytes(path, buf.getvalue())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--every", type=int, default=500, help="record every N steps")
    p.add_argument("--zo-lr", type=float, default=5e-3)
    p.add_argument("--lam", type=float, default=1e-3, help="ZO smoothing radius λ")
    p.add_argument("--q", type=int, default=1)
    p.add_argument("--gd-lr", type=float, default=0.05)
    p.add_argument("--delta", type=float, default=1e-2,
                   help="δ of the expected sharpness (1e-2 suits float32 losses)")
    p.add_argument("--samples", type=int, default=64, help="directions per trace estimate")
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads (0: torch's default; 1 is fastest for the small MLP)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default="out/flat_minima", help="writes <out>.png and <out>.csv")
    p.add_argument("--hf-model", default="", help="a Hugging Face model name (needs --data)")
    p.add_argument("--data", default="")
    p.add_argument("--test-data", default="")
    p.add_argument("--text-key", default="sentence")
    p.add_argument("--label-key", default="label")
    p.add_argument("--max-length", type=int, default=128)
    args = p.parse_args()
    for name in ("steps", "every", "samples", "q", "hidden"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    for name in ("zo_lr", "lam", "gd_lr", "delta"):
        v = getattr(args, name)
        if not (v > 0 and math.isfinite(v)):
            p.error(f"--{name.replace('_', '-')} must be a finite number > 0, got {v}")
    if args.hf_model and not (args.data and args.test_data):
        p.error("--hf-model needs --data and --test-data (local jsonl files)")
    if args.threads:
        torch.set_num_threads(args.threads)
    zo.set_log_quiet(True)
    if args.hf_model:
        make = lambda: HuggingFaceTask(args.hf_model, args.data, args.test_data,  # noqa: E731
                                       args.text_key, args.label_key, args.max_length, args.device)
        title = f"{args.hf_model} on {os.path.basename(args.data)}"
    else:
        make = lambda: DigitsTask(args.hidden, args.seed, args.device)  # noqa: E731
        title = (f"MLP 64-{args.hidden}-10 on digits, full batch: GD η = {args.gd_lr}, "
                 f"ZO η = {args.zo_lr}, λ = {args.lam}; trace: δ = {args.delta}, "
                 f"{args.samples} samples (± 1 s.e.)")
    rows = train(make, "gd", args) + train(make, "zo", args)
    write_csv(args.out + ".csv", rows)
    plot(args.out + ".png", rows, title)
    print(f"wrote {args.out}.csv and {args.out}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

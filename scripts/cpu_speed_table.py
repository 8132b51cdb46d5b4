#!/usr/bin/env python3
"""CPU speed table: zo before/after a change and its Python peers, one thread, one run.

Measures, one after the other in the same run, pinned to one core (taskset), with
OMP_NUM_THREADS=1, OMP_WAIT_POLICY=PASSIVE and single-threaded BLAS/XLA/torch:

  1. the Gaussian generator, coordinates/s: scalar vs AVX2 vs AVX-512 (bench_directions);
  2. one toy ZO run (Example 2.1, d = 100: 200 coordinates), time per step (bench_run_batch
     BM_CpuRunBatch K = 1) vs the paper-style numpy loop (bench/sweep_numpy_peer.py, loop mode);
  3. the sweep (K = 256 runs), config-steps/s (bench_sweep BM_Fused gpu:0) vs the numpy loop,
     numpy vectorised over runs and JAX jit/vmap/scan on the CPU (bench/sweep_jax.py), with 256
     seeds and, where the build has that row, as Figure 1's sweep lays them out (32 seeds × 8 λ,
     lambdas:8) vs the numpy loop;
  4. the Stepper's full step at d = 2^22, f32, merged, arithmetic restore (bench_stepper) vs the
     MeZO-style PyTorch step (bench/torch_step_bench.py --device cpu --threads 1);
  5. a linear-model ZO step (bench_linear_step: dense 400 x 10,001 and a5a-like CSR 6,414 x 123)
     vs the paper's numpy step (bench/linear_numpy_peer.py).

Every zo figure is taken from both builds (--before, --after: CMake build directories of zo);
bench_linear_step is compiled against the --before build when that build lacks it. Each
measurement is repeated --repeats times and the median is reported. Writes raw.json and
table.md (the medians and ratios) into --out, atomically.

    git worktree add --detach ../zo-before <before-commit>   # then build it (bench targets)
    python3 scripts/cpu_speed_table.py --before ../zo-before/build --after build-cpu \\
        --python <python with numpy, scipy, torch, jax> --out bench/results/<machine>-<date>

Exit codes: 0 done, 1 a measurement failed, 2 bad arguments.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


class Runner:
    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ)
        self.env.update({
            "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1", "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false "
            "intra_op_parallelism_threads=1", "JAX_PLATFORMS": "cpu",
        })
        self.pin = ["taskset", "-c", str(args.core)] if shutil.which("taskset") else []
        self.log = []
        # Commands are logged with placeholders instead of this machine's paths.
        self.names = sorted([(os.path.abspath(args.before), "<before>"),
                             (os.path.abspath(args.after), "<after>"),
                             (os.path.abspath(args.out), "<out>"), (args.python, "<python>"),
                             (ROOT, "<repo>")], key=lambda t: -len(t[0]))

    def anonymous(self, text):
        for path, name in self.names:
            text = text.replace(path, name)
        return text

    def run(self, cmd, timeout=900):
        t0 = time.time()
        cmd = [os.path.abspath(c) if os.path.exists(c) else c for c in cmd]
        p = subprocess.run(self.pin + cmd, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        self.log.append({"cmd": self.anonymous(" ".join(cmd)),
                         "seconds": round(time.time() - t0, 2), "rc": p.returncode})
        if p.returncode != 0:
            raise RuntimeError("%s: exit %d\n%s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
        return p.stdout

    def gbench(self, exe, flt, counter=None):
        """Per-repetition values of `counter` (or real time in seconds) of the one benchmark
        matching `flt`."""
        out = self.run([exe, "--benchmark_filter=" + flt,
                        "--benchmark_repetitions=%d" % self.args.repeats,
                        "--benchmark_format=json"])
        try:
            data = json.loads(out)
        except ValueError:  # Google Benchmark prints nothing when the filter matches nothing
            raise RuntimeError("%s: no benchmark matches %s" % (exe, flt))
        rows = [b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
        if not rows:
            raise RuntimeError("%s: no benchmark matches %s" % (exe, flt))
        names = sorted({b["name"] for b in rows})
        if len(names) != 1:
            raise RuntimeError("%s: %s matches %s" % (exe, flt, names))
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
        if counter is None:
            return [b["real_time"] * scale[b["time_unit"]] for b in rows], names[0]
        return [b[counter] for b in rows], names[0]

    def python(self, script, *extra):
        return self.run([self.args.python, os.path.join(ROOT, "bench", script)] + list(extra))


def median(v):
    return statistics.median(v)


def commit_of(build):
    """The commit of the source tree above a build directory ('' when unknown)."""
    src = os.path.dirname(os.path.abspath(build.rstrip("/")))
    p = subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True,
                       text=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def build_linear_step(args, build):
    """bench_linear_step of `build`, or compiled from this tree's source against it (then also
    the temporary directory that holds it)."""
    exe = os.path.join(build, "bench", "bench_linear_step")
    if os.path.exists(exe):
        return exe, None
    src_root = os.path.dirname(os.path.abspath(build.rstrip("/")))
    tmp = tempfile.mkdtemp(prefix="zo-bench-")
    out = os.path.join(tmp, "bench_linear_step")
    cmd = ["g++", "-O2", "-std=c++17", "-I", os.path.join(src_root, "include"),
           "-I", os.path.join(build, "include"), os.path.join(ROOT, "bench", "bench_linear_step.cpp"),
           "-o", out, "-L", os.path.join(build, "src"), "-Wl,-rpath," + os.path.join(build, "src"),
           "-lzo", "-lbenchmark", "-lpthread"]
    subprocess.run(cmd, check=True)
    return out, tmp


def table(res):
    """The markdown table of raw.json: before, after, peer and ratios (medians)."""
    def m(key):
        return res[key]["median"] if key in res else float("nan")

    rows = []

    def row(what, unit, before, after, peer_name, peer, ratio, target):
        met = "yes" if ratio == ratio and target is not None and ratio >= target else (
            "—" if target is None else "no")
        rows.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            what, before, after, peer_name, peer,
            "%.1f×" % ratio if ratio == ratio else "—",
            ("≥ %g×: %s" % (target, met)) if target is not None else "—"))

    for path in ("scalar", "avx2", "avx512"):
        row("generator, %s (M coords/s)" % path, "", "%.0f" % (m("gen_%s_before" % path) / 1e6),
            "%.0f" % (m("gen_%s_after" % path) / 1e6), "scalar, after",
            "%.0f" % (m("gen_scalar_after") / 1e6),
            m("gen_%s_after" % path) / m("gen_scalar_after"), None)
    loop_us = 1e6 / m("numpy_loop_config_steps_per_s")
    row("toy ZO run, d = 100 (µs per step)", "", "%.2f" % m("toy_us_per_step_before"),
        "%.2f" % m("toy_us_per_step_after"), "numpy loop", "%.1f" % loop_us,
        loop_us / m("toy_us_per_step_after"), 10)
    sw = m("sweep_config_steps_per_s_after")
    for name, key, target in (("numpy loop", "numpy_loop_config_steps_per_s", 50),
                              ("numpy vectorised", "numpy_vectorized_config_steps_per_s", 5),
                              ("JAX jit/vmap/scan", "jax_config_steps_per_s", 2)):
        row("sweep K = 256, d = 100 (k config-steps/s)", "",
            "%.0f" % (m("sweep_config_steps_per_s_before") / 1e3), "%.0f" % (sw / 1e3), name,
            "%.0f" % (m(key) / 1e3), sw / m(key), target)
    if "sweep_grid_config_steps_per_s_after" in res:
        # The same K as 32 seeds × 8 λ (Figure 1's sweep): the λ of a seed share its directions.
        # The numpy loop runs each configuration on its own, so its rate is the same.
        sg = m("sweep_grid_config_steps_per_s_after")
        before = m("sweep_grid_config_steps_per_s_before")
        row("sweep K = 256 as 32 seeds × 8 λ, d = 100 (k config-steps/s)", "",
            "%.0f" % (before / 1e3) if before == before else "—", "%.0f" % (sg / 1e3),
            "numpy loop", "%.0f" % (m("numpy_loop_config_steps_per_s") / 1e3),
            sg / m("numpy_loop_config_steps_per_s"), 50)
    for name, key in (("torch MeZO step", "torch_mezo_ms"),
                      ("torch in-place step", "torch_inplace_ms")):
        row("Stepper full step, d = 2^22, f32 (ms)", "", "%.1f" % m("stepper_ms_before"),
            "%.1f" % m("stepper_ms_after"), name, "%.1f" % m(key),
            m(key) / m("stepper_ms_after"), 2 if "MeZO" in name else None)
    for tag, shape in (("dense", "400 × 10,001 dense"), ("csr", "6,414 × 123 CSR (a5a)")):
        peer = m("numpy_linear_ms_%s" % tag)
        row("linear ZO step, %s, default engine (ms)" % shape, "",
            "%.3f" % m("linear_ms_%s_auto_before" % tag), "%.3f" % m("linear_ms_%s_auto_after" % tag),
            "paper's numpy step", "%.3f" % peer, peer / m("linear_ms_%s_auto_after" % tag), 4)
        row("linear ZO step, %s, generic engine (ms)" % shape, "",
            "%.3f" % m("linear_ms_%s_generic_before" % tag),
            "%.3f" % m("linear_ms_%s_generic_after" % tag), "paper's numpy step", "%.3f" % peer,
            peer / m("linear_ms_%s_generic_after" % tag), None)
    head = ["| measurement | before | after | peer | peer value | after vs peer | target |",
            "|---|---:|---:|---|---:|---:|---|"]
    return "\n".join(head + rows) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="build directory of the 'before' commit")
    ap.add_argument("--after", required=True, help="build directory of the 'after' commit")
    ap.add_argument("--python", default=sys.executable, help="Python with numpy, torch, jax")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--core", type=int, default=1, help="CPU to pin every measurement to")
    ap.add_argument("--only", default="", help="comma list of sections: gen,toy,sweep,stepper,linear")
    ap.add_argument("--table", action="store_true", help="only rewrite table.md from --out/raw.json")
    args = ap.parse_args()
    if args.table:
        write_atomic(os.path.join(args.out, "table.md"),
                     table(json.load(open(os.path.join(args.out, "raw.json")))))
        return 0
    for b in (args.before, args.after):
        if not os.path.isdir(os.path.join(b, "bench")):
            print("cpu_speed_table: %s has no bench/ (not a zo build directory)" % b,
                  file=sys.stderr)
            return 2
    if args.repeats < 1:
        print("cpu_speed_table: --repeats must be >= 1", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    want = lambda s: not only or s in only  # noqa: E731
    r = Runner(args)
    builds = {"before": args.before, "after": args.after}
    res = {"meta": {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
        "repeats": args.repeats, "core": args.core, "uptime_start": open("/proc/loadavg").read().split()[:3],
        "before_commit": commit_of(args.before), "after_commit": commit_of(args.after)}}
    try:
        cpu = [l for l in open("/proc/cpuinfo") if l.startswith("model name")]
        res["meta"]["cpu"] = cpu[0].split(":", 1)[1].strip() if cpu else ""
    except OSError:
        pass

    def record(key, values, **kw):
        res[key] = dict(kw, values=values, median=median(values))
        print("%-40s median %.6g  (%s)" % (key, res[key]["median"],
                                            ", ".join("%.4g" % v for v in values)), flush=True)

    try:
        if want("gen"):
            for which, b in builds.items():
                for path in ("scalar", "avx2", "avx512"):
                    v, name = r.gbench(os.path.join(b, "bench", "bench_directions"),
                                       "BM_GaussianBlocks/%s/65536$" % path, "coords_per_s")
                    record("gen_%s_%s" % (path, which), v, bench=name)
        if want("toy") or want("sweep"):
            peer = {"loop": [], "vec": []}
            for _ in range(args.repeats):
                out = json.loads(r.python("sweep_numpy_peer.py", "--runs", "256", "--seconds", "3"))
                for rec in out:
                    peer["loop" if rec["impl"] == "numpy-loop" else "vec"].append(
                        rec["config_steps_per_s"])
            record("numpy_loop_config_steps_per_s", peer["loop"])
            record("numpy_vectorized_config_steps_per_s", peer["vec"])
        if want("toy"):
            for which, b in builds.items():
                v, name = r.gbench(os.path.join(b, "bench", "bench_run_batch"),
                                   "BM_CpuRunBatch/K:1/h:100/", "config_steps_per_s")
                record("toy_us_per_step_%s" % which, [1e6 / x for x in v], bench=name)
        if want("sweep"):
            jax = []
            for _ in range(args.repeats):
                out = json.loads(r.python("sweep_jax.py", "--runs", "256", "--steps", "20000",
                                          "--seconds", "4"))
                jax.append(out["config_steps_per_s"])
            record("jax_config_steps_per_s", jax)
            for which, b in builds.items():
                v, name = r.gbench(os.path.join(b, "bench", "bench_sweep"),
                                   "BM_Fused/gpu:0/K:256/group:0/(lambdas:1/)?iterations",
                                   "config_steps_per_s")
                record("sweep_config_steps_per_s_%s" % which, v, bench=name)
                try:  # Figure 1's sweep shape, K / 8 seeds × 8 λ (builds that have the row)
                    v, name = r.gbench(os.path.join(b, "bench", "bench_sweep"),
                                       "BM_Fused/gpu:0/K:256/group:0/lambdas:8/",
                                       "config_steps_per_s")
                    record("sweep_grid_config_steps_per_s_%s" % which, v, bench=name)
                except RuntimeError:
                    pass
        if want("stepper"):
            for which, b in builds.items():
                v, name = r.gbench(os.path.join(b, "bench", "bench_stepper"),
                                   "stepper_step/cpu/f32/arithmetic/merged/q1/d:4194304/")
                record("stepper_ms_%s" % which, [1e3 * x for x in v], bench=name)
            mezo, inplace = [], []
            for _ in range(args.repeats):
                base = os.path.join(args.out, ".torch_step")
                r.python("torch_step_bench.py", "--device", "cpu", "--threads", "1",
                         "--min-log2", "22", "--max-log2", "22", "--dtypes", "f32", "--iters",
                         "5", "--out", base)
                recs = json.load(open(base + ".json"))["records"]
                for rec in recs:
                    (mezo if rec["impl"] == "torch_mezo" else inplace).append(rec["ms"])
                for ext in (".json", ".csv"):
                    os.remove(base + ext)
            record("torch_mezo_ms", mezo)
            record("torch_inplace_ms", inplace)
        if want("linear"):
            peers = {}
            runs = [json.loads(l) for _ in range(1) for l in
                    r.python("linear_numpy_peer.py", "--repeats", str(args.repeats)).splitlines()]
            for rec in runs:
                peers.setdefault(rec["shape"], []).append(rec)
            for shape, recs in peers.items():
                best = min(recs, key=lambda x: x["ms_per_step_median"])
                record("numpy_linear_ms_%s" % shape.split()[0], best["ms_per_step"],
                       storage=best["storage"], shape=shape)
            for which, b in builds.items():
                exe, tmp = build_linear_step(args, b)
                if tmp:
                    r.names.insert(0, (tmp, "<before-compiled>"))
                for shape, tag in ((0, "dense"), (1, "csr")):
                    for engine, ename in ((0, "generic"), (2, "auto")):
                        v, name = r.gbench(exe, "BM_LinearZoStep/shape:%d/engine:%d/" %
                                           (shape, engine), "ms_per_step")
                        record("linear_ms_%s_%s_%s" % (tag, ename, which), v, bench=name)
    except (RuntimeError, subprocess.SubprocessError, ValueError, KeyError) as e:
        print("cpu_speed_table: %s" % e, file=sys.stderr)
        res["error"] = str(e)
        write_atomic(os.path.join(args.out, "raw.json"), json.dumps(res, indent=1) + "\n")
        return 1
    res["meta"]["uptime_end"] = open("/proc/loadavg").read().split()[:3]
    res["commands"] = r.log
    old = {}
    raw = os.path.join(args.out, "raw.json")
    if only and os.path.exists(raw):  # a partial rerun keeps the other sections
        old = json.load(open(raw))
    old.update(res)
    write_atomic(raw, json.dumps(old, indent=1) + "\n")
    write_atomic(os.path.join(args.out, "table.md"), table(old))
    print(table(old))
    return 0


if __name__ == "__main__":
    sys.exit(main())

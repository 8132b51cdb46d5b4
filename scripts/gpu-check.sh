#!/usr/bin/env bash
# The one-command GPU check, run on the GPU machine (H100/H200). In one call it
#   1. uses the binaries prebuilt for sm_90 by scripts/gpu-carry.sh (--prebuilt .carry), or
#      configures and builds a Release sm_90 build here;
#   2. runs every test executable (GPU ones in sequence; CPU ones alongside) and, at the same
#      time, the GPU tests under compute-sanitizer (memcheck on all; racecheck/synccheck on the
#      kernels that use shared memory or barriers) with ZO_SANITIZER=1 (tests shrink their sizes);
#   3. runs the GPU benchmarks (Google Benchmark JSON, one at a time: the GPU is not shared);
#   4. runs the peers on the same GPU (PyTorch/JAX scripts) and the end-to-end CLI runs
#      (zo sweep Figure 1 compared byte for byte with the CPU's table, the K = 4096 × 10^5 target,
#      zo linear at the paper's size);
#   5. writes logs, JSON and summary.md under --out (and a tarball of them after each phase).
# Every step has a timeout and the whole script a deadline (--deadline seconds), so one hang
# cannot eat a GPU lease; steps that would start after the deadline are reported as skipped.
#
# usage: scripts/gpu-check.sh [--prebuilt DIR] [--out DIR] [--deadline SECONDS] [--tar FILE]
#                             [--skip-sanitizer] [--skip-bench] [--skip-peers]
#
# The GPU machine has nvcc, CMake, Ninja and Python with PyTorch/JAX but no internet and no
# GoogleTest/Google Benchmark: run scripts/gpu-carry.sh on the CPU machine first; it puts the
# prebuilt binaries, libzo, libbenchmark, a GoogleTest source tree and a Google Benchmark prefix
# under .carry/ (git-ignored), which travels with the working tree (device tool: carry [".carry"]).
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

prebuilt="" out="out/gpu-check" deadline=560 phase_deadline=100000 tarball="" skip_san=0 skip_bench=0 skip_peers=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prebuilt) prebuilt="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --deadline) deadline="$2"; shift 2 ;;
    --tar) tarball="$2"; shift 2 ;;
    --skip-sanitizer) skip_san=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    --skip-peers) skip_peers=1; shift ;;
    *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"/logs "$out"/tests "$out"/bench "$out"/sanitizer "$out"/e2e
out=$(cd "$out" && pwd)
summary="$out/summary.md"
t0=$(date +%s)
elapsed() { echo $(($(date +%s) - t0)); }
stamp() { echo "[$(elapsed)s] $*"; }
# budget <wanted timeout>: the timeout a step may use before the deadline (0 = skip it).
budget() { local end=$deadline; ((phase_deadline < end)) && end=$phase_deadline; local left=$((end - $(elapsed))); ((left < 10)) && { echo 0; return; }; ((left < $1)) && echo "$left" || echo "$1"; }
pack() { [[ -n "$tarball" ]] && tar czf "$tarball" -C "$(dirname "$out")" "$(basename "$out")" 2>/dev/null; true; }
for d in /usr/local/cuda/bin /usr/local/cuda-13.0/bin /opt/nvidia/nsight-compute/*/; do
  [[ -x "$d/compute-sanitizer" ]] && export PATH="$PATH:$d"
done
export OMP_WAIT_POLICY=PASSIVE ZO_SCRIPTS_DIR="$root/scripts" PYTHONUNBUFFERED=1

commit=$(git rev-parse --short HEAD 2>/dev/null || cat "$root/${prebuilt:-.carry}/COMMIT" 2>/dev/null || echo unknown)
{
  echo "# zo GPU check"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- commit: $commit$( [[ -n "$prebuilt" && -f "$root/$prebuilt/COMMIT" ]] && echo " (binaries built from $(cat "$root/$prebuilt/COMMIT"))")"
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  echo "- host: $(nproc) CPU cores; nvcc: $(nvcc --version 2>/dev/null | tail -1)"
} >"$summary"
nvidia-smi >"$out/logs/nvidia-smi.txt" 2>&1

# The CUDA libraries (cuBLAS, cuSPARSE, cuRAND) of this machine.
libdirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
         /usr/local/cuda-13.0/lib64 /usr/local/cuda-13.0/lib /usr/lib/x86_64-linux-gnu; do
  [[ -e "$d/libcublas.so.13" ]] && libdirs="$libdirs:$d"
done
if [[ -z "$libdirs" ]]; then
  hit=$(find / -xdev -name 'libcublas.so.13' 2>/dev/null | head -1)
  [[ -n "$hit" ]] && libdirs=":$(dirname "$hit")"
fi
for lib in libcusparse.so.12 libcurand.so.10; do
  hit=$(find / -xdev -name "$lib" 2>/dev/null | head -1)
  [[ -n "$hit" ]] && libdirs="$libdirs:$(dirname "$hit")"
done
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}$libdirs"

# ---- 1. binaries -------------------------------------------------------------------------------
bindir=""
if [[ -n "$prebuilt" ]]; then
  export LD_LIBRARY_PATH="$root/$prebuilt/lib:$LD_LIBRARY_PATH"
  if "$root/$prebuilt/bin/test_philox" >"$out/logs/prebuilt-probe.log" 2>&1; then
    bindir="$root/$prebuilt/bin"
    gpu_tests=$(tr '\n' ' ' <"$root/$prebuilt/gpu-tests.txt")
    echo "- binaries: prebuilt for sm_90 on the CPU machine (scripts/gpu-carry.sh)" >>"$summary"
  else
    stamp "prebuilt binaries do not run here (logs/prebuilt-probe.log); building from source"
    cat "$out/logs/prebuilt-probe.log"
  fi
fi
if [[ -z "$bindir" ]]; then
  extra=()
  [[ -d .carry/googletest ]] && extra+=("-DZO_GTEST_SOURCE_DIR=$root/.carry/googletest")
  if [[ -d .carry/benchmark-prefix ]]; then
    extra+=("-DCMAKE_PREFIX_PATH=$root/.carry/benchmark-prefix")
    export LD_LIBRARY_PATH="$root/.carry/benchmark-prefix/lib:$LD_LIBRARY_PATH"
  fi
  stamp "configure + build (sm_90, Release)"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DZO_WITH_CUDA=ON "${extra[@]}" >"$out/logs/configure.log" 2>&1 || tail -30 "$out/logs/configure.log"
  cmake --build build-gpu -j"$(nproc)" >"$out/logs/build.log" 2>&1 ||
    { echo "- **build failed** (logs/build.log)" >>"$summary"; tail -40 "$out/logs/build.log"; }
  mkdir -p build-gpu/allbin
  find build-gpu -type f -executable \( -name 'test_*' -o -name 'bench_*' -o -name zo \) \
    -not -path '*/CMakeFiles/*' -not -path '*_work/*' -exec cp -f {} build-gpu/allbin/ \;
  bindir="$root/build-gpu/allbin"
  gpu_tests=$(cd build-gpu && ctest -N -L gpu | sed -n 's/^ *Test *#[0-9]*: *//p' | tr '\n' ' ')
  echo "- binaries: built on this machine (build-gpu)" >>"$summary"
fi
stamp "binaries ready in $bindir"

# ---- 2. tests, with the sanitizer and the CPU tests alongside ------------------------------------
gtest_counts() {  # <json> -> "passed failed skipped"
  python3 - "$1" <<'PY' 2>/dev/null || echo "? ? ?"
import json, sys
d = json.load(open(sys.argv[1]))
p = f = s = 0
for suite in d.get("testsuites", []):
    for t in suite.get("testsuite", []):
        if t.get("result") == "SKIPPED" or t.get("status") == "NOTRUN": s += 1
        elif t.get("failures"): f += 1
        else: p += 1
print(p, f, s)
PY
}
run_test() {  # <name> <timeout> ; writes tests/<name>.rc
  local name=$1 t
  t=$(budget "$2"); ((t == 0)) && { echo skipped >"$out/tests/$name.rc"; return; }
  local s=$(date +%s)
  timeout "$t" "$bindir/$name" --gtest_output="json:$out/tests/$name.json" >"$out/logs/$name.log" 2>&1
  echo "$? $(($(date +%s) - s))" >"$out/tests/$name.rc"
}
sanitize() {  # <tool> <name>
  local tool=$1 name=$2 t
  t=$(budget 150); ((t == 0)) && { echo "skipped" >"$out/sanitizer/$name.$tool.rc"; return; }
  ZO_SANITIZER=1 timeout "$t" compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 20 \
    "$bindir/$name" >"$out/sanitizer/$name.$tool.log" 2>&1
  echo $? >"$out/sanitizer/$name.$tool.rc"
}
export -f run_test sanitize budget elapsed
export bindir out t0 deadline
# Phase 1 (tests + sanitizer) may use at most 40% of the time, so benchmarks always run.
export phase_deadline=$((deadline * 2 / 5))

stamp "phase 1: tests (GPU in sequence, CPU alongside) and compute-sanitizer"
cpu_tests=""
for t in "$bindir"/test_*; do
  n=$(basename "$t")
  [[ " $gpu_tests " == *" $n "* ]] || cpu_tests="$cpu_tests $n"
done
( for n in $gpu_tests; do run_test "$n" 200; done ) &
gpu_pid=$!
( for n in $cpu_tests; do echo "$n"; done | OMP_NUM_THREADS=4 xargs -P 3 -I{} bash -c 'run_test {} 240' ) &
cpu_pid=$!
san_pid=""
if [[ $skip_san -eq 0 ]] && command -v compute-sanitizer >/dev/null; then
  ( { for n in $gpu_tests; do echo "memcheck $n"; done
      for n in $gpu_tests; do case $n in *example21*|*run_batch*|*sweep*|*linear*|*trace*|*device_objective*) echo "racecheck $n";; esac; done
      for n in $gpu_tests; do case $n in *sweep*|*stepper_cuda|*linear*) echo "synccheck $n";; esac; done
    } | xargs -P 3 -L 1 bash -c 'sanitize "$0" "$1"' ) &
  san_pid=$!
fi
wait $gpu_pid $cpu_pid $san_pid

echo -e "\n## Tests\n\n| test | kind | result | passed | failed | skipped | seconds |\n|---|---|---|---|---|---|---|" >>"$summary"
all_ok=1
for n in $gpu_tests $cpu_tests; do
  kind=cpu; [[ " $gpu_tests " == *" $n "* ]] && kind=gpu
  read -r rc secs <"$out/tests/$n.rc" 2>/dev/null || rc=missing
  if [[ "$rc" == skipped || "$rc" == missing ]]; then
    echo "| $n | $kind | not run (deadline) | | | | |" >>"$summary"; all_ok=0; continue
  fi
  read -r np nf ns <<<"$(gtest_counts "$out/tests/$n.json")"
  res=PASS; [[ $rc -ne 0 ]] && { res="**FAIL (rc $rc)**"; all_ok=0; }
  [[ $kind == gpu && "$ns" != "0" && "$ns" != "?" ]] && res="$res, **$ns skipped**"
  echo "| $n | $kind | $res | $np | $nf | $ns | $secs |" >>"$summary"
done
if [[ -n "$san_pid" ]]; then
  echo -e "\n## compute-sanitizer (ZO_SANITIZER=1 sizes)\n\n| test | tool | result | errors reported |\n|---|---|---|---|" >>"$summary"
  for f in "$out"/sanitizer/*.rc; do
    [[ -f "$f" ]] || continue
    base=$(basename "$f" .rc); n=${base%.*}; tool=${base##*.}
    rc=$(cat "$f"); log="$out/sanitizer/$base.log"
    errs=$(grep -oE "ERROR SUMMARY: [0-9]+" "$log" 2>/dev/null | tail -1 | grep -oE "[0-9]+")
    case "$rc" in
      0) res=clean ;;
      99) res="**errors**"; all_ok=0 ;;
      124) res="timeout" ;;
      skipped) res="not run (deadline)" ;;
      *) res="**test failed under the tool (rc $rc)**"; all_ok=0 ;;
    esac
    echo "| $n | $tool | $res | ${errs:-?} |" >>"$summary"
  done
fi
stamp "phase 1 done"
export phase_deadline=$deadline
pack

# ---- 3. GPU benchmarks, one at a time ----------------------------------------------------------
bench() {  # <name> <timeout> <filter>
  local name=$1 t; t=$(budget "$2")
  ((t == 0)) && { echo "- $name: not run (deadline)" >>"$summary"; return; }
  [[ -x "$bindir/$name" ]] || { echo "- $name: missing" >>"$summary"; return; }
  stamp "bench $name (filter '$3', timeout ${t}s)"
  timeout "$t" "$bindir/$name" --benchmark_filter="$3" --benchmark_out="$out/bench/$name.json" \
    --benchmark_out_format=json >"$out/logs/$name.log" 2>&1
  echo "- $name (filter \`$3\`): rc $? → bench/$name.json" >>"$summary"
}
# ---- 4. peers on the same GPU, and end-to-end CLI runs -------------------------------------------
peer() {  # <name> <timeout> <args...>
  local name=$1 t; t=$(budget "$2"); shift 2
  ((t == 0)) && { echo "- $name: not run (deadline)" >>"$summary"; return; }
  stamp "peer $name (timeout ${t}s)"
  timeout "$t" python3 "bench/$name.py" "$@" >"$out/logs/$name.log" 2>&1
  echo "- $name: rc $? → bench/$name.json" >>"$summary"
}
# Most important first: the issue targets (stepper vs PyTorch/cuRAND; sweep vs JAX/PyTorch).
if [[ $skip_bench -eq 0 ]]; then
  echo -e "\n## Benchmarks and peers (GPU rows; CPU rows are measured on the CPU machine)\n" >>"$summary"
  bench bench_stepper 120 'cuda|copy_d2d|baseline'
  [[ $skip_peers -eq 0 ]] && peer torch_step_bench 90 --out "$out/bench/torch_step.json" --min-log2 20 --max-log2 28
  bench bench_sweep 90 'gpu:1|Target'
  [[ $skip_peers -eq 0 ]] && peer sweep_jax 90 --out "$out/bench/sweep_jax.json" --budget 8
  [[ $skip_peers -eq 0 ]] && peer sweep_torch 60 --out "$out/bench/sweep_torch.json" --budget 8
  pack
  bench bench_run_batch 70 'Copy|Cuda'
  bench bench_trace 60 'gpu:1'
  bench bench_linear_eval 50 'Gpu'
  pack
fi
if [[ $skip_peers -eq 0 ]]; then
  echo -e "\n## End-to-end runs\n" >>"$summary"
  zo="$bindir/zo"
  t=$(budget 45)
  if ((t > 0)); then
    stamp "zo sweep Figure 1 on the GPU (1000 runs x 1e5 steps)"
    s=$(date +%s.%N)
    timeout "$t" "$zo" sweep --seeds 0:100 --lambdas 0.2,0.1,0.07,0.05,0.03,0.02,0.01,0.005 \
      --steps 100000 --log-points 100 --backend cuda --no-plot --quiet --out "$out/e2e/fig1_gpu.csv" \
      >"$out/logs/fig1_gpu.log" 2>&1
    rc=$?; e=$(date +%s.%N)
    sha=$(sha256sum "$out/e2e/fig1_gpu.csv" 2>/dev/null | cut -d' ' -f1)
    same=no; [[ "$sha" == 71d0c128ed16b279ce94dae4a74ab2558f6d265441db02595e8e202a5096f24e ]] && same=yes
    echo "- zo sweep Figure 1 (1000 runs × 10^5 steps, 100 log points) on the GPU: rc $rc, $(python3 -c "print(f'{$e-$s:.2f}')") s end to end; table byte-identical to the CPU's: **$same** (sha256 $sha)" >>"$summary"
  fi
  t=$(budget 45)
  if ((t > 0)); then
    stamp "zo sweep target K = 4096 x 1e5 on the GPU"
    s=$(date +%s.%N)
    timeout "$t" "$zo" sweep --seeds 0:4096 --methods zo --lambdas 0.1 --steps 100000 --log-points 100 \
      --backend cuda --no-plot --quiet --out "$out/e2e/target_gpu.csv" >"$out/logs/target_gpu.log" 2>&1
    rc=$?; e=$(date +%s.%N)
    echo "- zo sweep target (4096 runs × 10^5 steps, 100 log points) on the GPU: rc $rc, $(python3 -c "print(f'{$e-$s:.2f}')") s end to end" >>"$summary"
    rm -f "$out/e2e/target_gpu.csv"
  fi
  t=$(budget 100)
  if ((t > 0)); then
    stamp "zo linear, paper size (a5a-shaped synthetic, D = 10000) on the GPU"
    s=$(date +%s.%N)
    timeout "$t" "$zo" linear --backend cuda --quiet --no-plot --n-train 6414 --n-test 26147 \
      --raw-features 123 --dim 10000 --out "$out/e2e/linear_d10000.csv" >"$out/logs/linear_d10000.log" 2>&1
    rc=$?; e=$(date +%s.%N)
    echo "- zo linear (6414/26147 samples, D = 10000, 10^4 iterations, GD+ZO, SVM+logistic) on the GPU: rc $rc, $(python3 -c "print(f'{$e-$s:.2f}')") s" >>"$summary"
  fi
  pack
fi

echo -e "\n- total: $(elapsed) s of $deadline s; overall: $([[ $all_ok -eq 1 ]] && echo 'tests and sanitizer clean' || echo '**FAILURES (see above)**')" >>"$summary"
pack
cat "$summary"
for f in "$out"/tests/*.rc; do
  n=$(basename "$f" .rc); read -r rc _ <"$f"
  [[ "$rc" != 0 && "$rc" != skipped ]] && { echo "---- tail of logs/$n.log"; tail -25 "$out/logs/$n.log"; }
done
exit 0

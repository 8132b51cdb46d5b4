#!/usr/bin/env bash
# The GPU check of the linear-model work (issue 4), in one go, on the GPU machine (H100/H200):
#   1. GPU tests: test_linear_model_cuda (LinearModel CUDA vs CPU), test_device_objective
#      (device functors and device callbacks under the CUDA RunBatch); a skipped test is a failure
#   2. compute-sanitizer memcheck on test_linear_model_cuda (the smaller shapes)
#   3. bench_linear_eval (GPU rows: points/s, GFLOP/s, cuBLAS SGEMM rate of the same shape) and
#      bench_libsvm, as Google Benchmark JSON
#   4. `zo linear` on the GPU: the synthetic default (compare its table with docs/linear-models.md,
#      measured on the CPU) and the paper's size (6,414 / 26,147 samples, 123 raw features,
#      D = 10,000), both timed
#
# usage: scripts/linear_gpu_check.sh [BUILD_DIR (default build-gpu)] [OUT_DIR (default out/linear-gpu)]
# BUILD_DIR may be a build tree or a flat folder of executables (e.g. .carry/bin). About 3-5
# minutes after the build; every step has a time limit.
set -u
cd "$(dirname "$0")/.."
build="${1:-build-gpu}"
out="${2:-out/linear-gpu}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $*"; }
find_exe() { find "$build" -type f -executable -name "$1" -not -path '*/CMakeFiles/*' -not -path '*_work/*' 2>/dev/null | head -1; }
status=0

# ---- 1. tests ----
for name in test_linear_model_cuda test_device_objective; do
  exe=$(find_exe "$name")
  if [[ -z "$exe" ]]; then echo "MISSING: $name under $build"; status=1; continue; fi
  stamp "$name"
  timeout 300 "$exe" >"$out/$name.log" 2>&1; rc=$?
  tail -3 "$out/$name.log"
  grep -q "SKIPPED" "$out/$name.log" && { echo "WARNING: $name skipped tests (no GPU?)"; status=1; }
  [[ $rc -ne 0 ]] && { echo "FAIL: $name (rc $rc, see $out/$name.log)"; status=1; }
done

# ---- 2. compute-sanitizer ----
exe=$(find_exe test_linear_model_cuda)
if [[ -n "$exe" ]] && command -v compute-sanitizer >/dev/null; then
  stamp "compute-sanitizer memcheck test_linear_model_cuda"
  ZO_SANITIZER=1 timeout 300 compute-sanitizer --tool memcheck --error-exitcode 99 "$exe" \
    --gtest_filter='*n1_*:*n37_*:*n2049_*' >"$out/sanitizer.log" 2>&1
  rc=$?
  grep -E "ERROR SUMMARY|PASSED|FAILED" "$out/sanitizer.log" | tail -3
  [[ $rc -ne 0 ]] && { echo "FAIL: memcheck (rc $rc, see $out/sanitizer.log)"; status=1; }
fi

# ---- 3. benchmarks ----
bench=$(find_exe bench_linear_eval)
if [[ -n "$bench" ]]; then
  stamp "bench_linear_eval (GPU rows)"
  timeout 400 "$bench" --benchmark_filter='BM_LinearGpu' --benchmark_out="$out/bench_linear_eval.json" \
    --benchmark_out_format=json >"$out/bench_linear_eval.log" 2>&1 || { echo "bench_linear_eval rc $?"; status=1; }
  grep -E "^BM_" "$out/bench_linear_eval.log" | sed 's/\/manual_time//' | cut -c1-220
else
  echo "MISSING: bench_linear_eval under $build"; status=1
fi
bench=$(find_exe bench_libsvm)
if [[ -n "$bench" ]]; then
  stamp "bench_libsvm"
  timeout 300 "$bench" --benchmark_out="$out/bench_libsvm.json" --benchmark_out_format=json \
    >"$out/bench_libsvm.log" 2>&1 || { echo "bench_libsvm rc $?"; status=1; }
  grep -E "^BM_" "$out/bench_libsvm.log" | cut -c1-200
fi

# ---- 4. zo linear on the GPU ----
zo=$(find_exe zo)
if [[ -n "$zo" ]]; then
  stamp "zo linear (synthetic default) on the GPU"
  TIMEFORMAT='wall %R s'
  { time timeout 300 "$zo" linear --backend cuda --quiet --no-plot \
      --out "$out/linear_default.csv" >"$out/linear_default.log" 2>&1; } 2>>"$out/linear_default.log" ||
    { echo "zo linear default failed"; status=1; }
  cat "$out/linear_default.log"
  stamp "zo linear (paper size, D = 10000) on the GPU"
  { time timeout 600 "$zo" linear --backend cuda --quiet --no-plot \
      --n-train 6414 --n-test 26147 --raw-features 123 --dim 10000 \
      --out "$out/linear_d10000.csv" >"$out/linear_d10000.log" 2>&1; } 2>>"$out/linear_d10000.log" ||
    { echo "zo linear D=10000 failed"; status=1; }
  cat "$out/linear_d10000.log"
else
  echo "MISSING: zo under $build"; status=1
fi
stamp "done (status $status); results in $out"
exit $status

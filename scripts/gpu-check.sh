#!/usr/bin/env bash
# The one-command GPU check (run on the GPU machine, H100/H200):
#   1. builds zo for sm_90 in Release (or uses binaries prebuilt on a CPU machine, --prebuilt),
#   2. runs every test executable, GPU ones included,
#   3. runs the GPU tests under compute-sanitizer (memcheck; racecheck and synccheck for the
#      kernels that use shared memory or barriers),
#   4. runs every benchmark (Google Benchmark JSON) and the Python peer scripts (PyTorch / JAX),
#   5. writes everything under one folder with a summary table (summary.md).
#
# usage: scripts/gpu-check.sh [--prebuilt DIR] [--out DIR] [--skip-sanitizer] [--skip-bench]
#                             [--only-bench REGEX] [--bench-min-time SECONDS]
#
# The GPU machine has nvcc, CMake, Ninja and Python with PyTorch/JAX but no internet and no
# GoogleTest/Google Benchmark: scripts/gpu-carry.sh (run on the CPU machine first) puts the
# prebuilt binaries, libbenchmark and a GoogleTest source tree under .carry/ (git-ignored), which
# travels with the working tree. Without .carry/, the script needs GoogleTest installed.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)

prebuilt=""
out="out/gpu-check"
skip_san=0
skip_bench=0
only_bench=""
min_time="0.2"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prebuilt) prebuilt="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-sanitizer) skip_san=1; shift ;;
    --skip-bench) skip_bench=1; shift ;;
    --only-bench) only_bench="$2"; shift 2 ;;
    --bench-min-time) min_time="$2"; shift 2 ;;
    *) echo "gpu-check: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"/logs "$out"/tests "$out"/bench "$out"/sanitizer
out=$(cd "$out" && pwd)
summary="$out/summary.md"
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $*"; }

{
  echo "# zo GPU check"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || cat .carry/COMMIT 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | head -1)"
  echo "- nvcc: $(nvcc --version 2>/dev/null | tail -1)"
} >"$summary"
nvidia-smi >"$out/logs/nvidia-smi.txt" 2>&1

# Where the CUDA libraries (cuBLAS, cuRAND, cuSPARSE) live on this machine.
cuda_libdirs=""
for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda-13.0/lib64 /usr/local/cuda-13.0/lib \
         /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
  [[ -e "$d/libcublas.so.13" ]] && cuda_libdirs="$cuda_libdirs:$d"
done
if [[ -z "$cuda_libdirs" ]]; then
  hit=$(find / -xdev -name 'libcublas.so.13' 2>/dev/null | head -1)
  [[ -n "$hit" ]] && cuda_libdirs=":$(dirname "$hit")"
fi
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}$cuda_libdirs"

bindir=""
if [[ -n "$prebuilt" ]]; then
  export LD_LIBRARY_PATH="$root/$prebuilt/lib:$LD_LIBRARY_PATH"
  if "$root/$prebuilt/bin/test_philox" >"$out/logs/prebuilt-probe.log" 2>&1; then
    bindir="$root/$prebuilt/bin"
    echo "- binaries: prebuilt on the CPU machine (sm_90), from $prebuilt" >>"$summary"
  else
    stamp "prebuilt binaries do not run here (see logs/prebuilt-probe.log); building from source"
  fi
fi
if [[ -z "$bindir" ]]; then
  extra=()
  [[ -d .carry/googletest ]] && extra+=("-DZO_GTEST_SOURCE_DIR=$root/.carry/googletest")
  [[ -d .carry/benchmark-prefix ]] && extra+=("-DCMAKE_PREFIX_PATH=$root/.carry/benchmark-prefix")
  [[ -d .carry/benchmark-prefix ]] && export LD_LIBRARY_PATH="$root/.carry/benchmark-prefix/lib:$LD_LIBRARY_PATH"
  stamp "configuring build-gpu"
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DZO_WITH_CUDA=ON "${extra[@]}" >"$out/logs/configure.log" 2>&1 || { echo "configure failed" >>"$summary"; tail -30 "$out/logs/configure.log"; }
  stamp "building"
  cmake --build build-gpu -j"$(nproc)" >"$out/logs/build.log" 2>&1 || { echo "- **build failed** (logs/build.log)" >>"$summary"; tail -40 "$out/logs/build.log"; }
  mkdir -p build-gpu/allbin
  find build-gpu -type f -executable \( -name 'test_*' -o -name 'bench_*' -o -name zo \) -not -path '*/CMakeFiles/*' \
    -exec cp -f {} build-gpu/allbin/ \;
  bindir="$root/build-gpu/allbin"
  echo "- binaries: built on this machine (build-gpu)" >>"$summary"
fi
stamp "binaries in $bindir"

# ---- 2. tests ---------------------------------------------------------------------------------
echo -e "\n## Tests\n\n| test | result | passed | failed | skipped | seconds |\n|---|---|---|---|---|---|" >>"$summary"
all_ok=1
for t in "$bindir"/test_*; do
  name=$(basename "$t")
  s=$(date +%s)
  timeout 600 "$t" --gtest_output="json:$out/tests/$name.json" >"$out/logs/$name.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - s))
  counts=$(python3 - "$out/tests/$name.json" <<'PY' 2>/dev/null
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
)
  read -r np nf ns <<<"${counts:-? ? ?}"
  res=PASS; [[ $rc -ne 0 ]] && { res="**FAIL (rc $rc)**"; all_ok=0; }
  echo "| $name | $res | $np | $nf | $ns | $secs |" >>"$summary"
  stamp "$name: $res ($np passed, $nf failed, $ns skipped, ${secs}s)"
done

# ---- 3. compute-sanitizer ---------------------------------------------------------------------
if [[ $skip_san -eq 0 ]] && command -v compute-sanitizer >/dev/null; then
  echo -e "\n## compute-sanitizer\n\n| test | tool | result | errors |\n|---|---|---|---|" >>"$summary"
  # The gpu-labelled tests (from CTest); ZO_SANITIZER=1 lets tests shrink their largest sizes
  # (the sanitizer slows kernels 10-100x).
  gpu_list=""
  [[ -n "$prebuilt" && -f "$root/$prebuilt/gpu-tests.txt" ]] && gpu_list=$(cat "$root/$prebuilt/gpu-tests.txt")
  [[ -z "$gpu_list" && -d build-gpu ]] && gpu_list=$(cd build-gpu && ctest -N -L gpu | sed -n 's/^ *Test *#[0-9]*: *//p')
  for name in $gpu_list; do
    t="$bindir/$name"
    [[ -x "$t" ]] || continue
    for tool in memcheck racecheck synccheck; do
      log="$out/sanitizer/$name.$tool.log"
      ZO_SANITIZER=1 timeout 300 compute-sanitizer --tool "$tool" --error-exitcode 99 \
        --print-limit 20 "$t" >"$log" 2>&1
      rc=$?
      errs=$(grep -oE "ERROR SUMMARY: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+")
      res=clean
      [[ $rc -eq 99 ]] && { res="**errors**"; all_ok=0; }
      [[ $rc -eq 124 ]] && res="timeout (300 s)"
      [[ $rc -ne 0 && $rc -ne 99 && $rc -ne 124 ]] && res="**test failed (rc $rc)**"
      echo "| $name | $tool | $res | ${errs:-?} |" >>"$summary"
      stamp "sanitizer $tool $name: $res"
    done
  done
fi

# ---- 4. benchmarks ----------------------------------------------------------------------------
if [[ $skip_bench -eq 0 ]]; then
  echo -e "\n## Benchmarks\n" >>"$summary"
  for b in "$bindir"/bench_*; do
    name=$(basename "$b")
    [[ -n "$only_bench" && ! "$name" =~ $only_bench ]] && continue
    stamp "benchmark $name"
    timeout 600 "$b" --benchmark_min_time="$min_time" --benchmark_format=console \
      --benchmark_out="$out/bench/$name.json" --benchmark_out_format=json >"$out/logs/$name.log" 2>&1
    echo "- $name: rc $? (bench/$name.json)" >>"$summary"
  done
  for py in bench/*_peer*.py bench/*torch*.py bench/*jax*.py; do
    [[ -f "$py" ]] || continue
    name=$(basename "$py" .py)
    [[ -n "$only_bench" && ! "$name" =~ $only_bench ]] && continue
    stamp "python $name"
    PYTHONUNBUFFERED=1 timeout 600 python3 "$py" --out "$out/bench/$name.json" >"$out/logs/$name.log" 2>&1
    echo "- $name: rc $? (bench/$name.json)" >>"$summary"
  done
  if [[ -f scripts/bench_report.py ]]; then
    python3 scripts/bench_report.py "$out/bench" >>"$summary" 2>"$out/logs/bench_report.log"
  fi
fi

stamp "done"
echo -e "\n- total time: $(($(date +%s) - t0)) s; overall: $([[ $all_ok -eq 1 ]] && echo clean || echo FAILURES)" >>"$summary"
cat "$summary"
[[ $all_ok -eq 1 ]]

#!/usr/bin/env bash
# zo's GPU check: everything that needs an NVIDIA GPU, in one command, with a deadline.
# Run `scripts/gpu-check.sh --help` for the usage; docs/cuda-backend.md ("GPU check") explains
# what to look at in the results.
set -u

usage() {
  cat <<'EOF'
usage: scripts/gpu-check.sh [OPTIONS]                  run the checks (machine with an H100/H200)
       scripts/gpu-check.sh --prebuild DIR [OPTIONS]   build for the GPU and pack DIR (no GPU needed)

Runs zo's GPU checks and writes the results under --out (default out/gpu-check):

  tests      every GoogleTest executable registered with CTest: the `gpu`-labelled ones (ctest -L gpu)
             one after another, the CPU ones alongside; GoogleTest JSON per test
  sanitizer  compute-sanitizer (ZO_SANITIZER=1, so the tests shrink their sizes): memcheck on every
             GPU test; racecheck on the tests of kernels with shared memory (Example 2.1, RunBatch,
             sweeps, linear models, trace, device objectives); synccheck on those with barriers
             (sweeps, Stepper, linear models)
  bench      the GPU rows of the Google Benchmark executables, one at a time, each next to the
             ceiling measured in the same run (device-to-device copy, cuBLAS SGEMM, direction
             generator): bench_stepper, bench_sweep, bench_run_batch, bench_trace,
             bench_linear_eval; and bench_libsvm (CPU) for the linear area
  peers      the same problems in other frameworks on the same GPU: bench/torch_step_bench.py
             (Stepper vs PyTorch), bench/sweep_jax.py, bench/sweep_torch.py and
             bench/sweep_numpy_peer.py (sweep)
  e2e        end-to-end CLI runs on the GPU: the Figure 1 sweep (1000 runs x 10^5 steps) compared
             byte for byte with the table computed on the CPU; the 4096 x 10^5 sweep target;
             `zo linear` with its synthetic defaults and at the paper's size (6414/26147 samples,
             123 raw features, D = 10000); `zo trace` on the paper-sized logistic model
  reports    (always, from what was measured) summary.md, sweep_report.md
             (scripts/sweep_bench_table.py), stepper_report.md/.png (scripts/bench_table.py)

Areas (for --only/--skip): core (device memory, directions, backend selection), batch (RunBatch,
Example 2.1), stepper, sweep, linear (linear models, LIBSVM, user objectives), trace.

Binaries:
  (default)           configure and build a Release tree for the GPU in --build-dir, then run
  --build-dir DIR     build tree (default build-gpu)
  --no-build          use --build-dir as it is, without configuring or building
  --arch LIST         CMAKE_CUDA_ARCHITECTURES (default 90: H100/H200)
  --prebuild DIR      on a machine with the CUDA toolkit, GoogleTest and Google Benchmark (no GPU
                      needed): build, then pack into DIR the test/benchmark/CLI executables, libzo,
                      the small shared libraries they need, the CTest test lists, a GoogleTest
                      source tree and a Google Benchmark prefix; then exit. Copy DIR to the GPU
                      machine together with the checkout (the scripts run from the checkout)
  --prebuilt DIR      use the executables packed by --prebuild; if they do not run on this
                      machine, build from source here, using DIR's GoogleTest and Google Benchmark
                      when the system has none

Selection and limits:
  --only LIST         comma-separated phases (tests, sanitizer, bench, peers, e2e) and/or areas
                      (core, batch, stepper, sweep, linear, trace): a phase word restricts the
                      phases, an area word the areas. E.g. --only sweep, --only linear,
                      --only tests,sanitizer, --only bench,stepper
  --skip LIST         the same words, left out (--skip-sanitizer, --skip-bench, --skip-peers are
                      short for --skip sanitizer, bench, peers)
  --all-rows          run the benchmarks without their GPU-row filters (CPU rows too; slower)
  --deadline SECONDS  the whole run, build included, ends by then (default 1800): every step gets
                      a timeout that fits; steps that would start too late are reported as not
                      run. Tests and sanitizer get at most 40% of the time left once the binaries
                      are ready, so benchmarks, peers and end-to-end runs always get a turn
  --out DIR           results (default out/gpu-check): summary.md, logs/, tests/, sanitizer/,
                      bench/, e2e/, the reports
  --tar FILE          also write a .tar.gz of --out after each phase (results survive a kill)
  -h, --help          this text

Exit status: 0 when every test and sanitizer run that ran is clean and the GPU sweep table equals
the CPU's; 1 when something failed (see summary.md); 2 for a usage error.

Needs on the GPU machine: the NVIDIA driver and the CUDA runtime libraries (toolkit, or pip
wheels such as PyTorch's; they are searched for), python3; compute-sanitizer for the sanitizer
phase; PyTorch and JAX with GPU support for the peers (a missing framework is reported, not fatal).
Building there also needs nvcc, CMake and Ninja, plus GoogleTest and Google Benchmark (or a
--prebuilt DIR that carries them).

Examples:
  bash scripts/gpu-check.sh                                    # build here and run everything
  bash scripts/gpu-check.sh --prebuild out/gpu-prebuilt        # no GPU here: prepare the binaries
  bash scripts/gpu-check.sh --prebuilt out/gpu-prebuilt --deadline 560 --tar out/gpu-check.tgz
  bash scripts/gpu-check.sh --build-dir build-gpu --no-build --only sweep
EOF
}

cd "$(dirname "$0")/.." || exit 2
root=$(pwd)

# ---- options ------------------------------------------------------------------------------------
phases_all="tests sanitizer bench peers e2e"
areas_all="core batch stepper sweep linear trace"
prebuild="" prebuilt="" build="build-gpu" no_build=0 arch=90 out="out/gpu-check" deadline=1800
tarball="" all_rows=0 only="" skip=""
need_arg() { [[ $# -ge 2 && -n "$2" ]] || { echo "gpu-check: $1 needs a value (see --help)" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --prebuild) need_arg "$@"; prebuild="$2"; shift 2 ;;
    --prebuilt) need_arg "$@"; prebuilt="$2"; shift 2 ;;
    --build-dir) need_arg "$@"; build="$2"; shift 2 ;;
    --no-build) no_build=1; shift ;;
    --arch) need_arg "$@"; arch="$2"; shift 2 ;;
    --out) need_arg "$@"; out="$2"; shift 2 ;;
    --deadline) need_arg "$@"; deadline="$2"; shift 2 ;;
    --tar) need_arg "$@"; tarball="$2"; shift 2 ;;
    --only) need_arg "$@"; only="$only,$2"; shift 2 ;;
    --skip) need_arg "$@"; skip="$skip,$2"; shift 2 ;;
    --skip-sanitizer) skip="$skip,sanitizer"; shift ;;
    --skip-bench) skip="$skip,bench"; shift ;;
    --skip-peers) skip="$skip,peers"; shift ;;
    --all-rows) all_rows=1; shift ;;
    *) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$deadline" =~ ^[0-9]+$ ]] || { echo "gpu-check: --deadline takes whole seconds" >&2; exit 2; }
[[ -n "$prebuild" && -n "$prebuilt" ]] && { echo "gpu-check: --prebuild and --prebuilt exclude each other" >&2; exit 2; }

# Phases and areas selected by --only / --skip.
sel_phases="" sel_areas=""
for w in ${only//,/ }; do
  if [[ " $phases_all " == *" $w "* ]]; then sel_phases="$sel_phases $w"
  elif [[ " $areas_all " == *" $w "* ]]; then sel_areas="$sel_areas $w"
  else echo "gpu-check: --only: unknown word '$w' (phases: $phases_all; areas: $areas_all)" >&2; exit 2; fi
done
[[ -z "$sel_phases" ]] && sel_phases="$phases_all"
[[ -z "$sel_areas" ]] && sel_areas="$areas_all"
for w in ${skip//,/ }; do
  if [[ " $phases_all " == *" $w "* ]]; then sel_phases=" ${sel_phases} "; sel_phases="${sel_phases// $w / }"
  elif [[ " $areas_all " == *" $w "* ]]; then sel_areas=" ${sel_areas} "; sel_areas="${sel_areas// $w / }"
  else echo "gpu-check: --skip: unknown word '$w' (phases: $phases_all; areas: $areas_all)" >&2; exit 2; fi
done
sel_phases=" $(echo $sel_phases) " sel_areas=" $(echo $sel_areas) "
phase_on() { [[ "$sel_phases" == *" $1 "* ]]; }
area_on() { [[ "$sel_areas" == *" $1 "* ]]; }
# The area of a test, benchmark or peer, by name (new tests land in `core` until listed here).
area_of() {
  case "$1" in
    test_stepper*|bench_stepper|torch_step_bench) echo stepper ;;
    test_fused*|test_sweep*|bench_sweep|sweep_*) echo sweep ;;
    test_linear*|test_libsvm*|test_classification_data|test_callback_objective|test_device_objective|\
      bench_linear_eval|bench_libsvm) echo linear ;;
    test_trace*|bench_trace) echo trace ;;
    test_run_batch*|test_example21*|test_trajectory*|test_estimator|test_balancedness|bench_run_batch) echo batch ;;
    *) echo core ;;
  esac
}
wanted() { phase_on "$1" && area_on "$(area_of "$2")"; }  # <phase> <name>

abspath() { mkdir -p "$1" && (cd "$1" && pwd); }
configure_and_build() {  # <build dir> <log dir> [extra cmake args...]
  local dir=$1 logs=$2; shift 2
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DZO_WITH_CUDA=ON "$@" >"$logs/configure.log" 2>&1 || { tail -30 "$logs/configure.log"; return 1; }
  cmake --build "$dir" -j"$(nproc)" >"$logs/build.log" 2>&1 || { tail -40 "$logs/build.log"; return 1; }
}
# CTest test names (all, or with a label) of a configured build tree.
ctest_names() { (cd "$1" && ctest -N "${@:2}") | sed -n 's/^ *Test *#[0-9]*: *//p'; }
# Executables of a build tree: test_*, bench_* and the zo CLI, outside CMake's and the examples'
# scratch folders.
find_executables() {
  find "$1" -type f -executable \( -name 'test_*' -o -name 'bench_*' -o -name zo \) \
    -not -path '*/CMakeFiles/*' -not -path '*_work/*' 2>/dev/null
}

# The CMake package folder of the system's Google Benchmark, if any.
system_benchmark_config() {
  local d
  for d in /usr/lib/*/cmake/benchmark /usr/lib/cmake/benchmark /usr/lib64/cmake/benchmark \
           /usr/local/lib/*/cmake/benchmark /usr/local/lib/cmake/benchmark; do
    [[ -f "$d/benchmarkConfig.cmake" ]] && { echo "$d"; return; }
  done
}

# ---- --prebuild DIR: build here and pack what a GPU machine without GoogleTest/Benchmark needs ----
if [[ -n "$prebuild" ]]; then
  set -e
  command -v nvcc >/dev/null || { echo "gpu-check --prebuild: needs nvcc (the CUDA toolkit)" >&2; exit 1; }
  mkdir -p "$build"
  build=$(abspath "$build")
  rm -rf "$prebuild"
  mkdir -p "$prebuild"/bin "$prebuild"/lib "$prebuild"/logs
  prebuild=$(abspath "$prebuild")
  echo "gpu-check --prebuild: configure and build $build (sm_$arch, Release)"
  configure_and_build "$build" "$prebuild/logs"
  find_executables "$build" | while read -r f; do cp -f "$f" "$prebuild/bin/"; done
  strip --strip-unneeded "$prebuild"/bin/* 2>/dev/null || true
  # libzo under its SONAME, and the small shared libraries the executables link (Google
  # Benchmark, GoogleTest when shared, OpenMP); the CUDA libraries come from the GPU machine.
  lib=$(find "$build" -name 'libzo.so*' -type f -not -path '*_work/*' | head -1)
  [[ -n "$lib" ]] || { echo "gpu-check --prebuild: libzo.so not found under $build" >&2; exit 1; }
  soname=$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
  cp -L "$lib" "$prebuild/lib/${soname:-$(basename "$lib")}"
  for f in "$prebuild"/bin/*; do ldd "$f" 2>/dev/null; done |
    awk '$2 == "=>" && $3 ~ /\/lib(benchmark|gtest|gmock|gomp)[^\/]*$/ {print $3}' | sort -u |
    while read -r l; do cp -L "$l" "$prebuild/lib/"; done
  strip --strip-unneeded "$prebuild"/lib/* 2>/dev/null || true
  ctest_names "$build" -L gpu >"$prebuild/gpu-tests.txt"
  ctest_names "$build" >"$prebuild/tests.txt"
  git -C "$root" rev-parse --short HEAD >"$prebuild/COMMIT" 2>/dev/null || echo unknown >"$prebuild/COMMIT"
  echo "$arch" >"$prebuild/ARCH"
  # A GoogleTest source tree and a Google Benchmark prefix, so the GPU machine can also build from
  # source (the fallback when these executables do not run there).
  for d in /usr/src/googletest /usr/src/gtest; do
    [[ -f "$d/CMakeLists.txt" ]] && { cp -r "$d" "$prebuild/googletest"; break; }
  done
  cfg=$(system_benchmark_config)
  if [[ -n "$cfg" ]]; then
    # Mirror the installed layout (prefix/include, prefix/<libdir>, prefix/<libdir>/cmake/benchmark):
    # the CMake package files locate the library relative to their own folder.
    libdir=$(dirname "$(dirname "$cfg")")
    p=$libdir
    while [[ "$p" != / && ! -d "$p/include/benchmark" ]]; do p=$(dirname "$p"); done
    [[ "$p" == / ]] && cfg=""
  fi
  if [[ -n "$cfg" ]]; then
    rel=${libdir#"$p"/}
    bp="$prebuild/benchmark-prefix"
    mkdir -p "$bp/include" "$bp/$rel/cmake"
    cp -r "$p/include/benchmark" "$bp/include/"
    cp -a "$libdir"/libbenchmark* "$bp/$rel/"
    cp -r "$cfg" "$bp/$rel/cmake/"
  fi
  set +e
  echo "gpu-check --prebuild: $(du -sh "$prebuild" | cut -f1) in $prebuild ($(ls "$prebuild/bin" | wc -l) executables;" \
    "gpu tests: $(tr '\n' ' ' <"$prebuild/gpu-tests.txt"))"
  [[ -d "$prebuild/googletest" ]] || echo "gpu-check --prebuild: no GoogleTest source tree found (libgtest-dev / googletest): no build fallback"
  [[ -d "$prebuild/benchmark-prefix" ]] || echo "gpu-check --prebuild: no Google Benchmark CMake package found: no build fallback"
  echo "next, on the GPU machine: bash scripts/gpu-check.sh --prebuilt <this folder> [--deadline S] [--tar FILE]"
  exit 0
fi

# ---- the checks -----------------------------------------------------------------------------------
# Results of an earlier run in the same folder are replaced.
rm -rf "$out"/logs "$out"/tests "$out"/bench "$out"/sanitizer "$out"/e2e "$out"/summary.md \
  "$out"/sweep_report.md "$out"/stepper_report.*
mkdir -p "$out"/logs "$out"/tests "$out"/bench "$out"/sanitizer "$out"/e2e
out=$(abspath "$out")
[[ -n "$prebuilt" ]] && { [[ -d "$prebuilt" ]] || { echo "gpu-check: --prebuilt $prebuilt: no such folder" >&2; exit 2; }; prebuilt=$(abspath "$prebuilt"); }
[[ -n "$tarball" ]] && { mkdir -p "$(dirname "$tarball")"; tarball="$(abspath "$(dirname "$tarball")")/$(basename "$tarball")"; }
summary="$out/summary.md"
t0=$(date +%s)
elapsed() { echo $(($(date +%s) - t0)); }
stamp() { echo "[$(elapsed)s] $*"; }
# step_timeout <wanted seconds>: the timeout a step may use before the current phase's end or the
# deadline; 0 means too little time is left, so the step is not run.
phase_end=$deadline
step_timeout() {
  local end=$deadline left
  ((phase_end < end)) && end=$phase_end
  left=$((end - $(elapsed)))
  ((left < 10)) && { echo 0; return; }
  ((left < $1)) && echo "$left" || echo "$1"
}
pack() { [[ -n "$tarball" ]] && tar czf "$tarball" -C "$(dirname "$out")" "$(basename "$out")" 2>/dev/null; true; }
for d in /usr/local/cuda/bin /usr/local/cuda/compute-sanitizer /usr/local/cuda-*/bin \
         /usr/local/cuda-*/compute-sanitizer /opt/nvidia/nsight-compute/*; do
  [[ -x "$d/compute-sanitizer" ]] && { export PATH="$PATH:$d"; break; }
done
export OMP_WAIT_POLICY=PASSIVE ZO_SCRIPTS_DIR="$root/scripts" PYTHONUNBUFFERED=1

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "# zo GPU check"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- commit: $commit$([[ -n "$prebuilt" && -f "$prebuilt/COMMIT" ]] && echo " (prebuilt executables from $(cat "$prebuilt/COMMIT"))")"
  echo "- device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
  echo "- host: $(nproc) CPU cores; nvcc: $(nvcc --version 2>/dev/null | tail -1)"
  echo "- phases:$sel_phases; areas:$sel_areas; deadline $deadline s"
} >"$summary"
nvidia-smi >"$out/logs/nvidia-smi.txt" 2>&1 || stamp "nvidia-smi failed: is there a GPU? (logs/nvidia-smi.txt)"

# ---- 1. executables ------------------------------------------------------------------------------
index="$out/logs/executables.txt"  # name <TAB> path
gpu_tests="" all_tests=""
if [[ -n "$prebuilt" ]]; then
  export LD_LIBRARY_PATH="$prebuilt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# Shared libraries the executables cannot find (the CUDA libraries of this machine: toolkit,
# driver folder or pip wheels) are searched for and put on LD_LIBRARY_PATH.
find_missing_libs() {  # <files...>
  local missing hit dir lib found_dirs="" progress _
  for _ in 1 2 3; do
    missing=$(for f in "$@"; do ldd "$f" 2>/dev/null; done | awk '/not found/ {print $1}' | sort -u)
    [[ -z "$missing" ]] && return 0
    progress=0
    for lib in $missing; do
      hit=""
      for dir in /usr/local/cuda/lib64 /usr/local/cuda/targets/*/lib /usr/local/cuda-*/lib64 \
                 /usr/local/cuda-*/targets/*/lib /usr/lib/x86_64-linux-gnu /usr/lib64; do
        [[ -e "$dir/$lib" ]] && { hit="$dir/$lib"; break; }
      done
      [[ -z "$hit" ]] && hit=$(find / -xdev -name "$lib" -not -path '/proc/*' 2>/dev/null | head -1)
      dir=$(dirname "$hit")
      if [[ -n "$hit" && ":${LD_LIBRARY_PATH:-}:" != *":$dir:"* ]]; then
        export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir"
        found_dirs="$found_dirs $dir"; progress=1
      fi
    done
    ((progress)) || break
  done
  missing=$(for f in "$@"; do ldd "$f" 2>/dev/null; done | awk '/not found/ {print $1}' | sort -u)
  [[ -n "$missing" ]] && stamp "shared libraries not found: $(echo $missing)"
  [[ -n "$found_dirs" ]] && stamp "library folders added:$found_dirs"
  return 0
}

use_prebuilt=0
if [[ -n "$prebuilt" ]]; then
  find_missing_libs "$prebuilt"/bin/* "$prebuilt"/lib/libzo*
  probe=$(ls "$prebuilt"/bin/test_philox "$prebuilt"/bin/test_* 2>/dev/null | head -1)
  if [[ -n "$probe" ]] && "$probe" >"$out/logs/prebuilt-probe.log" 2>&1; then
    use_prebuilt=1
    find_executables "$prebuilt/bin" | while read -r f; do printf '%s\t%s\n' "$(basename "$f")" "$f"; done >"$index"
    gpu_tests=$(tr '\n' ' ' <"$prebuilt/gpu-tests.txt")
    all_tests=$(tr '\n' ' ' <"$prebuilt/tests.txt")
    echo "- executables: prebuilt for sm_$(cat "$prebuilt/ARCH" 2>/dev/null || echo '?') (--prebuilt)" >>"$summary"
  else
    stamp "the prebuilt executables do not run here (logs/prebuilt-probe.log); building from source"
    tail -20 "$out/logs/prebuilt-probe.log"
  fi
fi
if ((use_prebuilt == 0)); then
  mkdir -p "$build"
  build=$(abspath "$build")
  if ((no_build == 0)); then
    extra=()
    if [[ -n "$prebuilt" && -d "$prebuilt/googletest" ]]; then
      extra+=("-DZO_GTEST_SOURCE_DIR=$prebuilt/googletest")
    fi
    cfg=""
    if [[ -n "$prebuilt" && -z "$(system_benchmark_config)" ]]; then
      cfg=$(find "$prebuilt/benchmark-prefix" -name benchmarkConfig.cmake 2>/dev/null | head -1)
    fi
    if [[ -n "$cfg" ]]; then
      extra+=("-Dbenchmark_DIR=$(dirname "$cfg")")
      dir=$(dirname "$(dirname "$(dirname "$cfg")")")
      export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    stamp "configure + build $build (sm_$arch, Release)"
    if ! configure_and_build "$build" "$out/logs" "${extra[@]}"; then
      echo "- **build failed** (logs/configure.log, logs/build.log)" >>"$summary"
    fi
  fi
  find_executables "$build" | while read -r f; do printf '%s\t%s\n' "$(basename "$f")" "$f"; done >"$index"
  gpu_tests=$(ctest_names "$build" -L gpu | tr '\n' ' ')
  all_tests=$(ctest_names "$build" | tr '\n' ' ')
  mapfile -t exes < <(cut -f2 "$index")
  ((${#exes[@]})) && find_missing_libs "${exes[@]}"
  echo "- executables: built in $build" >>"$summary"
fi
exe() { awk -F'\t' -v n="$1" '$1 == n {print $2; exit}' "$index"; }
# The CTest tests that are GoogleTest executables (not the CLI scripts or the packaging test), in
# the selected areas; GPU ones and CPU ones.
run_gpu="" run_cpu=""
for n in $all_tests; do
  [[ -n "$(exe "$n")" ]] || continue
  area_on "$(area_of "$n")" || continue
  if [[ " $gpu_tests " == *" $n "* ]]; then run_gpu="$run_gpu $n"; else run_cpu="$run_cpu $n"; fi
done
stamp "executables ready ($(wc -l <"$index") found; GPU tests:$run_gpu)"
[[ -z "$(cut -f1 "$index")" ]] && { echo "- **no executables found**" >>"$summary"; cat "$summary"; exit 1; }
ready=$(elapsed)
all_ok=1 warn=0

# ---- 2. tests, the CPU tests alongside, and compute-sanitizer --------------------------------------
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
run_test() {  # <name> <wanted timeout>; writes tests/<name>.rc: "<rc> <seconds>" or "skipped"
  local name=$1 t s
  t=$(step_timeout "$2"); ((t == 0)) && { echo skipped >"$out/tests/$name.rc"; return; }
  s=$(date +%s)
  timeout "$t" "$(exe "$name")" --gtest_output="json:$out/tests/$name.json" >"$out/logs/$name.log" 2>&1
  echo "$? $(($(date +%s) - s))" >"$out/tests/$name.rc"
}
sanitize() {  # <tool> <name>
  local tool=$1 name=$2 t
  t=$(step_timeout 150); ((t == 0)) && { echo skipped >"$out/sanitizer/$name.$tool.rc"; return; }
  ZO_SANITIZER=1 timeout "$t" compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 20 \
    "$(exe "$name")" >"$out/sanitizer/$name.$tool.log" 2>&1
  echo $? >"$out/sanitizer/$name.$tool.rc"
}
export -f run_test sanitize step_timeout elapsed exe
export out t0 deadline index

later=0
for p in bench peers e2e; do phase_on "$p" && later=1; done
# Tests and sanitizer may use at most 40% of the time left, when later phases are selected.
((later)) && phase_end=$((ready + (deadline - ready) * 2 / 5))
export phase_end
san_ran=0
if phase_on tests || phase_on sanitizer; then
  stamp "phase 1: tests (GPU in sequence, CPU alongside) and compute-sanitizer (until ${phase_end}s)"
  pids=()
  if phase_on tests; then
    ( for n in $run_gpu; do run_test "$n" 200; done ) &
    pids+=($!)
    # CPU tests: 4 OpenMP threads each, as many at once as leave 4 cores to the GPU tests.
    njobs=$(( ($(nproc) - 4) / 4 )); ((njobs < 1)) && njobs=1
    ( for n in $run_cpu; do echo "$n"; done | OMP_NUM_THREADS=4 xargs -P "$njobs" -I{} bash -c 'run_test {} 240' ) &
    pids+=($!)
  fi
  if phase_on sanitizer; then
    if command -v compute-sanitizer >/dev/null; then
      san_ran=1
      ( { for n in $run_gpu; do echo "memcheck $n"; done
          for n in $run_gpu; do case $n in *example21*|*run_batch*|*sweep*|*linear*|*trace*|*device_objective*) echo "racecheck $n";; esac; done
          for n in $run_gpu; do case $n in *sweep*|*stepper_cuda|*linear*) echo "synccheck $n";; esac; done
        } | xargs -P 3 -L 1 bash -c 'sanitize "$0" "$1"' ) &
      pids+=($!)
    else
      echo "- compute-sanitizer: **not found** (CUDA toolkit's compute-sanitizer folder not on PATH)" >>"$summary"
      warn=1
    fi
  fi
  ((${#pids[@]})) && wait "${pids[@]}"
fi

if phase_on tests; then
  echo -e "\n## Tests\n\n| test | kind | result | passed | failed | skipped | seconds |\n|---|---|---|---|---|---|---|" >>"$summary"
  for n in $run_gpu $run_cpu; do
    kind=cpu; [[ " $run_gpu " == *" $n "* ]] && kind=gpu
    read -r rc secs <"$out/tests/$n.rc" 2>/dev/null || rc=missing
    if [[ "$rc" == skipped || "$rc" == missing ]]; then
      echo "| $n | $kind | not run (deadline) | | | | |" >>"$summary"; all_ok=0; continue
    fi
    read -r np nf ns <<<"$(gtest_counts "$out/tests/$n.json")"
    res=PASS; [[ $rc -ne 0 ]] && { res="**FAIL (rc $rc)**"; all_ok=0; }
    [[ $kind == gpu && "$ns" != "0" && "$ns" != "?" ]] && { res="$res, **$ns skipped**"; warn=1; }
    echo "| $n | $kind | $res | $np | $nf | $ns | $secs |" >>"$summary"
  done
fi
if ((san_ran)); then
  echo -e "\n## compute-sanitizer (ZO_SANITIZER=1 sizes)\n\n| test | tool | result | errors reported |\n|---|---|---|---|" >>"$summary"
  for f in "$out"/sanitizer/*.rc; do
    [[ -f "$f" ]] || continue
    base=$(basename "$f" .rc); n=${base%.*}; tool=${base##*.}
    rc=$(cat "$f"); log="$out/sanitizer/$base.log"
    errs=$(grep -oE "ERROR SUMMARY: [0-9]+" "$log" 2>/dev/null | tail -1 | grep -oE "[0-9]+")
    case "$rc" in
      0) res=clean ;;
      99) res="**errors**"; all_ok=0 ;;
      124) res="timeout"; warn=1 ;;
      skipped) res="not run (deadline)"; warn=1 ;;
      *) res="**test failed under the tool (rc $rc)**"; all_ok=0 ;;
    esac
    echo "| $n | $tool | $res | ${errs:-?} |" >>"$summary"
  done
fi
stamp "phase 1 done"
phase_end=$deadline
export phase_end
pack

# ---- 3. benchmarks (one at a time: the GPU is not shared) and peers, most important first ------------
bench() {  # <name> <wanted timeout> <GPU-row filter> [extra flags...]
  local name=$1 want=$2 filter=$3 t path flags=(); shift 3
  wanted bench "$name" || return 0
  [[ $all_rows -eq 1 ]] && filter=""
  [[ -n "$filter" ]] && flags+=("--benchmark_filter=$filter")
  path=$(exe "$name")
  [[ -n "$path" ]] || { echo "- $name: **missing** (not built?)" >>"$summary"; warn=1; return; }
  t=$(step_timeout "$want")
  ((t == 0)) && { echo "- $name: not run (deadline)" >>"$summary"; return; }
  stamp "bench $name (filter '${filter:-all}', timeout ${t}s)"
  timeout "$t" "$path" "${flags[@]}" --benchmark_out="$out/bench/$name.json" \
    --benchmark_out_format=json "$@" >"$out/logs/$name.log" 2>&1
  local rc=$?
  echo "- $name (filter \`${filter:-all}\`): rc $rc → bench/$name.json" >>"$summary"
  ((rc == 0)) || warn=1
}
peer() {  # <name> <wanted timeout> <args...>
  local name=$1 want=$2 t; shift 2
  wanted peers "$name" || return 0
  t=$(step_timeout "$want")
  ((t == 0)) && { echo "- $name: not run (deadline)" >>"$summary"; return; }
  stamp "peer $name (timeout ${t}s)"
  timeout "$t" python3 "$root/bench/$name.py" "$@" >"$out/logs/$name.log" 2>&1
  echo "- $name: rc $? (logs/$name.log; JSON in bench/)" >>"$summary"
}
if phase_on bench || phase_on peers; then
  echo -e "\n## Benchmarks and peers\n" >>"$summary"
  bench bench_stepper 120 'cuda|copy_d2d|baseline'
  peer torch_step_bench 90 --out "$out/bench/torch_step.json" --min-log2 20 --max-log2 28
  bench bench_sweep 90 'gpu:1|Target'
  peer sweep_jax 90 --out "$out/bench/sweep_jax.json" --seconds 8
  peer sweep_torch 60 --out "$out/bench/sweep_torch.json" --seconds 8
  pack
  bench bench_run_batch 70 'Copy|Cuda'
  bench bench_trace 60 'Ceiling|gpu:1'
  bench bench_linear_eval 50 'Gpu'
  pack
  peer sweep_numpy_peer 40 --out "$out/bench/sweep_numpy_peer.json" --seconds 8
  bench bench_libsvm 60 ''
  pack
fi

# ---- 4. end-to-end CLI runs on the GPU ------------------------------------------------------------
# SHA-256 of the Figure 1 table (100 seeds x 10 configurations, d = 100, 10^5 steps, 100 log
# points) computed by the fused engine on the CPU (docs/sweeps.md); the GPU must reproduce it byte
# for byte. It changes only if the table format or the fused engine's arithmetic changes.
fig1_sha256=1ad8f8f573c111ab7c1c52e2c248e397525783d2e80e5fafb8d7622def57a14a
timed() {  # <log> <wanted timeout> <command...>: sets rc, secs (rc = skipped when out of time)
  local log=$1 t s; t=$(step_timeout "$2"); shift 2
  ((t == 0)) && { rc=skipped secs=0; return; }
  s=$(date +%s.%N)
  timeout "$t" "$@" >"$log" 2>&1
  rc=$?
  secs=$(awk -v s="$s" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
}
e2e_line() {  # <description> [extra text]: a timeout is a warning, another failure a failure
  case "$rc" in
    skipped) echo "- $1: not run (deadline)" >>"$summary" ;;
    124) echo "- $1: **timed out** after $secs s" >>"$summary"; warn=1 ;;
    0) echo "- $1: $secs s end to end${2:+; $2}" >>"$summary" ;;
    *) echo "- $1: **failed (rc $rc)** after $secs s (see logs/)" >>"$summary"; all_ok=0 ;;
  esac
}
e2e_tail() {  # <log>: its last lines, as a code block
  [[ -s "$1" ]] && { echo '  ```'; tail -12 "$1" | sed 's/^/  /'; echo '  ```'; } >>"$summary"
  true
}
zo=$(exe zo)
sweep_e2e=""
if phase_on e2e; then
  echo -e "\n## End-to-end runs on the GPU\n" >>"$summary"
  if [[ -z "$zo" ]]; then
    echo "- zo CLI: **missing** (not built?)" >>"$summary"; all_ok=0
  else
    if area_on sweep; then
      stamp "zo sweep: Figure 1 (1000 runs x 10^5 steps) on the GPU"
      timed "$out/logs/fig1_gpu.log" 120 "$zo" sweep --seeds 0:100 \
        --lambdas 0.2,0.1,0.07,0.05,0.03,0.02,0.01,0.005 --steps 100000 --log-points 100 \
        --backend cuda --no-plot --quiet --out "$out/e2e/fig1_gpu.csv"
      sha=$(sha256sum "$out/e2e/fig1_gpu.csv" 2>/dev/null | cut -d' ' -f1)
      same=no; [[ "$sha" == "$fig1_sha256" ]] && same=yes
      [[ "$rc" == 0 && $same == no ]] && all_ok=0
      e2e_line "\`zo sweep\` Figure 1 (1000 runs × 10^5 steps, 100 log points)" \
        "table byte-identical to the CPU's: **$same** (sha256 ${sha:-none})"
      sweep_e2e="$(tail -1 "$summary")"
      stamp "zo sweep: target K = 4096 x 10^5 steps on the GPU"
      timed "$out/logs/target_gpu.log" 120 "$zo" sweep --seeds 0:4096 --methods zo --lambdas 0.1 \
        --steps 100000 --log-points 100 --backend cuda --no-plot --quiet --out "$out/e2e/target_gpu.csv"
      rows=$(($(wc -l 2>/dev/null <"$out/e2e/target_gpu.csv" || echo 1) - 1))
      e2e_line "\`zo sweep\` target (4096 runs × 10^5 steps, 100 log points)" "CSV of $rows rows"
      sweep_e2e="$sweep_e2e"$'\n'"$(tail -1 "$summary")"
      rm -f "$out/e2e/target_gpu.csv"
    fi
    if area_on linear; then
      stamp "zo linear, paper size (a5a-shaped synthetic data, D = 10000) on the GPU"
      timed "$out/logs/linear_d10000.log" 240 "$zo" linear --backend cuda --quiet --no-plot \
        --n-train 6414 --n-test 26147 --raw-features 123 --dim 10000 --out "$out/e2e/linear_d10000.csv"
      e2e_line "\`zo linear\` (6414/26147 samples, D = 10000, 10^4 iterations, GD + ZO, SVM + logistic)"
      e2e_tail "$out/logs/linear_d10000.log"
      stamp "zo linear, synthetic defaults, on the GPU"
      timed "$out/logs/linear_default.log" 90 "$zo" linear --backend cuda --quiet --no-plot \
        --out "$out/e2e/linear_default.csv"
      e2e_line "\`zo linear\` defaults (compare with the CPU table in docs/linear-models.md)"
      e2e_tail "$out/logs/linear_default.log"
    fi
    if area_on trace; then
      stamp "zo trace, logistic model at the paper's size, on the GPU"
      timed "$out/logs/trace_logistic.log" 90 "$zo" trace --objective logistic --n-train 6414 \
        --raw-features 123 --dim 10000 --probes 1000 --backend cuda --out "$out/e2e/trace_logistic.csv"
      e2e_line "\`zo trace\` logistic, N = 6414, D = 10001, m = 1000 probes, every estimator"
      e2e_tail "$out/logs/trace_logistic.log"
    fi
  fi
  pack
fi

# ---- 5. reports ----------------------------------------------------------------------------------
machine="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), $(nproc) CPU cores"
reports=""
if [[ -f "$out/bench/bench_sweep.json" || -n "$sweep_e2e" ]]; then
  peers=()
  for p in sweep_torch sweep_jax sweep_numpy_peer; do
    [[ -f "$out/bench/$p.json" ]] && peers+=("$out/bench/$p.json")
  done
  args=()
  [[ -f "$out/bench/bench_sweep.json" ]] && args+=("$out/bench/bench_sweep.json")
  python3 "$root/scripts/sweep_bench_table.py" "${args[@]}" --peers "${peers[@]}" --machine "$machine" \
    --out "$out/sweep_report.md" >"$out/logs/sweep_report.log" 2>&1
  [[ -n "$sweep_e2e" ]] && printf '\n## zo sweep end to end\n\n%s\n' "$sweep_e2e" >>"$out/sweep_report.md"
  reports="$reports sweep_report.md"
fi
if [[ -f "$out/bench/bench_stepper.json" ]]; then
  targs=()
  [[ -f "$out/bench/torch_step.json" ]] && targs+=(--torch "$out/bench/torch_step.json")
  python3 "$root/scripts/bench_table.py" "$out/bench/bench_stepper.json" "${targs[@]}" \
    --out "$out/stepper_report" >"$out/logs/stepper_report.log" 2>&1
  reports="$reports stepper_report.md"
fi
[[ -n "$reports" ]] && echo -e "\n## Reports\n\n$(for r in $reports; do echo "- $r"; done)" >>"$summary"

if ((all_ok)); then
  ((warn)) && verdict="no failures, but see the warnings above (skipped GPU cases, timeouts, missing parts)" \
           || verdict="clean"
else
  verdict="**FAILURES (see above)**"
fi
echo -e "\n- total: $(elapsed) s of $deadline s; overall: $verdict" >>"$summary"
pack
cat "$summary"
for f in "$out"/tests/*.rc; do
  [[ -f "$f" ]] || continue
  n=$(basename "$f" .rc); read -r rc _ <"$f"
  [[ "$rc" != 0 && "$rc" != skipped ]] && { echo "---- tail of logs/$n.log"; tail -25 "$out/logs/$n.log"; }
done
((all_ok)) && exit 0 || exit 1

#!/usr/bin/env bash
# The GPU check of the sweep work (issue 6), in one go, on the GPU machine (H100/H200):
#   1. GPU tests: test_fused_example21_cuda, test_sweep_cuda (and the CPU-side group simulation)
#   2. bench_sweep (Google Benchmark JSON)
#   3. the peers: bench/sweep_torch.py, bench/sweep_jax.py, bench/sweep_numpy_peer.py
#   4. scripts/sweep_bench_table.py -> report.md (config-steps/s over K, ceiling, target ratios)
#   5. `zo sweep` on the GPU: the Figure-1 sweep of docs/sweeps.md (compared byte for byte with
#      the table computed on the CPU) and the target K = 4096 x 10^5 end to end, both timed.
#
# usage: scripts/sweep_gpu_check.sh [BUILD_DIR (default build-gpu)] [OUT_DIR (default out/sweep-gpu)]
# BUILD_DIR may be a build tree or a flat folder of executables (e.g. build-gpu/allbin).
# Takes about 4-6 minutes after the build; every step has a time limit.
set -u
cd "$(dirname "$0")/.."
build="${1:-build-gpu}"
out="${2:-out/sweep-gpu}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0))s] $*"; }
find_exe() { find "$build" -type f -executable -name "$1" -not -path '*/CMakeFiles/*' 2>/dev/null | head -1; }
status=0

# SHA-256 of the Figure-1 table (100 seeds x 10 configs, d = 100, 10^5 steps) computed by the
# fused engine on the CPU (see docs/sweeps.md); the GPU must reproduce it byte for byte.
fig1_sha256="71d0c128ed16b279ce94dae4a74ab2558f6d265441db02595e8e202a5096f24e"
fig1_args=(--seeds 0:100 --lambdas 0.2,0.1,0.07,0.05,0.03,0.02,0.01,0.005 --steps 100000
           --log-points 100)

# ---- 1. tests ----
for name in test_fused_example21_cuda test_sweep_cuda test_fused_groups; do
  exe=$(find_exe "$name")
  if [[ -z "$exe" ]]; then echo "MISSING: $name under $build"; status=1; continue; fi
  stamp "$name"
  timeout 300 "$exe" >"$out/$name.log" 2>&1; rc=$?
  tail -3 "$out/$name.log"
  grep -q "SKIPPED" "$out/$name.log" && [[ "$name" == *cuda ]] && { echo "WARNING: $name skipped tests (no GPU?)"; status=1; }
  [[ $rc -ne 0 ]] && { echo "FAIL: $name (rc $rc, see $out/$name.log)"; status=1; }
done

# ---- 2. benchmark ----
bench=$(find_exe bench_sweep)
if [[ -n "$bench" ]]; then
  stamp "bench_sweep"
  timeout 400 "$bench" --benchmark_out="$out/bench_sweep.json" --benchmark_out_format=json \
    >"$out/bench_sweep.log" 2>&1 || { echo "bench_sweep rc $? (see $out/bench_sweep.log)"; status=1; }
else
  echo "MISSING: bench_sweep under $build"; status=1
fi

# ---- 3. peers ----
for peer in sweep_torch sweep_jax sweep_numpy_peer; do
  stamp "$peer"
  PYTHONUNBUFFERED=1 timeout 150 python3 "bench/$peer.py" --out "$out/$peer.json" >"$out/$peer.log" 2>&1 \
    || echo "$peer rc $? (see $out/$peer.log)"
done

# ---- 5. zo sweep on the GPU (before the report so its lines can be appended) ----
zo=$(find_exe zo)
extra=""
if [[ -n "$zo" ]]; then
  stamp "zo sweep: Figure 1 (1000 runs x 10^5 steps) on the GPU"
  s=$(date +%s.%N)
  timeout 300 "$zo" sweep "${fig1_args[@]}" --backend cuda --no-plot --quiet --out "$out/fig1_gpu.csv" \
    >"$out/fig1_gpu.log" 2>&1 || { echo "FAIL: figure-1 sweep"; status=1; }
  e=$(date +%s.%N)
  fig1_secs=$(python3 -c "print(f'{$e - $s:.2f}')")
  sha=$(sha256sum "$out/fig1_gpu.csv" 2>/dev/null | cut -d' ' -f1)
  same=no; [[ "$sha" == "$fig1_sha256" ]] && same=yes
  [[ $same == yes ]] || { echo "FAIL: figure-1 table differs from the CPU's ($sha)"; status=1; }
  stamp "zo sweep: target K = 4096 x 10^5 steps, 100 log points, on the GPU"
  s=$(date +%s.%N)
  timeout 300 "$zo" sweep --seeds 0:4096 --methods zo --lambdas 0.1 --steps 100000 --log-points 100 \
    --backend cuda --no-plot --quiet --out "$out/target_gpu.csv" >"$out/target_gpu.log" 2>&1 \
    || { echo "FAIL: target sweep"; status=1; }
  e=$(date +%s.%N)
  target_secs=$(python3 -c "print(f'{$e - $s:.2f}')")
  extra="- \`zo sweep\` Figure 1 (1000 runs × 10^5 steps, 100 log points) on the GPU: ${fig1_secs} s end to end; table identical to the CPU's: **${same}**
- \`zo sweep\` target (4096 runs × 10^5 steps, 100 log points, CSV of $(($(wc -l <"$out/target_gpu.csv") - 1)) rows) on the GPU: ${target_secs} s end to end"
else
  echo "MISSING: zo under $build"; status=1
fi

# ---- 4. report ----
stamp "report"
python3 scripts/sweep_bench_table.py "$out/bench_sweep.json" \
  --peers "$out/sweep_torch.json" "$out/sweep_jax.json" "$out/sweep_numpy_peer.json" \
  --machine "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), $(nproc) CPU cores" \
  --out "$out/report.md" >/dev/null
[[ -n "$extra" ]] && printf '\n## zo sweep end to end\n\n%s\n' "$extra" >>"$out/report.md"
cat "$out/report.md"
stamp "done (status $status)"
exit $status

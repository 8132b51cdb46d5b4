#!/usr/bin/env bash
# The two CPU copies of libzo (cmake/ZoCpuDispatch.cmake: baseline x86-64, and x86-64-v3 built
# with -mavx2 -mfma in glibc-hwcaps/) compute the same bits. Runs cpu_dispatch_probe (digests of
# RunBatch, Stepper and trace results) and short `zo toy`, `zo sweep`, `zo linear` and `zo trace`
# runs twice: as the loader picks (the x86-64-v3 copy on a CPU that has it) and with the baseline
# copy forced by GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2; the outputs must be byte-identical.
# Exit 77 (skipped) on a CPU that does not run the x86-64-v3 copy.
set -u
probe=$(realpath "$1")
zo=$(realpath "$2")
work=$(realpath -m "$3")
rm -rf "$work" && mkdir -p "$work/default" "$work/baseline"
fail=0
baseline_env=(env GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2)

default_copy=$("$probe" | head -1)
baseline_copy=$("${baseline_env[@]}" "$probe" | head -1)
echo "default:  $default_copy"
echo "baseline: $baseline_copy"
if [[ "$baseline_copy" != *"cpu: x86-64 (baseline)"* ]]; then
  echo "FAIL: GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2 did not load the baseline copy"
  exit 1
fi
if [[ "$default_copy" != *"cpu: x86-64-v3 (-mavx2 -mfma)"* ]]; then
  echo "this CPU runs the baseline copy of libzo: nothing to compare (skipped)"
  exit 77
fi

run_both() {  # <name> <command...>: runs it in default/ and baseline/, stdout to <name>.out
  local name="$1"
  shift
  (cd "$work/default" && "$@" > "$name.out" 2> "$name.err") \
    || { echo "FAIL: $name (default copy): $(cat "$work/default/$name.err")"; fail=1; }
  (cd "$work/baseline" && "${baseline_env[@]}" "$@" > "$name.out" 2> "$name.err") \
    || { echo "FAIL: $name (baseline copy): $(cat "$work/baseline/$name.err")"; fail=1; }
}
same() {  # <file> [<filter>]: the file from both runs, after an optional sed filter
  local file="$1" filter="${2:-}"
  if ! cmp -s <(sed -e "$filter" "$work/default/$file") <(sed -e "$filter" "$work/baseline/$file"); then
    echo "FAIL: $file differs between the x86-64-v3 and the baseline copy of libzo"
    diff <(sed -e "$filter" "$work/default/$file") <(sed -e "$filter" "$work/baseline/$file") | head -10
    fail=1
  fi
}

run_both probe "$probe"
same probe.out '1d'  # line 1 names the copy
run_both toy "$zo" toy --iters 20000 --log-points 40 --quiet --no-plot --out toy.csv
same toy.csv
run_both toy_rademacher "$zo" toy --iters 5000 --q 4 --distribution rademacher --quiet --no-plot \
  --out toy_rademacher.csv
same toy_rademacher.csv
run_both sweep "$zo" sweep --quiet --no-plot --d 8 --seeds 0:3 --lambdas 0.1,0.05 --steps 400 \
  --log-points 8 --backend cpu --out sweep.csv
same sweep.csv
run_both linear "$zo" linear --quiet --no-plot --backend cpu --iters 50 --log-points 5 \
  --n-train 60 --n-test 40 --raw-features 5 --dim 30 --out linear.csv
same linear.csv
run_both trace "$zo" trace --backend cpu --d 10 --probes 50 --point-seed 3 --out trace.csv
same trace.csv 's/,[^,]*$//'  # the last column is the run time

if [[ $fail -eq 0 ]]; then echo "PASS: both copies of libzo give identical bits"; fi
exit $fail

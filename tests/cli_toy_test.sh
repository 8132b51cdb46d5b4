#!/usr/bin/env bash
# `zo toy`: bad options give one line naming the option and exit code 2; a short run writes the
# CSV with the documented columns and one row per (run, logged iteration).
set -u
zo="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
fail=0

expect_usage_error() {  # <expected substring> <args...>
  local want="$1"; shift
  local out rc
  out=$("$zo" toy --quiet --no-plot --out "$work/x.csv" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 2 ]]; then echo "FAIL: zo toy $* exited $rc, expected 2"; fail=1; fi
  if [[ "$out" != *"$want"* ]]; then echo "FAIL: zo toy $*: message '$out' lacks '$want'"; fail=1; fi
  if [[ $(printf '%s\n' "$out" | wc -l) -ne 1 ]]; then echo "FAIL: zo toy $*: not one line: $out"; fail=1; fi
}
expect_usage_error "--lambdas" --lambdas 0.1,-1
expect_usage_error "--lambdas" --lambdas 0
expect_usage_error "--zo-eta" --zo-eta 0
expect_usage_error "--gd-eta" --gd-eta -0.5
expect_usage_error "--gd-eta" --gd-eta abc
expect_usage_error "--d" --d 0
expect_usage_error "--methods" --methods gd,sgd
expect_usage_error "--distribution" --distribution cauchy
expect_usage_error "--iters" --iters -3
expect_usage_error "unknown option --bogus" --bogus 1
out=$("$zo" toy --quiet --no-plot --out /proc/no/such/dir/x.csv 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"--out"* ]] || { echo "FAIL: unwritable --out: rc=$rc '$out'"; fail=1; }

"$zo" toy --quiet --no-plot --d 8 --iters 300 --log-points 5 --lambdas 0.1,0.05 \
  --backend cpu --out "$work/toy.csv" >/dev/null || { echo "FAIL: short run"; fail=1; }
header=$(head -1 "$work/toy.csv")
[[ "$header" == "method,lambda,eta,q,seed,iteration,loss,trace,B,status" ]] || { echo "FAIL: header $header"; fail=1; }
# 4 runs (gd, zo x2, zo0) x logged iterations {0,1,4,17,73,300} = 24 rows
rows=$(($(wc -l < "$work/toy.csv") - 1))
[[ $rows -eq 24 ]] || { echo "FAIL: expected 24 rows, got $rows"; fail=1; }
grep -q "^zo,0.100000001,0.00100000005,1,0,300,.*,ok$" "$work/toy.csv" || { echo "FAIL: no final zo row"; fail=1; }
# --init: y = z = (1, 0) is a flat minimiser (loss 0, trace 2); every run starts there.
printf '# zo point, dim = 4\n1\n0\n1\n0\n' > "$work/start.txt"
"$zo" toy --quiet --no-plot --d 2 --iters 10 --log-points 2 --init "$work/start.txt" \
  --backend cpu --out "$work/init.csv" >/dev/null || { echo "FAIL: --init run"; fail=1; }
[[ $(grep -c ",0,0,2,0,ok$" "$work/init.csv") -eq 5 ]] \
  || { echo "FAIL: --init start rows: $(grep ',0,0,' "$work/init.csv")"; fail=1; }
expect_usage_error "holds 4 values" --d 3 --init "$work/start.txt"
expect_usage_error "is the input --init" --d 2 --init "$work/start.txt" --out "$work/start.txt"
"$zo" toy --help | grep -q -- "--lambdas" || { echo "FAIL: --help lacks --lambdas"; fail=1; }
[[ $fail -eq 0 ]] && echo "cli toy: all checks passed"
exit $fail

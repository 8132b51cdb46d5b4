#!/usr/bin/env bash
# `zo trace`: option and point-file errors (one line, exit codes 2 and 1, naming the option or
# file:line:column), and short runs whose output and CSV/JSON files have the documented shape.
set -u
zo="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
fail=0

expect_error() {  # <exit code> <expected substring> <args...>
  local code="$1" want="$2"; shift 2
  local out rc
  out=$("$zo" trace --backend cpu "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne $code ]]; then echo "FAIL: zo trace $* exited $rc, expected $code"; fail=1; fi
  if [[ "$out" != *"$want"* ]]; then echo "FAIL: zo trace $*: message '$out' lacks '$want'"; fail=1; fi
  if [[ $(printf '%s\n' "$out" | wc -l) -ne 1 ]]; then echo "FAIL: zo trace $*: not one line: $out"; fail=1; fi
}
expect_error 2 "--estimator" --estimator hutch
expect_error 2 "--probes" --probes 0
expect_error 2 "--probes" --estimator hutch++ --probes 2
expect_error 2 "--epsilon" --epsilon -1
expect_error 2 "--distribution" --distribution sphere
expect_error 2 "--hessian" --hessian exact
expect_error 2 "--objective" --objective mnist
expect_error 2 "--d" --d 0
expect_error 2 "unknown option --bogus" --bogus 1

printf '1 2 3\n# comment\n4, 5,x6\n' > "$work/bad.txt"
expect_error 2 "bad.txt:3:6: 'x6' is not a number" --d 3 --point "$work/bad.txt"
printf '1 2 3 4 5\n' > "$work/short.txt"
expect_error 2 "holds 5 values" --d 3 --point "$work/short.txt"
printf '1 nan 3 4 5 6\n' > "$work/nan.txt"
expect_error 2 "nan.txt:1:3" --d 3 --point "$work/nan.txt"
expect_error 2 "no such file" --d 3 --point "$work/missing.txt"
expect_error 2 "is a directory, not a file" --d 3 --point "$work"
printf 'abcde' > "$work/odd.f32"
expect_error 2 "5 bytes" --d 3 --point "$work/odd.f32"

# A run at a saved point reproduces the run at the random point it was saved from.
"$zo" trace --backend cpu --d 10 --probes 50 --point-seed 3 --save-point "$work/x.txt" \
  --out "$work/a.csv" > "$work/a.out" 2>/dev/null || { echo "FAIL: run with --save-point"; fail=1; }
"$zo" trace --backend cpu --d 10 --probes 50 --point "$work/x.txt" --out "$work/b.json" \
  > "$work/b.out" 2>/dev/null || { echo "FAIL: run with --point"; fail=1; }
diff <(tail -n +3 "$work/a.out" | grep -v '^wrote') <(tail -n +3 "$work/b.out" | grep -v '^wrote') >/dev/null \
  || { echo "FAIL: saved point gives different estimates"; diff "$work/a.out" "$work/b.out"; fail=1; }
grep -q "^exact       tr H = " "$work/a.out" || { echo "FAIL: no exact line"; cat "$work/a.out"; fail=1; }
for e in hutchinson "hutch++" zo sharpness; do
  grep -q "^$e *tr H = [-0-9.]* ± [0-9.]* ($e, m = 50, " "$work/a.out" \
    || { echo "FAIL: no '$e' line"; cat "$work/a.out"; fail=1; }
done
header=$(head -1 "$work/a.csv")
[[ "$header" == "objective,dim,point,estimator,probes,seed,epsilon,estimate,std_error,exact,value_evaluations,gradient_evaluations,hvp_evaluations,rounding_error,backend,seconds" ]] \
  || { echo "FAIL: CSV header $header"; fail=1; }
[[ $(($(wc -l < "$work/a.csv") - 1)) -eq 5 ]] || { echo "FAIL: expected 5 CSV rows"; fail=1; }
grep -q '"estimator": "hutch++"' "$work/b.json" || { echo "FAIL: JSON lacks hutch++"; fail=1; }
if command -v python3 >/dev/null; then
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==5 and d[1]['estimator']=='hutchinson'" \
    "$work/b.json" || { echo "FAIL: JSON does not parse"; fail=1; }
fi
# Binary point files round-trip too.
"$zo" trace --backend cpu --d 10 --estimator exact --point-seed 3 --save-point "$work/x.f32" \
  > "$work/c.out" 2>/dev/null && "$zo" trace --backend cpu --d 10 --estimator exact \
  --point "$work/x.f32" > "$work/d.out" 2>/dev/null \
  && diff <(tail -1 "$work/c.out") <(tail -1 "$work/d.out") >/dev/null \
  || { echo "FAIL: .f32 round trip"; fail=1; }
# The linear models: synthetic data through the pipeline, and a LIBSVM file (malformed: file:line).
"$zo" trace --backend cpu --objective logistic --n-train 200 --raw-features 10 --dim 50 \
  --probes 30 > "$work/lin.out" 2>/dev/null || { echo "FAIL: logistic run"; fail=1; }
grep -q "^objective: logistic on synthetic (200 samples, 10 raw features" "$work/lin.out" \
  && grep -q "^exact       tr H = " "$work/lin.out" && grep -q "^zo          tr H = " "$work/lin.out" \
  || { echo "FAIL: logistic output"; cat "$work/lin.out"; fail=1; }
printf '+1 1:0.5 3:1\n-1 2:0.25\n+1 1:x\n' > "$work/bad.libsvm"
expect_error 2 "bad.libsvm:3:" --objective svm --train "$work/bad.libsvm"
expect_error 2 "--pipeline" --objective svm --pipeline pca
"$zo" trace --help | grep -q -- "--estimator" || { echo "FAIL: --help lacks --estimator"; fail=1; }
[[ $fail -eq 0 ]] && echo "cli trace: all checks passed"
exit $fail

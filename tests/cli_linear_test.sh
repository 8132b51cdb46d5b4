#!/usr/bin/env bash
# `zo linear`: bad options give one line naming the option and exit code 2; malformed data files
# give "file:line:column" and exit code 2; short runs on synthetic data and on a LIBSVM file pair
# (test file found as <train>.t) write the CSV with the documented columns and one row per
# (loss, method, logged iteration); both engines run; the PNG is drawn when matplotlib exists.
set -u
zo="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
fail=0
small=(--quiet --no-plot --backend cpu --iters 50 --log-points 5 --n-train 60 --n-test 40
       --raw-features 5 --dim 30)

expect_usage_error() {  # <expected substring> <args...>
  local want="$1"; shift
  local out rc
  out=$("$zo" linear --quiet --no-plot --out "$work/x.csv" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 2 ]]; then echo "FAIL: zo linear $* exited $rc, expected 2 ($out)"; fail=1; fi
  if [[ "$out" != *"$want"* ]]; then echo "FAIL: zo linear $*: message '$out' lacks '$want'"; fail=1; fi
  if [[ $(printf '%s\n' "$out" | wc -l) -ne 1 ]]; then echo "FAIL: zo linear $*: not one line: $out"; fail=1; fi
}
expect_usage_error "--iters" --iters -1
expect_usage_error "--svm-eta" --svm-eta 0
expect_usage_error "--svm-gd-eta" --svm-gd-eta -1
expect_usage_error "--logistic-lambda" --logistic-lambda -0.1
expect_usage_error "--logistic-eta" --logistic-eta abc
expect_usage_error "--losses" --losses svm,hinge
expect_usage_error "--methods" --methods gd,sgd
expect_usage_error "--pipeline" --pipeline pca
expect_usage_error "--dim" --dim 0
expect_usage_error "--engine" --engine fast
expect_usage_error "--backend" --backend tpu
expect_usage_error "--density" --density 2
expect_usage_error "--label-noise" --label-noise -1
expect_usage_error "--n-train" --n-train 0
expect_usage_error "--init-scale" --init-scale -1
expect_usage_error "--train" --train "$work/no-such-file.svm"
expect_usage_error "--test" --test "$work/a.svm.t"
expect_usage_error "unknown option --bogus" --bogus 1
out=$("$zo" linear --quiet --no-plot --out /proc/no/such/dir/x.csv 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"--out"* ]] || { echo "FAIL: unwritable --out: rc=$rc '$out'"; fail=1; }

# Synthetic data: 2 losses x 2 methods x logged iterations {0,1,3,7,19,50} = 24 rows.
header="loss,method,lambda,eta,seed,iteration,train_loss,train_trace,train_accuracy,test_loss,test_trace,test_accuracy,status"
"$zo" linear "${small[@]}" --out "$work/syn.csv" >/dev/null || { echo "FAIL: synthetic run"; fail=1; }
[[ "$(head -1 "$work/syn.csv")" == "$header" ]] || { echo "FAIL: header $(head -1 "$work/syn.csv")"; fail=1; }
rows=$(($(wc -l < "$work/syn.csv") - 1))
[[ $rows -eq 24 ]] || { echo "FAIL: synthetic: expected 24 rows, got $rows"; fail=1; }
grep -q "^svm,zo,0.0500000007,9.99999975e-05,0,50," "$work/syn.csv" || { echo "FAIL: no final svm zo row"; fail=1; }
grep -q "^logistic,gd,0,0.00999999978,0,50," "$work/syn.csv" || { echo "FAIL: no final logistic gd row"; fail=1; }
"$zo" linear "${small[@]}" --engine margins --losses logistic --methods zo --out "$work/margins.csv" \
  >/dev/null || { echo "FAIL: margins engine run"; fail=1; }
rows=$(($(wc -l < "$work/margins.csv") - 1))
[[ $rows -eq 6 ]] || { echo "FAIL: margins engine: expected 6 rows, got $rows"; fail=1; }

# A LIBSVM pair: train.svm and train.svm.t (found automatically), raw and with the pipeline.
cat > "$work/a.svm" <<'DATA'
# a tiny training file
+1 1:0.5 3:1.25 qid:1
-1 2:1 4:-0.5
+1 1:1 2:0.25 4:2
-1 3:-1
+1 1:0.75 4:1
-1 2:2 3:0.5
DATA
printf -- '+1 1:1 3:0.5\n-1 2:1.5\n+1 4:1\n' > "$work/a.svm.t"
# qid must directly follow the label: the first file is malformed on line 2, column 17. The failed
# run leaves an existing output byte-identical.
printf 'precious results\n' > "$work/x.csv"
out=$("$zo" linear --quiet --no-plot --train "$work/a.svm" --out "$work/x.csv" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"a.svm:2:17:"* ]] || { echo "FAIL: malformed file: rc=$rc '$out'"; fail=1; }
[[ "$(cat "$work/x.csv")" == "precious results" ]] || { echo "FAIL: a failed run changed --out"; fail=1; }
# An output that is an input is refused before anything is written; the data file is intact.
cp "$work/a.svm" "$work/a.copy"
out=$("$zo" linear --quiet --no-plot --train "$work/a.svm" --out "$work/a.svm" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"is the input --train"* ]] || { echo "FAIL: --out = --train: rc=$rc '$out'"; fail=1; }
out=$("$zo" linear --quiet --train "$work/a.svm" --out "$work/a.svm.t" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"is the input --test"* ]] || { echo "FAIL: --out = test file: rc=$rc '$out'"; fail=1; }
cmp -s "$work/a.svm" "$work/a.copy" || { echo "FAIL: the training file was modified"; fail=1; }
sed -i 's/ qid:1//' "$work/a.svm"
for pipeline in none standardize paper; do
  "$zo" linear --quiet --no-plot --backend cpu --iters 20 --log-points 3 --train "$work/a.svm" \
    --pipeline "$pipeline" --dim 16 --out "$work/file_$pipeline.csv" >/dev/null ||
    { echo "FAIL: file run with --pipeline $pipeline"; fail=1; continue; }
  rows=$(($(wc -l < "$work/file_$pipeline.csv") - 1))
  # logged iterations {0, 1, 4, 20}: 2 losses x 2 methods x 4 = 16 rows
  [[ $rows -eq 16 ]] || { echo "FAIL: --pipeline $pipeline: expected 16 rows, got $rows"; fail=1; }
done

if python3 -c "import matplotlib" 2>/dev/null; then
  "$zo" linear --quiet --backend cpu --iters 20 --log-points 3 --n-train 40 --n-test 20 \
    --raw-features 4 --dim 8 --out "$work/plot.csv" >/dev/null || { echo "FAIL: run with plot"; fail=1; }
  [[ -s "$work/plot.png" ]] || { echo "FAIL: no PNG written"; fail=1; }
fi
"$zo" linear --help | grep -q -- "--svm-lambda" || { echo "FAIL: --help lacks --svm-lambda"; fail=1; }

# Labels: any two values, mapped and reported in one line (the larger positive unless
# --positive-label names it); one class, three classes, a test label the training file lacks, a
# --positive-label that is no label: exit 2 with one line listing the labels. --label-threshold
# (only when given) is the old rule. (zo linear/sweep/trace share the loader.)
fast=(--no-plot --backend cpu --iters 5 --log-points 2 --pipeline paper --dim 16)
printf '2 1:1 2:0.5\n4 1:-1 2:1\n2 1:2 3:1\n4 1:0.5 2:2\n2 1:1.5 3:-1\n4 2:1 3:0.5\n' > "$work/l24.svm"
printf '4 1:1 2:1\n2 1:-1 3:2\n' > "$work/l24.svm.t"
run_linear() {  # <out csv> <args...>: stderr in $err, exit code in $rc
  local csv="$1"; shift
  err=$("$zo" linear "${fast[@]}" --out "$csv" "$@" 2>&1 >/dev/null); rc=$?
}
run_linear "$work/l24.csv" --train "$work/l24.svm"
[[ $rc -eq 0 && "$err" == *"zo linear: labels: 2 -> negative, 4 -> positive (3 / 3 training samples)"* ]] ||
  { echo "FAIL: labels {2, 4}: rc=$rc '$err'"; fail=1; }
run_linear "$work/l24p.csv" --train "$work/l24.svm" --positive-label 2
[[ $rc -eq 0 && "$err" == *"zo linear: labels: 4 -> negative, 2 -> positive (3 / 3 training samples)"* ]] ||
  { echo "FAIL: --positive-label 2: rc=$rc '$err'"; fail=1; }
run_linear "$work/l24t.csv" --train "$work/l24.svm" --label-threshold 3
[[ $rc -eq 0 && "$err" == *"zo linear: labels: <= 3 -> negative, > 3 -> positive (3 / 3 training samples)"* ]] ||
  { echo "FAIL: --label-threshold 3: rc=$rc '$err'"; fail=1; }
expect_usage_error "--positive-label: the positive label 3 is not a label of $work/l24.svm (labels: 2 (3 samples), 4 (3 samples))" \
  --train "$work/l24.svm" --positive-label 3
expect_usage_error "with the label threshold 0 every sample is positive (binary classification needs both classes); labels found: 2 (3 samples), 4 (3 samples)" \
  --train "$work/l24.svm" --label-threshold 0
expect_usage_error "--positive-label and --label-threshold exclude each other" \
  --train "$work/l24.svm" --positive-label 4 --label-threshold 3
expect_usage_error "--positive-label: needs --train" --positive-label 1
printf '+1 1:1\n+1 1:2\n+1 2:1\n' > "$work/one.svm"
printf '+1 1:1\n' > "$work/one.svm.t"
expect_usage_error "one.svm: binary classification needs exactly two distinct labels, found 1: 1 (3 samples)" \
  --train "$work/one.svm"
printf '1 1:1\n2 1:2\n3 2:1\n3 1:1\n' > "$work/three.svm"
cp "$work/one.svm.t" "$work/three.svm.t"
expect_usage_error "three.svm: binary classification needs exactly two distinct labels, found 3: 1 (1 sample), 2 (1 sample), 3 (2 samples)" \
  --train "$work/three.svm"
printf '4 1:1\n7 1:1\n' > "$work/foreign.t"
expect_usage_error "foreign.t: 1 sample has a label that the training set does not have: 7 (1 sample) (training labels: 2, 4)" \
  --train "$work/l24.svm" --test "$work/foreign.t"
for cmd in sweep trace; do
  extra=(--quiet --problem svm --steps 2); [[ $cmd == trace ]] && extra=(--objective svm)
  out=$("$zo" $cmd "${extra[@]}" --train "$work/three.svm" --out "$work/x_$cmd.csv" 2>&1); rc=$?
  [[ $rc -eq 2 && "$out" == *"found 3: 1 (1 sample)"* ]] || { echo "FAIL: zo $cmd, three labels: rc=$rc '$out'"; fail=1; }
done

# Features the training file never has (3: only an explicit zero there; 5 and 10^8: beyond its
# width) are dropped from the test file with one warning line; the results are byte-identical to
# those without them, the test set has the training width, and index 10^8 costs nothing.
printf '+1 1:1 2:0.5 4:2\n-1 1:-1 2:1.5 4:0.25\n+1 1:2 2:-0.5 4:1\n-1 1:0.5 2:2 4:-1\n+1 1:1.5 3:0 4:3\n-1 1:-0.5 2:1 4:-2\n' > "$work/u.svm"
printf '+1 1:1 2:1 4:1\n-1 1:-1 2:2 4:-1\n+1 1:2 4:2\n-1 2:3 4:-2\n' > "$work/u_clean.t"
printf '+1 1:1 2:1 3:50 4:1\n-1 1:-1 2:2 4:-1 5:7\n+1 1:2 4:2 100000000:9\n-1 2:3 3:-20 4:-2\n' > "$work/u_noisy.t"
run_linear "$work/u_clean.csv" --train "$work/u.svm" --test "$work/u_clean.t"
[[ $rc -eq 0 && "$err" != *"never occur in training"* ]] || { echo "FAIL: clean test file: rc=$rc '$err'"; fail=1; }
start=$(date +%s%N)
run_linear "$work/u_noisy.csv" --train "$work/u.svm" --test "$work/u_noisy.t"
ms=$((($(date +%s%N) - start) / 1000000))
[[ $rc -eq 0 ]] || { echo "FAIL: test file with unseen features: rc=$rc '$err'"; fail=1; }
want="zo: 3 features of the test file '$work/u_noisy.t' never occur in training; they are ignored (4 entries dropped)"
[[ "$err" == *"$want"* && $(grep -c "never occur" <<<"$err") -eq 1 ]] || { echo "FAIL: no unseen-feature warning: '$err'"; fail=1; }
[[ "$err" == *"u_noisy.t (4 samples), 4 raw features"* ]] || { echo "FAIL: test set not in the training width: '$err'"; fail=1; }
cmp -s "$work/u_clean.csv" "$work/u_noisy.csv" || { echo "FAIL: unseen test features changed the results"; fail=1; }
[[ $ms -lt 20000 ]] || { echo "FAIL: a test file with index 10^8 took $ms ms"; fail=1; }

# Indices: 2^31 - 1 cannot be stored (file:line:column); 2^31 - 2 can, but the pipeline's memory
# (2^31 x D floats) is checked before allocating: one line naming the bytes. Both exit 2.
printf '+1 1:1\n-1 2147483647:1\n' > "$work/big.svm"
printf '+1 1:1\n' > "$work/big.svm.t"
expect_usage_error "big.svm:2:4: index '2147483647:1' is out of range (at most 2147483646)" --train "$work/big.svm"
printf '+1 1:1\n-1 2147483646:1\n' > "$work/wide.svm"
cp "$work/big.svm.t" "$work/wide.svm.t"
expect_usage_error "the feature pipeline on 2 samples x 2,147,483,646 raw features (D = 10,000) needs 85," \
  --train "$work/wide.svm"
expect_usage_error " bytes (" --train "$work/wide.svm"
[[ $fail -eq 0 ]] && echo "cli linear: all checks passed"
exit $fail

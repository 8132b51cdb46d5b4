#!/usr/bin/env bash
# The table of the CLI's promises under bad input, interruption and a busy machine: each case
# names its command line, the exit code it must give (0 ok, 1 runtime failure, 2 usage or input
# error, 130 / 143 interrupted) and a fragment of what it must print. Then the cases that need
# more than one command: outputs a failed run must leave byte-identical, and signals.
set -u
zo="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
fail=0
W="$work"

# Inputs the cases use.
printf '# zo point, dim = 4\n1\n0\n1\n0\n' > "$W/start4.txt"
mkdir -p "$W/adir"
printf '+1 1:0.5 2:1\n-1 2:1\n+1 1:1\n-1 2:0.5\n' > "$W/d.svm"
cp "$W/d.svm" "$W/d.svm.t"

small=(--quiet --no-plot --backend cpu)
# exit code | fragment of stdout+stderr | arguments (one per line after the case, '|' separated)
cases=(
  "2|--lambdas: '1e-50' underflows float32|sweep ${small[*]} --lambdas 1e-50 --out $W/a.csv"
  "2|--zo-eta: '1e40' overflows float32|toy ${small[*]} --zo-eta 1e40 --out $W/a.csv"
  "2|--lambdas: '0.1' repeats '0.1'|toy ${small[*]} --lambdas 0.1,0.1 --out $W/a.csv"
  "2|--seeds: 3 appears twice|sweep ${small[*]} --seeds 1:4,3 --steps 5 --out $W/a.csv"
  "2|--methods: zo appears twice|sweep ${small[*]} --methods zo,gd,zo --steps 5 --out $W/a.csv"
  "2|--qs: 2 appears twice|sweep ${small[*]} --qs 2,2 --steps 5 --out $W/a.csv"
  "2|at most 10000000 are allowed|sweep ${small[*]} --seeds 0:1000000000 --out $W/a.csv"
  "2|--checkpoint-seconds: must be >= 0|sweep ${small[*]} --checkpoint-seconds -1 --out $W/a.csv"
  "2|--init-scale: must be >= 0|sweep ${small[*]} --init-scale -2 --out $W/a.csv"
  "2|of memory|toy ${small[*]} --d 10000000000 --out $W/a.csv"
  "2|--seed: '-1' is not an integer|toy ${small[*]} --seed -1 --out $W/a.csv"
  "0|wrote|toy --no-plot --backend cpu --seed 18446744073709551615 --iters 20 --out $W/big_seed.csv"
  "2|unknown engine 'warp'|toy ${small[*]} --engine warp --out $W/a.csv"
  "2|--init: no such file|toy ${small[*]} --init $W/missing.txt --out $W/a.csv"
  "2|holds 4 values, the problem has 200|toy ${small[*]} --init $W/start4.txt --out $W/a.csv"
  "2|is the input --init|toy ${small[*]} --d 2 --init $W/start4.txt --out $W/start4.txt"
  "2|figure '$W/fig.png' is also the --out|toy --backend cpu --quiet --out $W/fig.png"
  "2|--train: no such file|linear ${small[*]} --train $W/missing.svm --out $W/a.csv"
  "2|is a directory, not a file|linear ${small[*]} --train $W/adir --out $W/a.csv"
  "2|is a directory|toy ${small[*]} --out $W/adir"
  "2|is the input --train|linear ${small[*]} --train $W/d.svm --out $W/d.svm"
  "2|is the input --test|sweep ${small[*]} --problem svm --train $W/d.svm --out $W/d.svm.t"
  "2|is the input --point|trace --d 2 --point $W/start4.txt --out $W/start4.txt"
  "0|warning: zo: the float32 rounding error bound|trace --backend cpu --d 10 --probes 10 --estimator zo --epsilon 1e-30"
  "2|--divergence-factor: must be 0 or >= 1|toy ${small[*]} --divergence-factor 0.5 --out $W/a.csv"
  "0|3 runs x 200 steps on cpu, 3 diverged|sweep --no-plot --backend cpu --methods zo --lambdas 0.1 --zo-etas 10 --seeds 0:3 --steps 200 --log-points 5 --out $W/div.csv"
  "0|diverged at step|linear --no-plot --backend cpu --losses logistic --logistic-eta 1e6 --iters 30 --log-points 3 --n-train 100 --n-test 50 --raw-features 5 --dim 20 --out $W/lin.csv"
  "2|unknown option --bogus|sweep --bogus 1"
  "2|unknown command 'tyo'|tyo"
)

for c in "${cases[@]}"; do
  IFS='|' read -r want_rc want_text args <<< "$c"
  # shellcheck disable=SC2086  # the arguments are split on purpose
  out=$("$zo" $args 2>&1); rc=$?
  if [[ $rc -ne $want_rc ]]; then echo "FAIL: zo $args: exit $rc, expected $want_rc: $out"; fail=1; fi
  if [[ "$out" != *"$want_text"* ]]; then echo "FAIL: zo $args: '$out' lacks '$want_text'"; fail=1; fi
done

# --quiet prints errors only: a successful run is silent on stderr.
err=$("$zo" toy --quiet --no-plot --backend cpu --iters 10 --out "$W/quiet.csv" 2>&1 >/dev/null)
[[ -z "$err" ]] || { echo "FAIL: --quiet printed '$err'"; fail=1; }

# A failed run leaves an existing output byte-identical (here: its input is malformed).
printf 'precious\n' > "$W/keep.csv"
printf '1 2\nx 3\n' > "$W/bad_point.txt"
"$zo" sweep "${small[@]}" --d 1 --init "$W/bad_point.txt" --steps 5 --out "$W/keep.csv" >/dev/null 2>&1
[[ "$(cat "$W/keep.csv")" == "precious" ]] || { echo "FAIL: a failed sweep changed its --out"; fail=1; }

# SIGTERM and SIGINT stop zo toy at a step boundary: exit 143 / 130, the existing --out is kept,
# and the complete rows so far are in the partial table (header first, whole rows only).
for sig in TERM INT; do
  printf 'old figure-1 table\n' > "$W/sig.csv"
  rm -f "$W/sig.partial.csv"
  "$zo" toy --quiet --no-plot --backend cpu --d 50 --iters 400000000 --log-points 50 \
    --out "$W/sig.csv" >/dev/null 2>&1 &
  pid=$!
  sleep 2
  kill -"$sig" $pid
  wait $pid; rc=$?
  want=$([[ $sig == TERM ]] && echo 143 || echo 130)
  [[ $rc -eq $want ]] || { echo "FAIL: SIG$sig: exit $rc, expected $want"; fail=1; }
  [[ "$(cat "$W/sig.csv")" == "old figure-1 table" ]] || { echo "FAIL: SIG$sig changed --out"; fail=1; }
  if [[ -s "$W/sig.partial.csv" ]]; then
    [[ $(head -1 "$W/sig.partial.csv") == method,*,status ]] || { echo "FAIL: SIG$sig partial header"; fail=1; }
    bad=$(awk -F, 'NR > 1 && NF != 10' "$W/sig.partial.csv" | head -1)
    [[ -z "$bad" ]] || { echo "FAIL: SIG$sig: torn row '$bad'"; fail=1; }
  else
    echo "FAIL: SIG$sig: no partial table"; fail=1
  fi
done

[[ $fail -eq 0 ]] && echo "cli cases: all checks passed"
exit $fail

#!/usr/bin/env bash
# `zo sweep`: option errors (one line, exit 2); a short sweep writes the table, summary and PNG;
# a JSON config gives the same table as the equivalent command line; an interruption (simulated
# with --stop-after-steps, and a real SIGINT) followed by --resume ends byte-identical to an
# uninterrupted sweep.
set -u
zo="$1"
work="$2"
rm -rf "$work" && mkdir -p "$work"
fail=0

expect_usage_error() {  # <expected substring> <args...>
  local want="$1"; shift
  local out rc
  out=$("$zo" sweep --quiet --no-plot --out "$work/x.csv" "$@" 2>&1 >/dev/null); rc=$?
  if [[ $rc -ne 2 ]]; then echo "FAIL: zo sweep $* exited $rc, expected 2"; fail=1; fi
  if [[ "$out" != *"$want"* ]]; then echo "FAIL: zo sweep $*: message '$out' lacks '$want'"; fail=1; fi
  if [[ $(printf '%s\n' "$out" | wc -l) -ne 1 ]]; then echo "FAIL: zo sweep $*: not one line: $out"; fail=1; fi
}
expect_usage_error "--lambdas" --lambdas 0.1,-1
expect_usage_error "--seeds" --seeds 5:2
expect_usage_error "--methods" --methods gd,sgd
expect_usage_error "--engine" --engine warp
expect_usage_error "--band" --band box
expect_usage_error "--problem" --problem rosenbrock
expect_usage_error "--qs" --qs 0
expect_usage_error "unknown option --bogus" --bogus 1
expect_usage_error "--config" --config "$work/missing.json"
echo '{"lambdas": [0.1,' > "$work/bad.json"
expect_usage_error "--config" --config "$work/bad.json"
echo '{"bogus": 1}' > "$work/unknown.json"
expect_usage_error "unknown option --bogus" --config "$work/unknown.json"

common=(--d 8 --seeds 0:3 --lambdas 0.1,0.05 --steps 400 --log-points 8 --backend cpu)
"$zo" sweep --quiet "${common[@]}" --out "$work/ref.csv" >/dev/null 2>"$work/ref.err" \
  || { echo "FAIL: reference sweep"; cat "$work/ref.err"; fail=1; }
header=$(head -1 "$work/ref.csv")
[[ "$header" == "run,config,seed,method,lambda,eta,q,distribution,iteration,loss,trace,B,status,diverged_at" ]] \
  || { echo "FAIL: header $header"; fail=1; }
# 4 configs (gd, zo x2, zo0) x 3 seeds = 12 runs; logged iterations 0,1,2,4,...,400 (8 points + 0)
its=$(awk -F, 'NR>1 && $1==0 {n++} END {print n}' "$work/ref.csv")
rows=$(($(wc -l < "$work/ref.csv") - 1))
[[ $rows -eq $((12 * its)) ]] || { echo "FAIL: expected 12 x $its rows, got $rows"; fail=1; }
[[ $(wc -l < "$work/ref_summary.csv") -eq 5 ]] || { echo "FAIL: summary lines"; fail=1; }
[[ ! -e "$work/ref.ckpt" ]] || { echo "FAIL: checkpoint left after completion"; fail=1; }
if python3 -c "import matplotlib" 2>/dev/null; then
  [[ -s "$work/ref.png" ]] || { echo "FAIL: no PNG although matplotlib is installed"; fail=1; }
fi

# The same sweep from a JSON config file (and a command-line override of one key).
cat > "$work/sweep.json" <<'JSON'
{
  // comments are allowed
  "d": 8, "seeds": "0:3", "lambdas": [0.1, 0.05], "steps": 400, "log-points": 8,
  "backend": "cpu", "quiet": true, "no-plot": true, "out": "IGNORED.csv"
}
JSON
"$zo" sweep --config "$work/sweep.json" --out "$work/json.csv" >/dev/null 2>&1 \
  || { echo "FAIL: config sweep"; fail=1; }
cmp -s "$work/ref.csv" "$work/json.csv" || { echo "FAIL: JSON config table differs"; fail=1; }

# Interrupt after k run-steps (the Ctrl-C code path), resume, compare bytes.
for k in 1 1500 2400; do
  rm -f "$work/int.csv" "$work/int.ckpt"
  "$zo" sweep --quiet --no-plot "${common[@]}" --out "$work/int.csv" --batch-size 5 \
    --stop-after-steps $k >/dev/null 2>&1; rc=$?
  [[ $rc -eq 130 ]] || { echo "FAIL: stop after $k exited $rc, expected 130"; fail=1; }
  [[ -s "$work/int.ckpt" ]] || { echo "FAIL: no checkpoint after stop at $k"; fail=1; }
  "$zo" sweep --quiet --no-plot "${common[@]}" --out "$work/int.csv" --batch-size 5 --resume \
    >/dev/null 2>&1 || { echo "FAIL: resume after $k"; fail=1; }
  cmp -s "$work/int.csv" "$work/ref.csv" || { echo "FAIL: resumed table differs (stop at $k)"; fail=1; }
  cmp -s "$work/int_summary.csv" "$work/ref_summary.csv" || { echo "FAIL: resumed summary differs (stop at $k)"; fail=1; }
done

# A real SIGINT: long enough to be running when the signal arrives.
long=(--d 8 --seeds 0:2 --methods zo --lambdas 0.1 --steps 400000000 --log-points 5 --backend cpu
      --checkpoint-seconds 0)
"$zo" sweep --quiet --no-plot "${long[@]}" --out "$work/sig.csv" >/dev/null 2>&1 &
pid=$!
sleep 1
kill -INT $pid
wait $pid; rc=$?
[[ $rc -eq 130 ]] || { echo "FAIL: SIGINT exit code $rc, expected 130"; fail=1; }
[[ -s "$work/sig.ckpt" ]] || { echo "FAIL: no checkpoint after SIGINT"; fail=1; }
# The table grows beside --out and replaces it only on completion.
[[ ! -e "$work/sig.csv" ]] || { echo "FAIL: unfinished table published as $work/sig.csv"; fail=1; }
[[ $(head -1 "$work/sig.csv.part") == run,* ]] || { echo "FAIL: part table header after SIGINT"; fail=1; }
# The checkpoint is unfinished work: a rerun without --resume refuses to discard it.
out=$("$zo" sweep --quiet --no-plot "${long[@]}" --out "$work/sig.csv" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"--resume"* && "$out" == *"--overwrite"* ]] \
  || { echo "FAIL: rerun over a checkpoint: rc=$rc '$out'"; fail=1; }
[[ -s "$work/sig.ckpt" ]] || { echo "FAIL: the refused rerun removed the checkpoint"; fail=1; }
# Resuming with other options is refused, naming the mismatch.
out=$("$zo" sweep --quiet --no-plot "${long[@]}" --seeds 0:3 --out "$work/sig.csv" --resume 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"different sweep"* ]] || { echo "FAIL: mismatched resume: rc=$rc '$out'"; fail=1; }

# SIGKILL (no handler runs) at several moments, then --resume until done: the same bytes as an
# uninterrupted sweep. Checkpoints every 50 steps of a batch; the kill times are fixed.
kill_common=(--d 64 --seeds 0:6 --lambdas 0.1,0.05 --steps 600000 --log-points 12 --backend cpu
             --batch-size 4 --checkpoint-seconds 0 --checkpoint-steps 10000)
"$zo" sweep --quiet --no-plot "${kill_common[@]}" --out "$work/kref.csv" >/dev/null 2>&1 \
  || { echo "FAIL: kill reference"; fail=1; }
rm -f "$work/kill.csv" "$work/kill.ckpt" "$work/kill.csv.part"
kills=0
for delay in 0.3 0.7 0.2 1.1 0.5 0.9; do
  resume=(); [[ -e "$work/kill.ckpt" ]] && resume=(--resume)
  "$zo" sweep --quiet --no-plot "${kill_common[@]}" --out "$work/kill.csv" "${resume[@]}" \
    >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -KILL $pid 2>/dev/null && kills=$((kills + 1))
  wait $pid 2>/dev/null
  [[ -e "$work/kill.csv" ]] && break  # it finished before the kill
done
resume=(); [[ -e "$work/kill.ckpt" ]] && resume=(--resume)
[[ -e "$work/kill.csv" ]] || "$zo" sweep --quiet --no-plot "${kill_common[@]}" --out "$work/kill.csv" \
  "${resume[@]}" >/dev/null 2>&1 || { echo "FAIL: final resume after SIGKILL"; fail=1; }
[[ $kills -ge 2 ]] || { echo "FAIL: only $kills kills landed (the sweep is too short)"; fail=1; }
cmp -s "$work/kill.csv" "$work/kref.csv" || { echo "FAIL: table after $kills SIGKILLs differs"; fail=1; }
cmp -s "$work/kill_summary.csv" "$work/kref_summary.csv" || { echo "FAIL: summary after SIGKILLs differs"; fail=1; }

# A linear model (Figure 2's logistic regression) on small synthetic data: its metrics are columns.
"$zo" sweep --quiet --no-plot --problem logistic --n-train 120 --n-test 60 --raw-features 8 --dim 40 \
  --seeds 0:2 --methods gd,zo --lambdas 0.1 --etas 0.01 --steps 60 --log-points 4 --backend cpu \
  --out "$work/lin.csv" >/dev/null 2>&1 || { echo "FAIL: logistic sweep"; fail=1; }
[[ $(head -1 "$work/lin.csv") == *",trace,train_accuracy,test_loss,test_trace,test_accuracy,status,"* ]] \
  || { echo "FAIL: logistic header $(head -1 "$work/lin.csv")"; fail=1; }
# An estimated trace adds its standard error.
"$zo" sweep --quiet --no-plot --d 6 --seeds 0:2 --methods zo --lambdas 0.1 --steps 50 --log-points 3 \
  --backend cpu --trace-estimator zo --trace-probes 8 --out "$work/est.csv" >/dev/null 2>&1 \
  || { echo "FAIL: estimated-trace sweep"; fail=1; }
[[ $(head -1 "$work/est.csv") == *",B,trace_se,status,"* ]] || { echo "FAIL: estimator header"; fail=1; }

"$zo" sweep --help | grep -q -- "--resume" || { echo "FAIL: --help lacks --resume"; fail=1; }
[[ $fail -eq 0 ]] && echo "cli sweep: all checks passed"
exit $fail

#!/usr/bin/env bash
# zo under mpirun: a sharded zo sweep writes the bytes of one process with 1, 2 and 4 ranks (the
# fused Example 2.1 engine and the generic engine on a linear model); an interrupted sharded
# sweep resumed with another number of ranks, a sweep whose rank fails, and one whose rank is
# killed with SIGKILL all end byte-identical after --resume, which reruns only the lost
# configurations; data-parallel zo linear is byte-identical for 1, 2 and 4 ranks; commands that
# run in one process refuse several ranks; zo info names the ranks.
# Usage: cli_mpi_test.sh <zo> <work dir> <mpiexec> <numproc flag> "<extra mpiexec flags>"
set -u
zo="$1"
work="$2"
mpiexec="$3"
np_flag="$4"
read -r -a extra <<<"${5:-}"
rm -rf "$work" && mkdir -p "$work"
fail=0
run_np() {  # <ranks> <zo args...>
  local n="$1"; shift
  "$mpiexec" "$np_flag" "$n" "${extra[@]}" "$zo" "$@"
}
same() {  # <what> <file a> <file b>
  if ! cmp -s "$2" "$3"; then echo "FAIL: $1: $2 and $3 differ"; fail=1; fi
}

# 1. Sharded sweeps equal one process, byte for byte (table and summary).
grid=(--d 20 --steps 3000 --seeds 0:3 --lambdas 0.1,0.05,0.02,0.01 --methods gd,zo,zo0 --qs 1,2
      --log-points 12)
sweep_args=(--no-plot "${grid[@]}")
"$zo" sweep "${sweep_args[@]}" --quiet --out "$work/one/s.csv" >/dev/null || { echo "FAIL: zo sweep"; fail=1; }
linear_args=(--no-plot --problem logistic --steps 400 --seeds 0:2 --lambdas 0.1,0.05
             --methods zo,gd --log-points 6)
"$zo" sweep "${linear_args[@]}" --quiet --out "$work/one/l.csv" >/dev/null || { echo "FAIL: zo sweep logistic"; fail=1; }
for n in 1 2 4; do
  run_np "$n" sweep "${sweep_args[@]}" --quiet --out "$work/np$n/s.csv" >/dev/null 2>"$work/np$n.err" ||
    { echo "FAIL: mpirun -np $n zo sweep exited $?"; cat "$work/np$n.err"; fail=1; }
  same "sweep, $n ranks" "$work/one/s.csv" "$work/np$n/s.csv"
  same "summary, $n ranks" "$work/one/s_summary.csv" "$work/np$n/s_summary.csv"
  run_np "$n" sweep "${linear_args[@]}" --quiet --out "$work/np$n/l.csv" >/dev/null 2>&1 ||
    { echo "FAIL: mpirun -np $n zo sweep --problem logistic"; fail=1; }
  same "logistic sweep, $n ranks" "$work/one/l.csv" "$work/np$n/l.csv"
  if ls "$work/np$n/"*.ckpt >/dev/null 2>&1; then echo "FAIL: $n ranks left checkpoints"; fail=1; fi
done
# Rank 0's first line names the ranks; with the figure (when matplotlib is there), which is the
# same bytes too.
plot=(--no-plot)
python3 -c "import matplotlib" 2>/dev/null && plot=()
"$zo" sweep "${grid[@]}" "${plot[@]}" --quiet --out "$work/one/p.csv" >/dev/null 2>&1
run_np 2 sweep "${grid[@]}" "${plot[@]}" --out "$work/banner/p.csv" >/dev/null 2>"$work/banner.err"
first=$(head -1 "$work/banner.err")
[[ "$first" == "zo: 2 ranks (MPI), "* ]] || { echo "FAIL: first line under mpirun: '$first'"; fail=1; }
same "sweep with figure, 2 ranks" "$work/one/p.csv" "$work/banner/p.csv"
if [[ ${#plot[@]} -eq 0 ]]; then
  same "figure, 2 ranks" "$work/one/p.png" "$work/banner/p.png"
else
  echo "note: matplotlib missing; the figure is not compared"
fi

# 2. Interrupted with 4 ranks, resumed with 2 (and a leftover checkpoint is never discarded).
# Batches of 3 runs (one configuration): each rank finishes one, then stops inside the next.
run_np 4 sweep "${sweep_args[@]}" --batch-size 3 --quiet --out "$work/res/s.csv" --stop-after-steps 12000 >/dev/null 2>&1
rc=$?
[[ $rc -eq 130 ]] || { echo "FAIL: interrupted sharded sweep exited $rc, expected 130"; fail=1; }
ls "$work/res/"s.shard*.ckpt >/dev/null 2>&1 || { echo "FAIL: no shard checkpoints"; fail=1; }
[[ -e "$work/res/s.csv" ]] && { echo "FAIL: an interrupted sweep wrote the table"; fail=1; }
out=$(run_np 2 sweep "${sweep_args[@]}" --batch-size 3 --quiet --out "$work/res/s.csv" 2>&1 >/dev/null)
[[ "$out" == *"--resume"* ]] || { echo "FAIL: rerun without --resume: '$out'"; fail=1; }
out=$("$zo" sweep "${sweep_args[@]}" --batch-size 3 --quiet --out "$work/res/s.csv" --resume 2>&1 >/dev/null)
[[ $? -eq 2 && "$out" == *"under mpirun"* ]] || { echo "FAIL: plain resume of shards: '$out'"; fail=1; }
run_np 2 sweep "${sweep_args[@]}" --batch-size 3 --out "$work/res/s.csv" --resume >/dev/null 2>"$work/res.err" ||
  { echo "FAIL: resume with 2 ranks"; cat "$work/res.err"; fail=1; }
grep -q "resumed from checkpoints" "$work/res.err" || { echo "FAIL: resume report"; fail=1; }
grep -q " 0 resumed" "$work/res.err" && { echo "FAIL: nothing was resumed"; fail=1; }
same "resumed 4 -> 2 ranks" "$work/one/s.csv" "$work/res/s.csv"
same "resumed summary" "$work/one/s_summary.csv" "$work/res/s_summary.csv"

# 3. A rank fails (injected): the others' configurations are kept, the lost ones are listed,
#    and --resume with another number of ranks runs only those.
# Batches of 3 runs (one configuration each; the table does not depend on the batch size).
ZO_TEST_FAIL_RANK=1 run_np 2 sweep "${sweep_args[@]}" --batch-size 3 --quiet --out "$work/fail/s.csv" >/dev/null 2>"$work/fail.err"
rc=$?
[[ $rc -ne 0 ]] || { echo "FAIL: a failed rank exited 0"; fail=1; }
grep -q "rank 1: injected failure" "$work/fail.err" || { echo "FAIL: failure not reported"; cat "$work/fail.err"; fail=1; }
grep -q "lost: [0-9]" "$work/fail.err" || { echo "FAIL: lost configurations not listed"; fail=1; }
run_np 4 sweep "${sweep_args[@]}" --batch-size 3 --out "$work/fail/s.csv" --resume >/dev/null 2>"$work/fail2.err" ||
  { echo "FAIL: resume after a failed rank"; cat "$work/fail2.err"; fail=1; }
grep -q " 0 resumed" "$work/fail2.err" && { echo "FAIL: the failed run's results were lost"; fail=1; }
same "after a failed rank" "$work/one/s.csv" "$work/fail/s.csv"

# 4. A rank killed with SIGKILL mid-sweep: mpirun aborts the job; the configurations finished by
#    then are in the shard checkpoints, and --resume completes the same bytes.
kill_args=(--no-plot --d 100 --steps 30000 --seeds 0:4 --methods zo
           --lambdas 0.2,0.1,0.07,0.05,0.03,0.02,0.01,0.005 --log-points 8)
kill_batch=(--batch-size 4)  # one configuration per batch: rank 1 checkpoints one at a time
"$zo" sweep "${kill_args[@]}" --quiet --out "$work/one/k.csv" >/dev/null || { echo "FAIL: zo sweep (kill reference)"; fail=1; }
run_np 2 sweep "${kill_args[@]}" "${kill_batch[@]}" --quiet --out "$work/kill/k.csv" >/dev/null 2>"$work/kill.err" &
launcher=$!
victim=""
for _ in $(seq 1 600); do  # until rank 1 has checkpointed a configuration (at most 60 s)
  if [[ -e "$work/kill/k.shard1.ckpt" ]]; then
    for pid in $(pgrep -P "$launcher") $(pgrep -P "$(pgrep -P "$launcher" | head -1)" 2>/dev/null); do
      if tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1\|PMI_RANK=1"; then
        victim=$pid
      fi
    done
    break
  fi
  sleep 0.1
done
if [[ -n "$victim" ]]; then
  kill -KILL "$victim"
  wait "$launcher"
  rc=$?
  [[ $rc -ne 0 ]] || { echo "FAIL: a job with a killed rank exited 0"; fail=1; }
  [[ -e "$work/kill/k.csv" ]] && { echo "FAIL: a killed job wrote the table"; fail=1; }
  run_np 1 sweep "${kill_args[@]}" "${kill_batch[@]}" --out "$work/kill/k.csv" --resume >/dev/null 2>"$work/kill2.err" ||
    { echo "FAIL: resume after a killed rank"; cat "$work/kill2.err"; fail=1; }
  grep -q " 0 resumed" "$work/kill2.err" && { echo "FAIL: the killed job's results were lost"; fail=1; }
  grep -q "(0 configurations run" "$work/kill2.err" && echo "note: rank 1 finished before the kill"
  same "after a killed rank" "$work/one/k.csv" "$work/kill/k.csv"
else
  wait "$launcher"
  echo "FAIL: could not find rank 1's process to kill"; fail=1
fi

# 5. Data-parallel zo linear: the same bytes for 1, 2 and 4 ranks.
lin=(--quiet --no-plot --iters 300 --log-points 6)
for n in 1 2 4; do
  run_np "$n" linear "${lin[@]}" --out "$work/lin$n/l.csv" >/dev/null 2>&1 ||
    { echo "FAIL: mpirun -np $n zo linear"; fail=1; }
done
same "zo linear, 2 ranks" "$work/lin1/l.csv" "$work/lin2/l.csv"
same "zo linear, 4 ranks" "$work/lin1/l.csv" "$work/lin4/l.csv"

# 6. One-process commands refuse several ranks (one line, exit 2); zo info names the ranks.
out=$(run_np 2 toy --quiet --out "$work/t.csv" 2>&1 >/dev/null | grep "^zo")
[[ "$out" == "zo toy: runs in one process"* && $(printf '%s\n' "$out" | wc -l) -eq 1 ]] ||
  { echo "FAIL: zo toy under mpirun -np 2: '$out'"; fail=1; }
out=$(run_np 2 info 2>/dev/null | grep "^mpi:")
[[ "$out" == *"2 ranks (MPI)"* ]] || { echo "FAIL: zo info under mpirun: '$out'"; fail=1; }

ls /tmp | grep -q "^zo-rank" && { echo "FAIL: scratch folders left in /tmp"; fail=1; }
[[ $fail -eq 0 ]] && echo "cli_mpi: all checks passed"
exit $fail

#!/usr/bin/env bash
# Strong and weak scaling of zo on MPI ranks (one OpenMP thread per rank, so a rank is a core):
# a sharded `zo sweep` and data-parallel `zo linear`, with 1, 2 and 4 ranks, next to the same
# command without mpirun; and bench_mpi_comm (the 16q-byte value exchange against a 4d-byte
# gradient allreduce). Needs GNU time (/usr/bin/time). Writes <out>/scaling.csv (wall and CPU
# seconds: user + system of every rank), <out>/comm.csv and <out>/machine.txt.
# Usage: bench/mpi_scaling.sh <build dir> <out dir> [ranks...]   (default ranks: 1 2 4)
# Ranks beyond the cores are oversubscribed (Open MPI --oversubscribe): they time-share.
set -euo pipefail
build="$1"
out="$2"
shift 2
ranks=("$@")
[[ $# -eq 0 ]] && ranks=(1 2 4)
zo="$build/tools/zo"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun --oversubscribe -np)
{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(grep -c '^processor' /proc/cpuinfo) cores"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "mpi: $(mpirun --version | head -1)"
  echo "threads per rank: 1 (OMP_NUM_THREADS=1)"
} >"$out/machine.txt"

seconds() {  # <command...>: "wall,cpu" seconds of one run (cpu: user + system of every rank)
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@" >/dev/null 2>&1
  read -r wall user sys <"$work/time"
  printf '%.3f,%.3f' "$wall" "$(echo "$user + $sys" | bc -l)"
}
lambdas() {  # <n>: n distinct lambda values
  local n="$1" i list=""
  for ((i = 1; i <= n; i++)); do list+="${list:+,}0.$(printf '%03d' "$((200 - 7 * i))")"; done
  echo "$list"
}

echo "workload,scaling,ranks,launcher,work_units,wall_s,cpu_s" >"$out/scaling.csv"
sweep=(sweep --quiet --no-plot --d 100 --steps 20000 --seeds 0:8 --methods zo --log-points 10)
linear=(linear --quiet --no-plot --losses logistic --methods zo --iters 1000 --log-points 5
        --n-test 1000)
# Without mpirun: the reference for the 1-rank figures.
s=$(seconds "$zo" "${sweep[@]}" --lambdas "$(lambdas 8)" --out "$work/s.csv")
echo "sweep,strong,1,none,64 runs,$s" >>"$out/scaling.csv"
s=$(seconds "$zo" "${linear[@]}" --n-train 8000 --out "$work/l.csv")
echo "linear,strong,1,none,8000 rows,$s" >>"$out/scaling.csv"
for n in "${ranks[@]}"; do
  # Strong: the same 8 configurations x 8 seeds; weak: 4 configurations (32 runs) per rank.
  s=$(seconds "${mpi[@]}" "$n" "$zo" "${sweep[@]}" --lambdas "$(lambdas 8)" --out "$work/s$n.csv")
  echo "sweep,strong,$n,mpirun,64 runs,$s" >>"$out/scaling.csv"
  s=$(seconds "${mpi[@]}" "$n" "$zo" "${sweep[@]}" --lambdas "$(lambdas $((4 * n)))" --out "$work/w$n.csv")
  echo "sweep,weak,$n,mpirun,$((32 * n)) runs,$s" >>"$out/scaling.csv"
  # Data-parallel zo linear: 8000 training rows split over the ranks; weak: 4000 per rank.
  s=$(seconds "${mpi[@]}" "$n" "$zo" "${linear[@]}" --n-train 8000 --out "$work/l$n.csv")
  echo "linear,strong,$n,mpirun,8000 rows,$s" >>"$out/scaling.csv"
  s=$(seconds "${mpi[@]}" "$n" "$zo" "${linear[@]}" --n-train $((4000 * n)) --out "$work/lw$n.csv")
  echo "linear,weak,$n,mpirun,$((4000 * n)) rows,$s" >>"$out/scaling.csv"
done
: >"$out/comm.csv"
for n in "${ranks[@]}"; do
  "${mpi[@]}" "$n" "$build/bench/bench_mpi_comm" | { [[ $n == "${ranks[0]}" ]] && cat || tail -n +2; } >>"$out/comm.csv"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
cat "$out/machine.txt" "$out/scaling.csv" "$out/comm.csv"

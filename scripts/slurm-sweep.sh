#!/usr/bin/env bash
# A zo sweep sharded over a Slurm allocation: one rank per GPU (8 GPUs x 16 nodes = 128 ranks
# here). zo picks one GPU per node-local rank (CUDA_VISIBLE_DEVICES) and shards the grid's
# configurations over the ranks by estimated cost; rank 0 writes the table, the summary and the
# figure. The output folder must be on a file system every node sees (the shard checkpoints
# <out stem>.shard<rank>.ckpt are written by each rank and read by all on --resume).
#
#   sbatch scripts/slurm-sweep.sh                      # a fresh sweep
#   sbatch scripts/slurm-sweep.sh --resume             # after a crash or a timeout: reruns only
#                                                      # the configurations not finished, with
#                                                      # any number of nodes
#SBATCH --job-name=zo-sweep
#SBATCH --nodes=16
#SBATCH --ntasks-per-node=8
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=8
#SBATCH --time=04:00:00
#SBATCH --output=zo-sweep-%j.log
set -euo pipefail
ZO=${ZO:-zo}                   # the zo executable (built with -DZO_WITH_MPI=ON)
OUT=${OUT:-$PWD/out/cluster/sweep.csv}
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
# --kill-on-bad-exit=1: a rank that dies ends the job at once (its peers would otherwise wait for
# it at the final gather); the configurations finished by then are in the shard checkpoints.
# --log-points 10: rank 0 gathers every row (10^7 here, about 0.6 GB; the gather takes at most
# 2 GiB).
# 10^6 runs: 100 lambdas x 10 step sizes x 1000 seeds of Example 2.1, d = 1000.
lambdas=$(python3 -c "print(','.join(f'{0.2 * 0.95 ** i:.6g}' for i in range(100)))")
etas=$(python3 -c "print(','.join(f'{1e-3 * 0.8 ** i:.6g}' for i in range(10)))")
srun --kill-on-bad-exit=1 "$ZO" sweep --d 1000 --steps 100000 --seeds 0:1000 \
  --methods zo --lambdas "$lambdas" --etas "$etas" --log-points 10 --out "$OUT" "$@"

// The CLI under an MPI launcher (mpirun, srun): launch detection from the environment (no MPI
// call, so it also works in builds without MPI), the MPI session of the process, and what each
// command does with several ranks. Nothing here includes <mpi.h>.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "zo/classification_data.hpp"
#include "zo/linear_model.hpp"
#include "zo/objective.hpp"

namespace zo_cli {

/// What the environment says about the launcher that started this process.
struct LaunchInfo {
  bool launched = false;  ///< started by mpirun / srun / another PMI launcher
  int size = 1;           ///< processes in the job
  int rank = 0;           ///< this process's rank
  int local_rank = 0;     ///< rank among the processes of this node (0 when unknown)
  std::string source;     ///< the variable that told, e.g. "OMPI_COMM_WORLD_SIZE=4"
};

/// Reads OMPI_COMM_WORLD_SIZE/RANK (Open MPI), PMI_SIZE/PMI_RANK (MPICH, Intel MPI),
/// PMIX_RANK with PMIX/OMPI sizes, and SLURM_STEP_NUM_TASKS/SLURM_PROCID (a task of an srun
/// step with more than one task; a batch script itself is not in such a step).
LaunchInfo detect_launch();

/// True when this zo was built with MPI (zo::mpi).
bool mpi_compiled();

/// Why `command` must not run under `launch`, as one line for rank 0's stderr (every rank then
/// exits 2 before any work), or "" when it may run: several processes but no MPI support built
/// (never N independent copies of the same work), or several processes for a command that runs
/// in one process only (everything but zo sweep, zo linear and zo info).
inline std::string launch_refusal(const LaunchInfo& launch, bool mpi_built,
                                  const std::string& command) {
  if (!launch.launched || launch.size <= 1) return "";
  const std::string n = std::to_string(launch.size);
  if (!mpi_built)
    return "zo: started by an MPI launcher with " + n + " processes (" + launch.source +
           "), but this zo was built without MPI support (-DZO_WITH_MPI=ON needs an MPI such as "
           "libopenmpi-dev); run one process without the launcher, or rebuild with MPI";
  if (command != "sweep" && command != "linear" && command != "info")
    return "zo " + command + ": runs in one process; under an MPI launcher (" + n +
           " processes) use zo sweep (configurations sharded over the ranks) or zo linear "
           "(data-parallel)";
  return "";
}

/// Starts MPI when `launch.launched` (MPI builds only), first pointing the CUDA runtime at one
/// GPU per local rank when a node has several (CUDA_VISIBLE_DEVICES, unless the user set one
/// device already). Ranks other than 0 get stdout and stderr on /dev/null; rank_error() writes
/// to the original stderr.
void start_mpi(int* argc, char*** argv, const LaunchInfo& launch);
/// Finalises MPI (normal exit), or aborts the job with `code` when `abort_job`.
void stop_mpi(int code, bool abort_job);

/// True between start_mpi() and stop_mpi().
bool mpi_active();
/// Rank and size in MPI_COMM_WORLD (0 and 1 without MPI).
int mpi_rank();
int mpi_size();
/// "zo: 4 ranks (MPI), Open MPI v4.1.4, 2 nodes" — rank 0's first line under a launcher.
std::string mpi_banner();
/// Prints a line on this rank's original stderr, prefixed "zo (rank R): ".
void rank_error(const std::string& line);
/// The shard checkpoints of a sharded sweep whose single-process checkpoint is
/// `checkpoint_path` (out/s.ckpt -> out/s.shard<r>.ckpt), that exist.
std::vector<std::string> shard_checkpoints_of(const std::string& checkpoint_path);
/// zo linear under MPI: the model of `train` / `test` with its rows split into
/// min(64, train rows, test rows) chunks over the ranks (zo::mpi::DataParallelObjective), so
/// that every rank runs the same grid on the same values for any number of ranks.
std::shared_ptr<const zo::Objective> data_parallel_linear_model(
    zo::LinearLoss loss, const zo::BinaryDataset& train, const zo::BinaryDataset& test,
    const zo::LinearModelOptions& options);
/// The prefix of those files (out/s.ckpt -> out/s).
std::string shard_prefix_of(const std::string& checkpoint_path);

}  // namespace zo_cli

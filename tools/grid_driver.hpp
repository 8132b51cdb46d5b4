// The grid driver shared by zo sweep and its presets zo toy and zo linear: one code path for
// grids of runs, progress, the output table, divergence, interruption and resume.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zo/objective.hpp"
#include "zo/sweep.hpp"

namespace zo_cli {

/// One objective and its grid. A command runs one job (zo sweep, zo toy) or several that write
/// one table (zo linear: one per loss).
struct GridJob {
  std::shared_ptr<const zo::Objective> objective;
  zo::SweepSpec spec;
  std::string label;  ///< what the command's table calls this job (e.g. the loss), may be empty
};

/// Where and how the jobs' results are written.
struct GridOutput {
  std::string command;          ///< "sweep", "toy", "linear": names messages and progress
  std::string table_path;       ///< the table every job writes into, in job order
  std::string summary_path;     ///< per-configuration summary (single-job commands); empty = none
  std::string checkpoint_path;  ///< checkpoint of a single-job command; empty = none
  double checkpoint_seconds = 60.0;
  std::uint64_t checkpoint_steps = 0;
  bool resume = false;
  /// The table layout: the header comes from the first job; `rows` is called per completed
  /// batch with that job. Empty functions: zo's long format.
  std::function<std::string(const GridJob&, const zo::Sweep&)> header;
  std::function<std::string(const GridJob&, const zo::Sweep&, const zo::SweepRows&)> rows;
  /// The last progress line of a completed grid; empty function: "R runs x T steps on
  /// <backend>, D diverged".
  std::function<std::string(const struct GridResult&)> finish_line;
  bool quiet = false;
  /// Testing: behave as if Ctrl-C came once this many run-steps are done (0 = off).
  std::uint64_t stop_after = 0;
  /// Without resume: discard the checkpoints of an unfinished sweep (the command's --overwrite).
  bool overwrite = false;
  /// Under MPI: every rank runs the whole grid on data-parallel objectives and rank 0 writes the
  /// files (zo linear); otherwise the configurations are sharded over the ranks (zo sweep).
  bool replicated = false;
};

/// The outcome of run_grid().
struct GridResult {
  bool interrupted = false;
  int exit_code = 0;  ///< 130 (SIGINT or a test stop) or 143 (SIGTERM) when interrupted
  std::vector<std::unique_ptr<zo::Sweep>> sweeps;  ///< one per job, finished unless interrupted
  std::size_t diverged = 0;                        ///< runs marked diverged, over all jobs
};

/// Under MPI (tools/cli_mpi.hpp) and not `replicated`: the single job's configurations sharded
/// over the ranks with zo::mpi::run_sweep_sharded (tools/grid_driver_mpi.cpp); `stop_signal`
/// returns the signal that asked to stop (0: none).
GridResult run_grid_sharded(std::vector<GridJob>& jobs, const GridOutput& output,
                            const std::function<int()>& stop_signal);

/// Runs the jobs one after the other through zo::run_sweep into one table, with a progress line
/// over all of them (unless quiet). SIGINT and SIGTERM stop at a step boundary: a single-job
/// grid with a checkpoint path writes its checkpoint; otherwise the complete rows so far go to
/// zo::sweep_partial_path(table_path). Existing outputs are replaced only on completion. Throws
/// what zo::Sweep and zo::run_sweep throw.
GridResult run_grid(std::vector<GridJob>& jobs, const GridOutput& output);

/// A line "<command>: C configs x S seeds = R runs x T steps on <backend> (<engine> engine, ...)"
/// describing a job's sweep, for the progress output.
std::string describe_sweep(const std::string& command, const zo::Sweep& sweep);

/// Declares --divergence-factor (shared by zo sweep, zo toy and zo linear).
void add_divergence_option(class ArgParser& p);

/// Sets spec.divergence from --divergence-factor (the factor of both the loss and the norm test;
/// 0 disables them; non-finite values are still caught).
void apply_divergence_option(const class ArgParser& p, zo::SweepSpec& spec);

/// The rows of a completed batch reordered by (iteration, run): the layout of zo toy and zo
/// linear, whose tables list every run at each logged iteration. Returns indices into `rows`.
std::vector<std::size_t> by_iteration(const zo::SweepRows& rows);

}  // namespace zo_cli

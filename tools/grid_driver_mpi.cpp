// The grid driver under MPI: a sweep's configurations sharded over the ranks
// (zo::mpi::run_sweep_sharded), rank 0 writing the files and reporting.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "cli_mpi.hpp"
#include "grid_driver.hpp"
#include "zo/error.hpp"

#if ZO_HAVE_MPI
#include "zo/mpi.hpp"
#endif

namespace zo_cli {

#if ZO_HAVE_MPI

GridResult run_grid_sharded(std::vector<GridJob>& jobs, const GridOutput& output,
                            const std::function<int()>& stop_signal) {
  const std::string command = "zo " + output.command;
  if (jobs.size() != 1)
    throw UsageError(command + ": runs " + std::to_string(jobs.size()) +
                     " grids into one table, which is not sharded over MPI ranks");
  if (output.checkpoint_path.empty())
    throw UsageError(command + ": a sharded sweep needs a checkpoint path");
  const int rank = mpi_rank(), size = mpi_size();
  const std::string prefix = shard_prefix_of(output.checkpoint_path);

  // Existing shard checkpoints: continue (--resume), discard (--overwrite) or refuse. Rank 0
  // decides for everyone; nobody reads them before it is done.
  const auto existing = zo::mpi::existing_shard_checkpoints(prefix);
  if (!output.resume && !existing.empty()) {
    if (!output.overwrite)
      throw UsageError(command + ": checkpoints of an unfinished sweep exist ('" + existing[0] +
                       "'...): continue it with --resume, or start over with --overwrite");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (!output.resume && rank == 0) {
    for (const auto& file : existing) {
      std::error_code ec;
      std::filesystem::remove(file, ec);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);

  GridResult result;
  const GridJob& job = jobs[0];
  result.sweeps.push_back(std::make_unique<zo::Sweep>(*job.objective, job.spec));
  const zo::Sweep& whole = *result.sweeps[0];
  if (!output.quiet && rank == 0)
    std::fprintf(stderr, "%s; configurations sharded over %d rank%s\n",
                 describe_sweep(output.command, whole).c_str(), size, size == 1 ? "" : "s");

  zo::mpi::ShardedSweepOutput out;
  out.table_path = output.table_path;
  out.summary_path = output.summary_path;
  out.checkpoint_prefix = prefix;
  out.resume = output.resume;
  if (output.header)
    out.format.header = [&output, &job](const zo::Sweep& s) { return output.header(job, s); };
  if (output.rows)
    out.format.rows = [&output, &job](const zo::Sweep& s, const zo::SweepRows& r) {
      return output.rows(job, s, r);
    };

  // Testing: ZO_TEST_FAIL_RANK=R makes rank R fail once it has finished a configuration.
  const char* fail_env = std::getenv("ZO_TEST_FAIL_RANK");
  const int fail_rank = fail_env ? std::atoi(fail_env) : -1;
  // Rank 0's share (known once the configurations are assigned, at the first report).
  std::unique_ptr<Progress> progress;
  const auto progress_of = [&](std::uint64_t total) -> Progress& {
    if (!progress) progress = std::make_unique<Progress>(command, total, output.quiet || rank != 0);
    return *progress;
  };
  zo::SweepCallbacks callbacks;
  callbacks.on_progress = [&](const zo::SweepProgress& s) {
    progress_of(s.config_steps_total)
        .update(s.config_steps_done, "run-steps",
                "rank 0's share: runs " + std::to_string(s.runs_done) + "/" +
                    std::to_string(s.runs_total));
  };
  callbacks.should_stop = [&](const zo::SweepProgress& s) {
    if (rank == fail_rank && s.runs_done > 0)
      throw zo::Error("injected failure (ZO_TEST_FAIL_RANK=" + std::to_string(fail_rank) + ")");
    return stop_signal() != 0 ||
           (output.stop_after > 0 && s.config_steps_done >= output.stop_after);
  };
  if (output.stop_after > 0) callbacks.max_steps_per_advance = 1;

  const zo::mpi::ShardedSweepResult r =
      zo::mpi::run_sweep_sharded(*job.objective, job.spec, out, MPI_COMM_WORLD, callbacks);
  const std::size_t ran = r.configs_done - r.configs_resumed;
  if (r.status == zo::mpi::ShardStatus::completed) {
    for (auto d : r.finals.diverged) result.diverged += d;
    progress_of(0).finish(
        std::to_string(whole.num_runs()) + " runs x " + std::to_string(job.spec.steps) +
        " steps on " + std::to_string(size) + " rank" + (size == 1 ? "" : "s") + " (" +
        std::to_string(ran) + " configurations run, " + std::to_string(r.configs_resumed) +
        " resumed from checkpoints), " + std::to_string(result.diverged) + " diverged");
    return result;
  }
  result.interrupted = true;
  std::string lost;
  for (std::size_t i = 0; i < r.lost.size() && i < 20; ++i)
    lost += (i ? "," : "") + std::to_string(r.lost[i]);
  if (r.lost.size() > 20) lost += ",... (" + std::to_string(r.lost.size()) + " in all)";
  if (r.status == zo::mpi::ShardStatus::failed) {
    result.exit_code = 1;
    for (const auto& f : r.failures) std::fprintf(stderr, "%s: %s\n", command.c_str(), f.c_str());
    std::fprintf(stderr,
                 "%s: %zu of %zu configurations are done and kept in the shard checkpoints; lost: "
                 "%s. Rerun with the same options plus --resume (any number of ranks) to run "
                 "only those.\n",
                 command.c_str(), r.configs_done, r.configs_total,
                 lost.empty() ? "none" : lost.c_str());
  } else {
    result.exit_code = stop_signal() == SIGTERM ? 143 : 130;
    progress_of(0).finish("interrupted");
    std::fprintf(stderr,
                 "%s: interrupted; %zu of %zu configurations are done and kept in the shard "
                 "checkpoints (%s.shard<rank>.ckpt)\n",
                 command.c_str(), r.configs_done, r.configs_total, prefix.c_str());
  }
  return result;
}

#else

GridResult run_grid_sharded(std::vector<GridJob>&, const GridOutput& output,
                            const std::function<int()>&) {
  throw UsageError("zo " + output.command + ": this zo was built without MPI support");
}

#endif

}  // namespace zo_cli

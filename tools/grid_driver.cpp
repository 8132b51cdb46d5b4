// The grid driver: zo sweep, zo toy and zo linear all run their grids through run_grid().
#include "grid_driver.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <numeric>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "cli_mpi.hpp"
#include "zo/backend.hpp"

namespace zo_cli {
namespace {

std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int signal) { g_signal.store(signal); }

/// Installs the SIGINT and SIGTERM handlers for its lifetime: the grid stops at the next step
/// boundary; a second signal of the same kind kills at once.
class InterruptGuard {
 public:
  InterruptGuard() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    g_signal.store(0);
    sigaction(SIGINT, &action, &previous_int_);
    sigaction(SIGTERM, &action, &previous_term_);
  }
  ~InterruptGuard() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace

std::string describe_sweep(const std::string& command, const zo::Sweep& sweep) {
  const auto totals = sweep.progress();
  char line[512];
  std::snprintf(line, sizeof line,
                "zo %s: %zu configs x %zu seeds = %zu runs x %llu steps on %s (%s engine, %zu "
                "runs per batch, %zu batches)",
                command.c_str(), sweep.spec().configs.size(), sweep.spec().seeds.size(),
                sweep.num_runs(), static_cast<unsigned long long>(sweep.spec().steps),
                zo::to_string(sweep.backend()), zo::to_string(sweep.engine()), sweep.batch_size(),
                totals.batches);
  return line;
}

void add_divergence_option(ArgParser& p) {
  p.option("divergence-factor", "1e4",
           "a run has diverged when a logged loss exceeds F x max(|f_0|, |f_best|, 1) or its "
           "iterate norm F x max(|x_0|, 1); 0 disables both tests (non-finite values still count)");
}

void apply_divergence_option(const ArgParser& p, zo::SweepSpec& spec) {
  const double factor = p.number("divergence-factor");
  if (factor < 0 || (factor > 0 && factor < 1))
    throw UsageError("zo " + p.command() + ": --divergence-factor: must be 0 or >= 1 (got " +
                     p.str("divergence-factor") + ")");
  spec.divergence.loss_factor = factor;
  spec.divergence.norm_factor = factor;
}

std::vector<std::size_t> by_iteration(const zo::SweepRows& rows) {
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&rows](std::size_t a, std::size_t b) {
    return rows.iteration[a] < rows.iteration[b];
  });
  return order;
}

GridResult run_grid(std::vector<GridJob>& jobs, const GridOutput& given) {
  if (mpi_active() && !given.replicated) {
    InterruptGuard interrupt_guard;
    return run_grid_sharded(jobs, given, [] { return g_signal.load(); });
  }
  if (!mpi_active() && given.resume && !given.checkpoint_path.empty() &&
      !std::filesystem::exists(given.checkpoint_path) &&
      !shard_checkpoints_of(given.checkpoint_path).empty())
    throw UsageError("zo " + given.command + ": the checkpoints of '" + given.table_path +
                     "' were written by a sweep under mpirun (" +
                     shard_checkpoints_of(given.checkpoint_path)[0] +
                     "...): resume it under mpirun, with any number of ranks (-np 1 too)");
  // Replicated under MPI: ranks other than 0 run the same grid into a private scratch folder.
  GridOutput output = given;
  struct Scratch {
    std::filesystem::path dir;
    ~Scratch() {
      std::error_code ec;
      if (!dir.empty()) std::filesystem::remove_all(dir, ec);
    }
  } scratch;
  if (mpi_active() && mpi_rank() != 0) {
    scratch.dir = std::filesystem::temp_directory_path() /
                  ("zo-rank" + std::to_string(mpi_rank()) + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(scratch.dir);
    output.table_path = (scratch.dir / "table.csv").string();
    output.summary_path = output.summary_path.empty() ? "" : (scratch.dir / "summary.csv").string();
    output.checkpoint_path.clear();
    output.quiet = true;
  }
  GridResult result;
  std::uint64_t total = 0;
  for (auto& job : jobs) {
    result.sweeps.push_back(std::make_unique<zo::Sweep>(*job.objective, job.spec));
    total += result.sweeps.back()->progress().config_steps_total;
  }
  const bool single = jobs.size() == 1;
  Progress progress("zo " + output.command, total, output.quiet);
  InterruptGuard interrupt_guard;
  std::uint64_t done_before = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const GridJob& job = jobs[j];
    zo::Sweep& sweep = *result.sweeps[j];
    if (!output.quiet) std::fprintf(stderr, "%s\n", describe_sweep(output.command, sweep).c_str());

    zo::SweepOutput out;
    out.table_path = output.table_path;
    out.append = j > 0;
    out.finish_table = j + 1 == jobs.size();
    if (single) {
      out.summary_path = output.summary_path;
      out.checkpoint_path = output.checkpoint_path;
      out.checkpoint_seconds = output.checkpoint_seconds;
      out.checkpoint_steps = output.checkpoint_steps;
      out.resume = output.resume;
    }
    if (output.header) {
      out.format.header = [&output, &job](const zo::Sweep& s) { return output.header(job, s); };
    }
    if (output.rows) {
      out.format.rows = [&output, &job](const zo::Sweep& s, const zo::SweepRows& r) {
        return output.rows(job, s, r);
      };
    }
    zo::SweepCallbacks callbacks;
    callbacks.on_progress = [&](const zo::SweepProgress& s) {
      progress.update(
          done_before + s.config_steps_done, "run-steps",
          single ? "runs " + std::to_string(s.runs_done) + "/" + std::to_string(s.runs_total)
                 : "job " + std::to_string(j + 1) + "/" + std::to_string(jobs.size()));
    };
    callbacks.should_stop = [&](const zo::SweepProgress& s) {
      return g_signal.load() != 0 ||
             (output.stop_after > 0 && done_before + s.config_steps_done >= output.stop_after);
    };
    if (output.stop_after > 0) callbacks.max_steps_per_advance = 1;  // stop at that exact step
    if (zo::run_sweep(sweep, out, callbacks) == zo::SweepStatus::interrupted) {
      result.interrupted = true;
      result.exit_code = g_signal.load() == SIGTERM ? 143 : 130;
      progress.finish("interrupted");
      if (output.checkpoint_path.empty() || !single) {
        std::fprintf(stderr, "zo %s: interrupted; the complete rows so far are in %s\n",
                     output.command.c_str(), zo::sweep_partial_path(output.table_path).c_str());
      }
      return result;
    }
    for (auto d : sweep.finals().diverged) result.diverged += d;
    done_before += sweep.progress().config_steps_total;
  }
  if (output.finish_line) {
    progress.finish(output.finish_line(result));
  } else {
    std::size_t runs = 0;
    for (const auto& s : result.sweeps) runs += s->num_runs();
    progress.finish(std::to_string(runs) + " runs x " + std::to_string(jobs[0].spec.steps) +
                    " steps on " + zo::to_string(result.sweeps[0]->backend()) + ", " +
                    std::to_string(result.diverged) + " diverged");
  }
  return result;
}

}  // namespace zo_cli

// Sweeps: thousands of runs (seeds × λ × η × q × method) of one objective, advanced together in
// batches, logged into one long table, checkpointed and resumable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "zo/backend.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"
#include "zo/run_batch.hpp"
#include "zo/trace.hpp"

namespace zo {

/// One point of a sweep grid: everything that defines a run except its seed.
struct SweepConfig {
  Method method = Method::zo;
  float lambda = 0.1f;  ///< smoothing radius (ZO only; 0 for gd and zo0)
  float eta = 1e-3f;    ///< step size
  std::uint32_t q = 1;  ///< directions per step (ZO and ZO λ→0; 1 for gd)
  Distribution distribution = Distribution::gaussian;
};

/// The Cartesian product methods × λ × η × q in that nesting order, where λ applies to `zo`
/// only (gd and zo0 get λ = 0) and q to `zo` and `zo0` only (gd gets q = 1), so no duplicate
/// configurations arise. Throws zo::InvalidArgument on an empty list or an invalid value.
ZO_API std::vector<SweepConfig> sweep_grid(const std::vector<Method>& methods,
                                           const std::vector<float>& lambdas,
                                           const std::vector<float>& etas,
                                           const std::vector<std::uint32_t>& qs,
                                           Distribution distribution = Distribution::gaussian);

/// What to sweep. Run r (0 ≤ r < configs.size() · seeds.size()) uses configs[r / seeds.size()]
/// and seeds[r % seeds.size()]; its initial point is init_scale · N(0, I) drawn with
/// zo::gaussian_fill(seed, 0, ...), so every configuration of a seed starts from the same point.
struct SweepSpec {
  std::vector<SweepConfig> configs;
  std::vector<std::uint64_t> seeds;
  std::uint64_t steps = 0;                    ///< iterations T of every run
  std::vector<std::uint64_t> log_iterations;  ///< iterations whose iterate is logged; T is added
  float init_scale = 1.0f;
  /// When not empty (objective.dim() floats): every run starts from this point instead of
  /// init_scale · N(0, I) drawn from its seed (init_scale is then ignored).
  std::vector<float> initial_point;
  std::size_t batch_size = 0;  ///< runs advanced together; 0 = automatic (memory-bounded)
  Backend backend = Backend::automatic;
  /// The RunBatch engine of every batch (zo::Engine): `automatic` picks the fused engine for
  /// Example 2.1 when the configurations allow it, else the generic one.
  Engine engine = Engine::automatic;
  /// The trace column: `exact` logs the objective's closed form (NaN when it has none); any
  /// other estimator (zo/trace.hpp) logs an estimate with `trace_probes` probes and common random
  /// numbers from `trace_seed` (so resumed sweeps log the same values), adds a `trace_se` column
  /// (its standard error) and uses the generic engine unless another is chosen.
  TraceEstimator trace_estimator = TraceEstimator::exact;
  std::uint32_t trace_probes = 16;
  std::uint64_t trace_seed = 0;
  DivergenceBound divergence;  ///< when a run counts as diverged (see DivergenceBound)
};

/// A long-format table: one row per (run, logged iteration). `metrics` is row-major with
/// metric_count columns (the objective's metric_names()). A row is `diverged` when the run was
/// frozen by a non-finite value at step diverged_at < iteration.
struct ZO_API SweepRows {
  std::size_t metric_count = 0;
  std::vector<std::uint64_t> run;
  std::vector<std::uint64_t> iteration;
  std::vector<double> loss;
  std::vector<double> trace;  ///< exact Hessian trace (NaN when the objective has none)
  std::vector<double> metrics;
  std::vector<std::uint8_t> diverged;
  std::vector<std::uint64_t> diverged_at;

  /// Number of rows.
  std::size_t size() const { return run.size(); }
  /// Removes every row (keeps metric_count).
  void clear();
  /// Appends row i of `other` (same metric_count).
  void append_row(const SweepRows& other, std::size_t i);
};

/// Counters of a running sweep.
struct SweepProgress {
  std::size_t runs_done = 0;
  std::size_t runs_total = 0;
  std::uint64_t config_steps_done = 0;  ///< Σ over runs of steps taken (the unit of throughput)
  std::uint64_t config_steps_total = 0;
  std::size_t batch = 0;  ///< index of the batch in progress (== batches when done)
  std::size_t batches = 0;
};

namespace detail {
class SweepState;
}

/// A sweep in progress: batches of runs advance one after another; the runs of a batch advance
/// together. Rows of a batch are handed out when the batch completes, sorted by (run,
/// iteration), so the table does not depend on the batch size. With the fused engine the rows
/// are bit-identical on the CPU and the GPU; with the generic engine, bit-identical for a given
/// backend and within the backends' documented tolerance across them.
class ZO_API Sweep {
 public:
  /// Validates the spec (non-empty grid and seeds, valid configs, log iterations ≤ steps,
  /// steps < 2^32) against `objective`, which must outlive the sweep.
  Sweep(const Objective& objective, SweepSpec spec);
  ~Sweep();
  Sweep(Sweep&&) noexcept;
  Sweep& operator=(Sweep&&) noexcept;
  Sweep(const Sweep&) = delete;
  Sweep& operator=(const Sweep&) = delete;

  /// The spec, with log_iterations sorted, deduplicated and ending at `steps`.
  const SweepSpec& spec() const;
  /// The objective's name, and the metric columns of the table: the objective's metric_names(),
  /// then `trace_se` when the trace is estimated.
  std::string objective_name() const;
  const std::vector<std::string>& metric_names() const;
  /// configs.size() × seeds.size().
  std::size_t num_runs() const;
  /// The RunSpec of run r.
  RunSpec run_spec(std::size_t run) const;
  /// Index into spec().configs of run r.
  std::size_t config_of(std::size_t run) const;
  /// The engine in use (never `automatic`).
  Engine engine() const;
  /// The backend of the batch in progress (or that the next batch will use).
  Backend backend() const;
  /// Runs per batch.
  std::size_t batch_size() const;
  /// Counters.
  SweepProgress progress() const;
  /// True when every run has finished.
  bool done() const;

  /// Advances the batch in progress by at most `max_steps` (≥ 1) steps, stopping at its end.
  /// When the batch completes, appends its rows (sorted by run, then iteration) to `completed`
  /// and moves on to the next batch. Returns the number of steps taken.
  std::uint64_t advance(std::uint64_t max_steps, SweepRows* completed);

  /// One row per finished run: its values at the last logged iteration (= spec().steps).
  const SweepRows& finals() const;
  /// The rows logged so far by the batch in progress (complete rows, in (iteration, run) order);
  /// empty between batches.
  const SweepRows& pending() const;

  /// Writes the complete state (iterates, step, statuses of the batch in progress, its rows so
  /// far, the finished runs' final rows) to a binary stream.
  void save(std::ostream& out) const;
  /// Restores a state written by save() for the same spec and objective; throws
  /// zo::InvalidArgument naming the mismatch otherwise.
  void load(std::istream& in);

 private:
  std::unique_ptr<detail::SweepState> state_;
};

/// How run_sweep() writes the long table. Empty functions mean zo's long format
/// (sweep_table_header() and format_sweep_rows()); commands that print another layout (zo toy,
/// zo linear) give their own. `rows` receives the rows of each completed batch, sorted by (run,
/// iteration), and returns their lines (each ending in a newline).
struct SweepTableFormat {
  std::function<std::string(const Sweep&)> header;
  std::function<std::string(const Sweep&, const SweepRows&)> rows;
};

/// Files written by run_sweep().
struct SweepOutput {
  std::string table_path;            ///< long-format CSV (one row per run and logged iteration)
  std::string summary_path;          ///< per-configuration summary CSV; empty = none
  std::string checkpoint_path;       ///< binary checkpoint; empty = no checkpoints (and no resume)
  double checkpoint_seconds = 60.0;  ///< write a checkpoint at least this often (0 = never by time)
  std::uint64_t checkpoint_steps = 0;  ///< ... and every this many steps of a batch (0 = never)
  bool resume = false;                 ///< continue from checkpoint_path if it exists
  /// Append the rows to the part file of an earlier run_sweep() with finish_table = false
  /// instead of starting a table with a header (several sweeps into one table; no checkpoint).
  bool append = false;
  /// Rename the part file to table_path when the sweep completes (false: a later run_sweep()
  /// with append continues it).
  bool finish_table = true;
  SweepTableFormat format;  ///< the table's layout (default: zo's long format)
};

/// Hooks of run_sweep(); both are optional.
struct SweepCallbacks {
  /// Called after every advance (a few times per second at most by default).
  std::function<void(const SweepProgress&)> on_progress;
  /// Polled at every step boundary between advances; returning true writes a checkpoint and
  /// makes run_sweep return SweepStatus::interrupted.
  std::function<bool(const SweepProgress&)> should_stop;
  /// Upper bound on steps per advance (0 = automatic, about 0.25 s of work per advance).
  std::uint64_t max_steps_per_advance = 0;
};

/// How run_sweep() ended.
enum class SweepStatus { completed, interrupted };

/// Runs `sweep` to completion (or interruption), writing the table, the summary and periodic
/// checkpoints, each atomically: the table grows in sweep_part_path(table_path) and replaces
/// table_path only on completion; the summary and checkpoints go through a temporary file and a
/// rename. So a failed or interrupted run never touches an existing table or summary.
/// Interrupted (callbacks.should_stop) with a checkpoint path: the checkpoint is written and the
/// part file kept; with output.resume, the part file is truncated to the checkpointed length and
/// continued, and the files end byte-identical to an uninterrupted run's. Interrupted without a
/// checkpoint path: every complete row so far, including those of the batch in progress, goes to
/// sweep_partial_path(table_path). The checkpoint is removed on completion. Throws zo::Error on
/// I/O failures and zo::InvalidArgument when the checkpoint belongs to another sweep.
ZO_API SweepStatus run_sweep(Sweep& sweep, const SweepOutput& output,
                             const SweepCallbacks& callbacks = {});

/// Where run_sweep() grows the table before it is complete: "<table_path>.part".
ZO_API std::string sweep_part_path(const std::string& table_path);

/// Where run_sweep() leaves the complete rows of an interrupted sweep that has no checkpoint:
/// "<stem>.partial<extension>" beside table_path (out/toy.csv → out/toy.partial.csv).
ZO_API std::string sweep_partial_path(const std::string& table_path);

/// One row of the summary: a configuration's final values over its seeds.
struct SweepSummaryRow {
  std::size_t config = 0;
  std::size_t seeds = 0;     ///< runs of this configuration
  std::size_t diverged = 0;  ///< runs frozen by NaN/Inf (excluded from the statistics)
  double loss_mean = 0, loss_se = 0, loss_median = 0;
  double trace_mean = 0, trace_se = 0, trace_median = 0;
  std::vector<double> metric_mean, metric_se;
};

/// Mean, standard error (sample standard deviation / √n; NaN for n < 2) and median of the
/// final values of each configuration over its non-diverged seeds.
ZO_API std::vector<SweepSummaryRow> summarize(const Sweep& sweep);
/// The same statistics from final rows gathered elsewhere (one per run, as Sweep::finals()
/// lists them), e.g. by a sweep sharded over several processes.
ZO_API std::vector<SweepSummaryRow> summarize(const Sweep& sweep, const SweepRows& finals);

/// The header line of the long table (no newline).
ZO_API std::string sweep_table_header(const Sweep& sweep);
/// Formats rows as CSV lines of the long table (doubles with 17 significant digits).
ZO_API std::string format_sweep_rows(const Sweep& sweep, const SweepRows& rows);
/// The summary CSV (header and one line per configuration).
ZO_API std::string format_sweep_summary(const Sweep& sweep,
                                        const std::vector<SweepSummaryRow>& rows);

}  // namespace zo

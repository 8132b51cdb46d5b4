// Algorithm 1 (ZO-SGD with the two-point estimator) and its baselines, for K independent runs
// that advance together. One run is K = 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zo/backend.hpp"
#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"
#include "zo/stream_view.hpp"

namespace zo {

/// The update rule of a run.
enum class Method {
  zo,        ///< Algorithm 1: g = (1/q) Σ_j (f(x+λu_j) − f(x−λu_j))/(2λ) · u_j
  gd,        ///< gradient descent: g = ∇f(x) (needs an objective with a gradient)
  zo_limit,  ///< ZO with λ → 0: g = (1/q) Σ_j (u_jᵀ∇f(x)) · u_j (needs a gradient)
};

/// "zo", "gd" or "zo0".
ZO_API const char* to_string(Method method);

/// Parses "zo", "gd", "zo0" (also "zo-limit"); throws zo::InvalidArgument otherwise.
ZO_API Method parse_method(const std::string& text);

/// "gaussian", "rademacher" or "sphere".
ZO_API const char* to_string(Distribution distribution);

/// Parses "gaussian", "rademacher", "sphere"; throws zo::InvalidArgument otherwise.
ZO_API Distribution parse_distribution(const std::string& text);

/// Hyper-parameters of one run. The run's directions at step t are the directions with key
/// (seed, t, j), j = 0..q−1: a run is reproducible from (x, seed, step) alone.
struct RunSpec {
  Method method = Method::zo;
  float lambda = 0.1f;  ///< smoothing radius λ > 0 (ZO only)
  float eta = 1e-3f;    ///< step size η > 0
  std::uint32_t q = 1;  ///< directions averaged per step, q ≥ 1 (ZO and ZO λ→0)
  std::uint64_t seed = 0;
  Distribution distribution = Distribution::gaussian;
};

/// Throws zo::InvalidArgument naming the offending field when `spec` is invalid
/// (λ ≤ 0 or not finite, η ≤ 0 or not finite, q = 0).
ZO_API void validate(const RunSpec& spec);

/// What happens when the objective returns NaN/Inf (or a projected gradient is not finite).
enum class NonFinitePolicy {
  error,          ///< throw zo::ObjectiveError naming the step and run; no run advances that step
  skip,           ///< leave that run's iterate unchanged for the step and count the skip
  mark_diverged,  ///< freeze that run and record the step; other runs continue
};

/// Per-run bookkeeping.
struct RunStatus {
  bool diverged = false;            ///< frozen by NonFinitePolicy::mark_diverged
  std::uint64_t diverged_at = 0;    ///< the step that produced a non-finite value
  std::uint64_t skipped_steps = 0;  ///< steps skipped under NonFinitePolicy::skip
};

/// How a RunBatch advances its runs. Every engine runs Algorithm 1 with the same directions and
/// the same update rounding; they differ in how f(x ± λu) and the metrics are evaluated and
/// summed, so their iterates agree to within rounding (the tests state the tolerances), and each
/// is deterministic on its own.
enum class Engine {
  automatic,  ///< `fused` when the objective and the runs allow it, else `margins` for a
              ///< linear model on the CPU when the runs allow it, else `generic` (see
              ///< select_engine())
  generic,    ///< any objective: each step evaluates all 2·K·q perturbed points in one call
  fused,      ///< Example 2.1 (ObjectiveStructure::example21) with d ≤ 512, q ≤ 64, Gaussian or
              ///< Rademacher directions and NonFinitePolicy::mark_diverged: whole steps on chip
              ///< (a persistent kernel on the GPU), logged metrics written from the kernel
  margins,    ///< linear models (ObjectiveStructure::linear_model), methods zo and gd: ZO
              ///< runs get f(x ± λu) = loss(Ax ± λAu) from the kept margins Ax and one product
              ///< A·u per direction, instead of two products with x ± λu; GD runs are updated
              ///< exactly as by the generic CPU engine
};

/// "auto", "generic", "fused" or "margins".
ZO_API const char* to_string(Engine engine);

/// Parses "auto", "generic" (also "batched", "runbatch"), "fused", "margins"; throws
/// zo::InvalidArgument otherwise.
ZO_API Engine parse_engine(const std::string& text);

/// Options of a RunBatch.
struct BatchOptions {
  Backend backend = Backend::automatic;
  Engine engine = Engine::automatic;
  NonFinitePolicy on_non_finite = NonFinitePolicy::error;
  std::uint64_t start_step = 0;  ///< resume: the index of the first step to run
  /// Engine::fused on the GPU: threads per run (4, 8, 16 or 32; 0 = automatic). Changes speed
  /// only, never results.
  unsigned gpu_group = 0;
  /// Engine::margins: the margins Ax are updated incrementally (Ax ← Ax − c·Au, in double) and
  /// recomputed exactly every `margins_refresh_every` steps (≥ 1), which bounds their drift to a
  /// few ulps.
  std::uint32_t margins_refresh_every = 256;
  /// CUDA backend: the stream that orders all of the batch's device work and the objective calls
  /// it makes (PointBatch::stream). Default: the legacy default stream, as everywhere in zo. It
  /// must outlive the batch. Ignored by the CPU backend.
  StreamView stream{};
  /// CUDA backend: when true, the batch creates (and destroys) its own non-blocking stream and
  /// ignores `stream`, so that batches of different threads overlap on the device.
  bool own_stream = false;
};

/// The engine that RunBatch(objective, runs, x0, options) would use: options.engine when it is
/// not `automatic`, after checking that it can run these runs (throws zo::InvalidArgument naming
/// the reason otherwise); for `automatic`, `fused` when the objective is Example 2.1 and every
/// run and option allows it; else `margins` when the objective is a LinearModel on the CPU
/// backend, the batch runs on the CPU and no run is `zo_limit`; else `generic`. (`margins` rounds
/// f(x ± λu) differently from the generic engine, within the bound of docs/linear-models.md;
/// Engine::generic forces the generic engine.)
ZO_API Engine select_engine(const Objective& objective, const std::vector<RunSpec>& runs,
                            const BatchOptions& options);

class RunBatch;

namespace detail {
class BatchEngine;
/// Internal (tests): the margins A·x_k that the margins engine keeps (K × N, run-major, as
/// updated incrementally since the last exact refresh); empty for the other engines.
ZO_API std::vector<double> kept_margins(const RunBatch& batch);
}  // namespace detail

/// K independent runs of Algorithm 1 (or a baseline) on one objective, advancing in lockstep.
/// Each step builds all 2·K·q perturbed points, evaluates them in one batched objective call,
/// then updates all runs. Results of a run do not depend on which other runs share its batch.
///
/// Determinism: on the CPU, bit-identical for any number of OpenMP threads. The CUDA backend
/// generates bit-identical directions; its iterates agree with the CPU's to within the rounding
/// of the objective's reductions.
///
/// Blocking (zo's rule, zo/device.hpp): every call blocks. run() reports the statuses and the
/// errors of its steps, and the other calls read or write host memory, so on the CUDA backend
/// each waits for BatchOptions::stream before it returns (run() once per call, not per step).
class ZO_API RunBatch {
 public:
  /// `x0` holds runs.size() × objective.dim() floats in host memory (run-major). Blocking (x0
  /// may be reused on return).
  RunBatch(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
           BatchOptions options = {});
  ~RunBatch();
  RunBatch(RunBatch&&) noexcept;
  RunBatch& operator=(RunBatch&&) noexcept;
  RunBatch(const RunBatch&) = delete;
  RunBatch& operator=(const RunBatch&) = delete;

  /// Number of runs K.
  std::size_t size() const;
  /// Dimension of each iterate.
  std::size_t dim() const;
  /// Index of the next step to run (start_step + steps run so far).
  std::uint64_t next_step() const;
  /// The backend actually used.
  Backend backend() const;
  /// The engine actually used (never `automatic`).
  Engine engine() const;
  /// GPU threads per run of the fused engine on the GPU; 1 otherwise.
  unsigned gpu_group() const;
  /// The run specifications.
  const std::vector<RunSpec>& runs() const;
  /// Status of each run.
  std::vector<RunStatus> statuses() const;

  /// Advances every active run by `steps` steps. Under NonFinitePolicy::error a non-finite value
  /// throws zo::ObjectiveError; the batch is then left at the last completed step (no partial
  /// update), so it can be inspected or saved. An exception thrown by the objective is rethrown
  /// as zo::ObjectiveError with the step. Blocking: on the GPU the steps are queued on the
  /// batch's stream and run() waits for them once, before it returns.
  void run(std::uint64_t steps);

  /// Advances every active run by `steps` steps and records, for each iteration t in
  /// `log_iterations` (sorted, unique, each in [next_step(), next_step() + steps]), the values of
  /// the iterates after t steps: row (i, k) of `values`, at values + (i · size() + k) · W with
  /// W = 2 + objective.metric_names().size(), holds f, the exact Hessian trace (NaN when the
  /// objective has none) and the objective's metrics for the i-th logged iteration and run k.
  /// The fused engine writes them from inside its kernel; the others measure() at each logged
  /// iteration. `values` may be null when `log_iterations` is empty. Blocking.
  void run(std::uint64_t steps, const std::vector<std::uint64_t>& log_iterations, double* values);

  /// Seconds the last run() spent computing: CUDA events around the kernels for the fused engine
  /// on the GPU, wall clock otherwise.
  double last_run_seconds() const;

  /// Copies the K iterates (run-major, K × dim) to host memory. Blocking.
  void copy_points(float* x_host) const;

  /// Replaces iterates, next step and statuses (resuming from a checkpoint). Blocking.
  void restore(const float* x_host, std::uint64_t next_step, const std::vector<RunStatus>& status);

  /// f at each current iterate (K values), and optionally the exact Hessian trace (if the
  /// objective has one; else NaN) and the objective's metrics (K × metric_names().size()), in
  /// host memory. Blocking.
  void measure(double* loss, double* trace = nullptr, double* metrics = nullptr) const;

 private:
  friend std::vector<double> detail::kept_margins(const RunBatch& batch);
  std::unique_ptr<detail::BatchEngine> impl_;
};

/// When a run counts as diverged although its values are still finite (used by sweeps at every
/// logged iteration, and by minimize()). At a logged iteration t the run's loss f(x_t) and iterate
/// norm ‖x_t‖ are compared with its first logged loss f_0 (normally at iteration 0), the best
/// (lowest) logged loss f_best and its start norm ‖x_0‖: the run has diverged when f(x_t) >
/// loss_factor · max(|f_0|, |f_best|, loss_floor) or ‖x_t‖ > norm_factor · max(‖x_0‖, 1), or when
/// f(x_t) is not finite. It is then frozen at x_t with RunStatus::diverged_at = t − 1 (the step
/// that produced x_t), so the rows after it are marked diverged and summaries leave it out. A
/// factor of 0 disables that test. (Non-finite values met inside a step are caught by the engines,
/// NonFinitePolicy::mark_diverged.)
struct DivergenceBound {
  double loss_factor = 1e4;
  double norm_factor = 1e4;
  double loss_floor = 1.0;  ///< so that a run started at f ≈ 0 may still move
};

/// Whether a run with these values has left `bound` (see DivergenceBound).
ZO_API bool exceeds_divergence_bound(const DivergenceBound& bound, double loss, double start_loss,
                                     double best_loss, double norm, double start_norm);

/// Convenience for one run: minimises `objective` from `x` (host, dim floats, updated in place)
/// for `steps` steps and returns the final f(x). Blocking. A run that left the default
/// DivergenceBound (comparing the final loss and norm with the start) or met a non-finite value has
/// diverged: under NonFinitePolicy::error (the default) minimize() throws zo::ObjectiveError saying
/// so, with x left at the last iterate; otherwise it returns the final f(x) and reports the run's
/// state in `status` (when given).
ZO_API double minimize(const Objective& objective, float* x, const RunSpec& spec,
                       std::uint64_t steps, BatchOptions options = {}, RunStatus* status = nullptr);

/// Fills `x` (count floats, host memory) with N(0, 1) values: the Gaussian direction with key
/// (seed, kInitStep = 2^32 − 1, substream), the initial-point convention of zo's tools (which use
/// substream kInitialPointSubstream = 0; see zo/substreams.hpp).
ZO_API void gaussian_fill(std::uint64_t seed, std::uint32_t substream, float* x, std::size_t count);

}  // namespace zo

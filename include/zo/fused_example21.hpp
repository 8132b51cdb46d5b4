// Whole runs of Example 2.1 with each step fused into one pass over the run's state: on the GPU
// a persistent kernel keeps every run's 2d floats in registers for many steps per launch and
// writes only the logged metrics; on the CPU the same per-run code runs in an OpenMP loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "zo/backend.hpp"
#include "zo/export.hpp"
#include "zo/run_batch.hpp"

namespace zo {

namespace detail {
class FusedExample21Impl;
}

/// K independent runs of ZO / GD / ZO λ→0 on Example 2.1, h(y, z) = (yᵀz − 1)²/2 with
/// y, z ∈ R^d, each step fused into one pass (directions generated once per step and kept on
/// chip). Supports d ≤ 512, q ≤ 64, Gaussian and Rademacher directions, per-run λ, η, q, seed
/// and method; NaN/Inf marks a run diverged (NonFinitePolicy::mark_diverged) without affecting
/// the others.
///
/// Determinism: the CPU and CUDA backends produce bit-identical iterates and metrics, for any
/// batch composition, thread count and GPU group size (every reduction follows one canonical
/// order, see src/batch/example21_fused_math.hpp). Against RunBatch, whose reductions are
/// sequential, results agree to within rounding (the tests state the tolerance).
class ZO_API FusedExample21Batch {
 public:
  /// Metrics recorded per logged iteration, in this order.
  static constexpr int kMetrics = 3;  // loss h, trace ‖y‖² + ‖z‖², balancedness B

  /// `x0` holds runs.size() × 2d floats in host memory (run-major, x = [y; z]). `gpu_group`
  /// (0 = automatic, else 4, 8, 16 or 32) is the number of GPU threads per run; it changes
  /// speed only, never results. Throws zo::InvalidArgument for unsupported runs (sphere
  /// directions, q > 64, d > 512) and the usual RunSpec errors.
  FusedExample21Batch(std::size_t d, std::vector<RunSpec> runs, const float* x0,
                      Backend backend = Backend::automatic, unsigned gpu_group = 0);
  ~FusedExample21Batch();
  FusedExample21Batch(FusedExample21Batch&&) noexcept;
  FusedExample21Batch& operator=(FusedExample21Batch&&) noexcept;
  FusedExample21Batch(const FusedExample21Batch&) = delete;
  FusedExample21Batch& operator=(const FusedExample21Batch&) = delete;

  /// Number of runs K.
  std::size_t size() const;
  /// Dimension 2d of each iterate.
  std::size_t dim() const;
  /// Index of the next step to run.
  std::uint64_t next_step() const;
  /// The backend actually used.
  Backend backend() const;
  /// The GPU threads per run actually used (1 on the CPU).
  unsigned group_size() const;
  /// The run specifications.
  const std::vector<RunSpec>& runs() const;
  /// Status of each run (diverged flag and step).
  std::vector<RunStatus> statuses() const;

  /// Advances every run by `steps` steps. For each iteration t in `log_iterations` (sorted,
  /// unique, each in [next_step(), next_step() + steps]), writes the metrics of x_t (the iterate
  /// after t steps) to metrics + (i · size() + k) · kMetrics for the i-th such iteration and run
  /// k. `metrics` may be null when `log_iterations` is empty.
  void run(std::uint64_t steps, const std::vector<std::uint64_t>& log_iterations = {},
           double* metrics = nullptr);

  /// Seconds the last run() spent computing (CUDA events around the kernels on the GPU, wall
  /// clock on the CPU), excluding transfers of the log schedule and metrics.
  double last_run_seconds() const;

  /// Copies the K iterates (run-major, K × 2d) to host memory.
  void copy_points(float* x_host) const;

  /// Replaces iterates, next step and statuses (resuming from a checkpoint).
  void restore(const float* x_host, std::uint64_t next_step, const std::vector<RunStatus>& status);

 private:
  std::unique_ptr<detail::FusedExample21Impl> impl_;
};

/// What generate_directions() measured.
struct DirectionThroughput {
  double checksum = 0.0;  ///< Σ of every generated coordinate (defeats dead-code elimination)
  double seconds = 0.0;   ///< generation time (CUDA events on the GPU, wall clock on the CPU)
};

/// Generates the directions of `runs` runs × `steps` steps of dimension `dim` (keys
/// (seed = run, step, stream 0), Gaussian) and sums them, doing nothing else: the rate of the
/// direction generator alone, the ceiling of FusedExample21Batch. On the GPU, one thread per
/// Philox block with no per-run structure.
ZO_API DirectionThroughput generate_directions(Backend backend, std::size_t runs, std::size_t dim,
                                               std::uint64_t steps);

}  // namespace zo

// Algorithm 1 specialised to linear models: K ZO runs that use f(x ± λu) = loss(Ax ± λAu), so a
// step costs one product of the data with the directions instead of two with x ± λu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "zo/export.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

namespace zo {

/// Options of a LinearZoBatch.
struct LinearZoOptions {
  NonFinitePolicy on_non_finite = NonFinitePolicy::error;
  std::uint64_t start_step = 0;  ///< resume: the index of the first step to run
  /// The margins Ax are updated incrementally (Ax ← Ax − c·Au, in double) and recomputed exactly
  /// every `refresh_every` steps (≥ 1), which bounds the drift of the update to a few ulps.
  std::uint32_t refresh_every = 256;
};

/// K runs of Algorithm 1 (RunSpec::method must be Method::zo) on a LinearModel's training loss,
/// advancing in lockstep. A step draws the directions u_kj exactly as RunBatch does (keys
/// (seed, step, j), any distribution, q ≥ 1), computes the margins A·u_kj of all K·q directions in
/// one product, and evaluates f(x_k ± λ_k u_kj) = (1/N) Σ_i ℓ(m_ki ± λ_k (Au_kj)_i) from the kept
/// margins m_k = A x_k: one column per direction instead of RunBatch's two perturbed points. The
/// update x ← x − η g u is RunBatch's (same rounding), so the iterates agree with a RunBatch on the
/// same model up to the rounding of f(x ± λu) (RunBatch rounds x ± λu to float first).
///
/// The product runs on the model's backend (CPU, or GPU with host staging); the step bookkeeping
/// runs on the CPU. Non-finite values follow `on_non_finite` exactly as in RunBatch.
class ZO_API LinearZoBatch {
 public:
  /// `x0` holds runs.size() × model.dim() floats (run-major, host memory). The model must outlive
  /// the batch.
  LinearZoBatch(const LinearModel& model, std::vector<RunSpec> runs, const float* x0,
                LinearZoOptions options = {});
  ~LinearZoBatch();
  LinearZoBatch(LinearZoBatch&&) noexcept;
  LinearZoBatch& operator=(LinearZoBatch&&) noexcept;
  LinearZoBatch(const LinearZoBatch&) = delete;
  LinearZoBatch& operator=(const LinearZoBatch&) = delete;

  /// Number of runs K.
  std::size_t size() const;
  /// Dimension of each iterate.
  std::size_t dim() const;
  /// Index of the next step to run.
  std::uint64_t next_step() const;
  /// The run specifications.
  const std::vector<RunSpec>& runs() const;
  /// Status of each run (divergence, skipped steps).
  std::vector<RunStatus> statuses() const;

  /// Advances every active run by `steps` steps. Under NonFinitePolicy::error a non-finite value
  /// throws zo::ObjectiveError naming the step and run; the batch stays at the last completed
  /// step.
  void run(std::uint64_t steps);

  /// Copies the K iterates (run-major, K × dim) to host memory.
  void copy_points(float* x_host) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zo

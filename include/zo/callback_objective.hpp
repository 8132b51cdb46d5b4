// User-defined objectives from a batched callback (std::function): the user evaluates P points
// at once; zo generates the perturbations and applies the updates around the call.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "zo/export.hpp"
#include "zo/objective.hpp"

namespace zo {

/// Evaluates `points.count` points and writes one value per point to `values`. `points.space`
/// says where the points are (host memory on the CPU backend; device memory on the CUDA backend
/// when the objective accepts it), and `values` lives in the same space; device work must be
/// ordered on `points.stream` (and may be left running: zo orders what reads `values` on the
/// same stream). The callback may throw: the optimiser rethrows the exception as
/// zo::ObjectiveError naming the step. Returning NaN/Inf is handled by the RunBatch's
/// NonFinitePolicy.
using BatchCallback = std::function<void(const PointBatch& points, double* values)>;

/// Writes the gradient of each point to grads + p · grad_stride (same memory space as the points).
using BatchGradientCallback =
    std::function<void(const PointBatch& points, float* grads, std::size_t grad_stride)>;

/// Options of a CallbackObjective.
struct CallbackOptions {
  std::string name = "callback";   ///< used in logs and error messages
  bool host = true;                ///< the callback reads host memory
  bool device = false;             ///< the callback reads device memory (CUDA pointers)
  BatchGradientCallback gradient;  ///< optional: enables GD and ZO with λ → 0
};

/// An Objective whose values come from a user callback that receives whole batches: one call per
/// optimisation step evaluates all 2·K·q perturbed points of a RunBatch. With `device = true` the
/// CUDA backend hands the callback device pointers, so the user's own GPU code evaluates the
/// points where they already are.
///
/// Thread safety: the callback may be called from any thread, but never concurrently by zo for
/// the same RunBatch.
class ZO_API CallbackObjective final : public Objective {
 public:
  /// `dim` ≥ 1; `evaluate` must be non-empty; at least one of options.host/options.device.
  CallbackObjective(std::size_t dim, BatchCallback evaluate, CallbackOptions options = {});
  ~CallbackObjective() override;

  std::size_t dim() const override { return dim_; }
  std::string name() const override { return options_.name; }
  bool accepts(MemorySpace space) const override;
  void evaluate(const PointBatch& points, double* values) const override;
  bool has_gradient() const override { return static_cast<bool>(options_.gradient); }
  void gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const override;

 private:
  std::size_t dim_;
  BatchCallback evaluate_;
  CallbackOptions options_;
};

}  // namespace zo

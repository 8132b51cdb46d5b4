// Example 2.1 of Zhang et al. (NeurIPS 2025): h(y, z) = (yᵀz − 1)² / 2 with y, z ∈ R^d.
#pragma once

#include <cstddef>

#include "zo/export.hpp"
#include "zo/objective.hpp"

namespace zo {

/// h(y, z) = (yᵀz − 1)²/2 on x = [y; z] ∈ R^{2d}, with its exact gradient
/// ((yᵀz − 1) z, (yᵀz − 1) y), Hessian-vector product, Hessian trace ‖y‖² + ‖z‖² (constant in
/// the sense that it holds at every point) and the balancedness metric B = (‖y‖² − ‖z‖²)/2.
/// Inner products are accumulated in double. On CUDA builds the batch methods also accept
/// device memory (evaluated by zo's kernels, asynchronously on points.stream; host batches
/// block, see Objective).
class ZO_API Example21 final : public Objective {
 public:
  /// `d` is the dimension of y and of z (the domain has 2d coordinates); d ≥ 1.
  explicit Example21(std::size_t d);

  std::size_t dim() const override { return 2 * d_; }
  std::string name() const override { return "example21"; }
  ObjectiveStructure structure() const override { return ObjectiveStructure::example21; }
  bool accepts(MemorySpace space) const override;
  void evaluate(const PointBatch& points, double* values) const override;
  bool has_gradient() const override { return true; }
  void gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const override;
  bool has_hvp() const override { return true; }
  void hvp(const PointBatch& points, const PointBatch& vectors, float* out,
           std::size_t out_stride) const override;
  bool has_exact_trace() const override { return true; }
  void exact_trace(const PointBatch& points, double* traces) const override;
  std::vector<std::string> metric_names() const override { return {"B"}; }
  void metrics(const PointBatch& points, double* out) const override;

  /// Dimension of y (and of z).
  std::size_t half_dim() const { return d_; }

 private:
  std::size_t d_;
};

}  // namespace zo

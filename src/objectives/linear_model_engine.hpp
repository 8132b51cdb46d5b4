// Internal: the kernels of a linear model on one data split, declared once and implemented per
// backend (src/linear_model_cpu.cpp is the reference, kernels/objectives/linear_model_cuda.cu the
// CUDA version).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "zo/classification_data.hpp"
#include "zo/objective.hpp"

namespace zo {
namespace detail {

/// One data split and what every backend derives from it once.
struct LinearSplitData {
  std::shared_ptr<const BinaryDataset> data;
  std::vector<double> row_norm2;  ///< ‖φ_i‖², for the Hessian trace
  CsrMatrix transposed;           ///< Aᵀ in CSR form (sparse data only): deterministic Aᵀr
  std::size_t rows = 0;
  std::size_t cols = 0;
};

/// Builds LinearSplitData (validates the data).
std::shared_ptr<const LinearSplitData> make_linear_split_data(
    std::shared_ptr<const BinaryDataset> data);

/// Per-point outputs of a fused reduction; any pointer may be null. They live in the memory
/// space of the points.
struct LinearReduceOut {
  double* loss = nullptr;
  double* trace = nullptr;
  double* accuracy = nullptr;
};

/// The kernels of a linear model on one split. `loss_kind` is 0 (squared hinge) or 1
/// (logistic), as in detail/linear_loss_math.hpp. Implementations are thread-safe.
class LinearSplitKernels {
 public:
  virtual ~LinearSplitKernels() = default;

  /// Loss, trace and accuracy of each point, from one product of the data with the points.
  virtual void reduce(int loss_kind, const PointBatch& x, const LinearReduceOut& out) const = 0;

  /// grads + p·stride = (1/N) Aᵀ ℓ'(A x_p).
  virtual void gradient(int loss_kind, const PointBatch& x, float* grads,
                        std::size_t stride) const = 0;

  /// out + p·stride = (1/N) Aᵀ diag(ℓ''(A x_p)) A v_p.
  virtual void hvp(int loss_kind, const PointBatch& x, const PointBatch& v, float* out,
                   std::size_t stride) const = 0;

  /// out[p·N + i] = φ_iᵀ x_p for host points, host output.
  virtual void margins(const PointBatch& x, double* out) const = 0;

  /// plus/minus[p·n_lambda + l] = f(x_p ± λ_l u_p) from one product with [x, u].
  virtual void evaluate_along(int loss_kind, const PointBatch& x, const PointBatch& u,
                              const float* lambdas, std::size_t n_lambda, double* plus,
                              double* minus) const = 0;
};

std::unique_ptr<LinearSplitKernels> make_cpu_linear_kernels(
    std::shared_ptr<const LinearSplitData> split);

namespace cuda {
/// Copies the split to the GPU; defined in kernels/objectives/linear_model_cuda.cu (NotCompiled
/// stub otherwise).
std::unique_ptr<LinearSplitKernels> make_linear_kernels(
    std::shared_ptr<const LinearSplitData> split);
}  // namespace cuda

}  // namespace detail
}  // namespace zo

// Linear classifiers as zo objectives: the squared-hinge SVM and logistic regression of the
// paper's Figure 2, evaluated for many points at once with one matrix product.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"

namespace zo {

/// The loss of a linear model f(x) = (1/N) Σ_i ℓ(φ_iᵀx, b_i).
enum class LinearLoss {
  squared_hinge,  ///< SVM: ℓ = max(0, 1 − b·m)², labels b ∈ {−1, +1}
  logistic,       ///< binary cross-entropy of σ(m), labels y = (b + 1)/2 ∈ {0, 1}
};

/// "svm" or "logistic".
ZO_API const char* to_string(LinearLoss loss);

/// Parses "svm" / "squared_hinge" / "squared-hinge" or "logistic" / "logreg"; throws
/// zo::InvalidArgument otherwise.
ZO_API LinearLoss parse_linear_loss(const std::string& text);

/// Which data set of a model.
enum class DataSplit { train, test };

/// Options of a LinearModel.
struct LinearModelOptions {
  /// Where the matrix products run. `cuda` copies the data to the GPU once and evaluates every
  /// batch there (host batches are staged through device memory); `automatic` picks `cuda` when a
  /// device is usable. Throws like zo::resolve_backend() for an unusable explicit `cuda`.
  Backend backend = Backend::automatic;
};

/// Loss, Hessian trace and accuracy of points on one data set.
struct LinearMeasurement {
  double loss = 0.0;      ///< f(x) on the split
  double trace = 0.0;     ///< tr ∇²f(x) on the split (closed form)
  double accuracy = 0.0;  ///< fraction of samples with sign(φᵀx) = b (sign(0) = +1)
};

/// A linear classifier's full-batch loss f(x) = (1/N) Σ_i ℓ(φ_iᵀx, b_i) on a training set, with a
/// test set for diagnostics. x has one parameter per feature (include a bias column in the
/// features, e.g. with FeaturePipeline, for an intercept).
///
/// Everything is exact and closed-form: gradient (1/N) Aᵀℓ'(Ax), Hessian-vector product
/// (1/N) Aᵀ diag(ℓ''(Ax)) A v, Hessian trace (1/N) Σ_i ℓ''(φ_iᵀx) ‖φ_i‖². Evaluating P points is
/// one product of the N × D data matrix with the D × P points (a blocked OpenMP loop on the CPU,
/// cuBLAS SGEMM or cuSPARSE SpMM on the GPU) followed by one fused reduction per point — never P
/// separate passes over the data. Sparse (CSR) data is never densified.
///
/// Precision and determinism: on the CPU, margins and sums are accumulated in double in a fixed
/// order, so results are bit-identical for any number of threads. On the GPU, margins come from
/// float SGEMM/SpMM (deterministic for a given GPU and library version) and per-point sums are
/// reduced in double in a fixed order; GPU and CPU results agree to float rounding of the
/// margins.
///
/// metric_names(): "train_accuracy", and with a test set "test_loss", "test_trace",
/// "test_accuracy" — what RunBatch::measure() reports next to the loss and the trace.
///
/// Blocking (zo's rule, zo/device.hpp): calls on host batches, and calls with host outputs,
/// return when the outputs are written; calls on device batches with device outputs are
/// asynchronous on the batch's stream (calls on different streams are ordered one after the
/// other by the model).
class ZO_API LinearModel final : public Objective {
 public:
  /// `train` must be non-empty; `test` may be null. Both are validated and shared, not copied.
  LinearModel(LinearLoss loss, std::shared_ptr<const BinaryDataset> train,
              std::shared_ptr<const BinaryDataset> test = nullptr, LinearModelOptions options = {});
  ~LinearModel() override;
  LinearModel(const LinearModel&) = delete;
  LinearModel& operator=(const LinearModel&) = delete;

  std::size_t dim() const override;
  std::string name() const override;
  ObjectiveStructure structure() const override { return ObjectiveStructure::linear_model; }
  bool accepts(MemorySpace space) const override;
  void evaluate(const PointBatch& points, double* values) const override;
  bool has_gradient() const override { return true; }
  void gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const override;
  bool has_hvp() const override { return true; }
  void hvp(const PointBatch& points, const PointBatch& vectors, float* out,
           std::size_t out_stride) const override;
  bool has_exact_trace() const override { return true; }
  void exact_trace(const PointBatch& points, double* traces) const override;
  std::vector<std::string> metric_names() const override;
  void metrics(const PointBatch& points, double* out) const override;

  /// The loss kind.
  LinearLoss loss() const;
  /// The backend that runs the products (cpu or cuda).
  Backend backend() const;
  /// True when a test set was given.
  bool has_test() const;
  /// Number of samples of a split (0 for a missing test set).
  std::size_t rows(DataSplit split) const;
  /// The data of a split (null for a missing test set).
  std::shared_ptr<const BinaryDataset> data(DataSplit split) const;

  /// values[p] = f(x_p) on `split` (train or test); outputs in the batch's memory space. Host
  /// batch: blocking; device batch: asynchronous on points.stream.
  void evaluate(DataSplit split, const PointBatch& points, double* values) const;
  /// traces[p] = tr ∇²f(x_p) on `split`. Host batch: blocking; device batch: asynchronous.
  void exact_trace(DataSplit split, const PointBatch& points, double* traces) const;
  /// Loss, trace and accuracy of each host point on `split` from one product (host memory;
  /// blocking).
  std::vector<LinearMeasurement> measure(DataSplit split, const PointBatch& points) const;

  /// The margins φ_iᵀx_p: out[p · rows(split) + i] (host output, double; blocking).
  void margins(DataSplit split, const PointBatch& points, double* out) const;

  /// Uses the linear structure f(x ± λu) = (1/N) Σ ℓ(φᵀx ± λ φᵀu): from one product of the data
  /// with the 2P columns [x_p, u_p], evaluates every pair p at every λ_l:
  /// plus[p · n_lambda + l] = f(x_p + λ_l u_p) and minus[...] = f(x_p − λ_l u_p). `x` and `u` hold
  /// the same number of points in the same memory space; outputs are in that space; `lambdas` is
  /// a host array. The cost does not grow with the number of λ values (beyond O(N) per value).
  /// Host batches: blocking; device batches: asynchronous on x.stream (`lambdas` may be reused
  /// on return).
  void evaluate_along(const PointBatch& x, const PointBatch& u, const float* lambdas,
                      std::size_t n_lambda, double* plus, double* minus) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace zo

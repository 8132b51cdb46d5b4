// LinearModel front end: validation, backend choice, and the Objective interface on top of the
// per-backend kernels of linear_backend.hpp.
#include "zo/linear_model.hpp"

#include <string>

#include "core/enum_names.hpp"
#include "objectives/linear_model_engine.hpp"
#include "zo/error.hpp"

namespace zo {

namespace {

const detail::EnumName<LinearLoss> kLossNames[] = {
    {LinearLoss::squared_hinge, "svm"},
    {LinearLoss::logistic, "logistic"},
    {LinearLoss::squared_hinge, "squared_hinge"},
    {LinearLoss::squared_hinge, "squared-hinge"},
    {LinearLoss::logistic, "logreg"},
};

}  // namespace

const char* to_string(LinearLoss loss) { return detail::enum_to_string(kLossNames, loss); }

LinearLoss parse_linear_loss(const std::string& text) {
  return detail::enum_parse(kLossNames, text, "loss");
}

struct LinearModel::Impl {
  LinearLoss loss;
  Backend backend;
  std::shared_ptr<const detail::LinearSplitData> train, test;
  std::unique_ptr<detail::LinearSplitKernels> train_kernels, test_kernels;

  int kind() const { return loss == LinearLoss::squared_hinge ? 0 : 1; }

  const detail::LinearSplitKernels& kernels(DataSplit split) const {
    if (split == DataSplit::train) return *train_kernels;
    ZO_EXPECTS(test_kernels != nullptr, "linear model: no test set was given");
    return *test_kernels;
  }
};

LinearModel::LinearModel(LinearLoss loss, std::shared_ptr<const BinaryDataset> train,
                         std::shared_ptr<const BinaryDataset> test, LinearModelOptions options)
    : impl_(std::make_unique<Impl>()) {
  ZO_EXPECTS(train != nullptr, "linear model: the training set is null");
  ZO_EXPECTS(train->rows() >= 1, "linear model: the training set has no samples");
  ZO_EXPECTS(train->cols() >= 1, "linear model: the training set has no features");
  ZO_EXPECTS(loss == LinearLoss::squared_hinge || loss == LinearLoss::logistic,
             "linear model: unknown loss");
  if (test) {
    ZO_EXPECTS(test->cols() == train->cols(),
               "linear model: the test set has " + std::to_string(test->cols()) +
                   " features but the training set has " + std::to_string(train->cols()) +
                   " (read both files with the same LibsvmOptions::num_features)");
  }
  impl_->loss = loss;
  impl_->backend = resolve_backend(options.backend);
  impl_->train = detail::make_linear_split_data(std::move(train));
  if (test && test->rows() > 0) impl_->test = detail::make_linear_split_data(std::move(test));
  auto make = [&](std::shared_ptr<const detail::LinearSplitData> split) {
    return impl_->backend == Backend::cuda ? detail::cuda::make_linear_kernels(std::move(split))
                                           : detail::make_cpu_linear_kernels(std::move(split));
  };
  impl_->train_kernels = make(impl_->train);
  if (impl_->test) impl_->test_kernels = make(impl_->test);
}

LinearModel::~LinearModel() = default;

std::size_t LinearModel::dim() const { return impl_->train->cols; }
std::string LinearModel::name() const { return to_string(impl_->loss); }
bool LinearModel::accepts(MemorySpace space) const {
  return space == MemorySpace::host || impl_->backend == Backend::cuda;
}
LinearLoss LinearModel::loss() const { return impl_->loss; }
Backend LinearModel::backend() const { return impl_->backend; }
bool LinearModel::has_test() const { return impl_->test != nullptr; }
std::size_t LinearModel::rows(DataSplit split) const {
  if (split == DataSplit::train) return impl_->train->rows;
  return impl_->test ? impl_->test->rows : 0;
}
std::shared_ptr<const BinaryDataset> LinearModel::data(DataSplit split) const {
  if (split == DataSplit::train) return impl_->train->data;
  return impl_->test ? impl_->test->data : nullptr;
}

void LinearModel::evaluate(const PointBatch& points, double* values) const {
  evaluate(DataSplit::train, points, values);
}

void LinearModel::evaluate(DataSplit split, const PointBatch& points, double* values) const {
  check_batch(*this, points);
  detail::LinearReduceOut out;
  out.loss = values;
  impl_->kernels(split).reduce(impl_->kind(), points, out);
}

void LinearModel::exact_trace(const PointBatch& points, double* traces) const {
  exact_trace(DataSplit::train, points, traces);
}

void LinearModel::exact_trace(DataSplit split, const PointBatch& points, double* traces) const {
  check_batch(*this, points);
  detail::LinearReduceOut out;
  out.trace = traces;
  impl_->kernels(split).reduce(impl_->kind(), points, out);
}

std::vector<LinearMeasurement> LinearModel::measure(DataSplit split,
                                                    const PointBatch& points) const {
  check_batch(*this, points);
  ZO_EXPECTS(points.space == MemorySpace::host, "LinearModel::measure reads host points only");
  std::vector<double> loss(points.count), trace(points.count), accuracy(points.count);
  detail::LinearReduceOut out{loss.data(), trace.data(), accuracy.data()};
  impl_->kernels(split).reduce(impl_->kind(), points, out);
  std::vector<LinearMeasurement> result(points.count);
  for (std::size_t p = 0; p < points.count; ++p) result[p] = {loss[p], trace[p], accuracy[p]};
  return result;
}

void LinearModel::gradient(const PointBatch& points, float* grads, std::size_t grad_stride) const {
  check_batch(*this, points);
  ZO_EXPECTS(points.count <= 1 || grad_stride >= dim(),
             "LinearModel::gradient: grad_stride " + std::to_string(grad_stride) +
                 " is smaller than the dimension " + std::to_string(dim()));
  impl_->train_kernels->gradient(impl_->kind(), points, grads, grad_stride);
}

void LinearModel::hvp(const PointBatch& points, const PointBatch& vectors, float* out,
                      std::size_t out_stride) const {
  check_batch(*this, points);
  check_batch(*this, vectors);
  ZO_EXPECTS(vectors.count == points.count, "LinearModel::hvp: " + std::to_string(points.count) +
                                                " points but " + std::to_string(vectors.count) +
                                                " vectors");
  ZO_EXPECTS(vectors.space == points.space,
             "LinearModel::hvp: points and vectors are in different memory spaces");
  ZO_EXPECTS(points.count <= 1 || out_stride >= dim(),
             "LinearModel::hvp: out_stride " + std::to_string(out_stride) +
                 " is smaller than the dimension " + std::to_string(dim()));
  impl_->train_kernels->hvp(impl_->kind(), points, vectors, out, out_stride);
}

std::vector<std::string> LinearModel::metric_names() const {
  if (!has_test()) return {"train_accuracy"};
  return {"train_accuracy", "test_loss", "test_trace", "test_accuracy"};
}

void LinearModel::metrics(const PointBatch& points, double* out) const {
  check_batch(*this, points);
  ZO_EXPECTS(points.space == MemorySpace::host, "LinearModel::metrics reads host memory only");
  const std::size_t m = metric_names().size();
  const auto train = measure(DataSplit::train, points);
  std::vector<LinearMeasurement> test;
  if (has_test()) test = measure(DataSplit::test, points);
  for (std::size_t p = 0; p < points.count; ++p) {
    out[p * m] = train[p].accuracy;
    if (has_test()) {
      out[p * m + 1] = test[p].loss;
      out[p * m + 2] = test[p].trace;
      out[p * m + 3] = test[p].accuracy;
    }
  }
}

void LinearModel::margins(DataSplit split, const PointBatch& points, double* out) const {
  check_batch(*this, points);
  ZO_EXPECTS(points.space == MemorySpace::host, "LinearModel::margins reads host points only");
  impl_->kernels(split).margins(points, out);
}

void LinearModel::evaluate_along(const PointBatch& x, const PointBatch& u, const float* lambdas,
                                 std::size_t n_lambda, double* plus, double* minus) const {
  check_batch(*this, x);
  check_batch(*this, u);
  ZO_EXPECTS(u.count == x.count, "LinearModel::evaluate_along: " + std::to_string(x.count) +
                                     " points x but " + std::to_string(u.count) + " directions u");
  ZO_EXPECTS(u.space == x.space,
             "LinearModel::evaluate_along: x and u are in different memory spaces");
  ZO_EXPECTS(n_lambda == 0 || lambdas != nullptr, "LinearModel::evaluate_along: lambdas is null");
  if (x.count == 0 || n_lambda == 0) return;
  impl_->train_kernels->evaluate_along(impl_->kind(), x, u, lambdas, n_lambda, plus, minus);
}

}  // namespace zo

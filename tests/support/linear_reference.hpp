// A float64 reference for the linear-model losses, written from the formulas in
// the paper independently of the library: plain loops over a dense double matrix.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "zo/classification_data.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

namespace zo_test {

/// Dense double copy of a data set (row-major) plus its ±1 labels.
struct RefData {
  std::size_t n = 0, d = 0;
  std::vector<double> a;  // n × d
  std::vector<double> b;  // ±1
  double at(std::size_t i, std::size_t j) const { return a[i * d + j]; }
};

inline RefData reference_data(const zo::BinaryDataset& data) {
  RefData r;
  r.n = data.rows();
  r.d = data.cols();
  r.a.assign(r.n * r.d, 0.0);
  if (const auto* csr = std::get_if<zo::CsrMatrix>(&data.features)) {
    for (std::size_t i = 0; i < r.n; ++i)
      for (auto k = csr->row_offsets[i]; k < csr->row_offsets[i + 1]; ++k)
        r.a[i * r.d + csr->col_indices[k]] = csr->values[k];
  } else {
    const auto& m = std::get<zo::DenseMatrix>(data.features);
    for (std::size_t k = 0; k < m.values.size(); ++k) r.a[k] = m.values[k];
  }
  r.b.assign(data.labels.begin(), data.labels.end());
  return r;
}

inline double sigmoid(double m) { return 1.0 / (1.0 + std::exp(-m)); }

/// Reference loss, gradient, Hessian (dense), trace and accuracy at a double point.
struct Reference {
  const RefData& data;
  zo::LinearLoss loss;

  double margin(const std::vector<double>& x, std::size_t i) const {
    double m = 0.0;
    for (std::size_t j = 0; j < data.d; ++j) m += data.at(i, j) * x[j];
    return m;
  }
  double value(const std::vector<double>& x) const {
    double f = 0.0;
    for (std::size_t i = 0; i < data.n; ++i) {
      const double m = margin(x, i);
      if (loss == zo::LinearLoss::squared_hinge) {
        const double s = std::max(0.0, 1.0 - data.b[i] * m);
        f += s * s;
      } else {
        // −[y log σ(m) + (1 − y) log(1 − σ(m))] = y log(1 + e^{−m}) + (1 − y) log(1 + e^{m}),
        // written so that no 1 − σ(m) cancels.
        const double y = data.b[i] > 0 ? 1.0 : 0.0;
        f += y * std::log1p(std::exp(-m)) + (1.0 - y) * std::log1p(std::exp(m));
      }
    }
    return f / data.n;
  }
  /// dℓ/dm and d²ℓ/dm² at sample i.
  void derivatives(const std::vector<double>& x, std::size_t i, double* d1, double* d2) const {
    const double m = margin(x, i);
    if (loss == zo::LinearLoss::squared_hinge) {
      const double s = 1.0 - data.b[i] * m;
      *d1 = s > 0 ? -2.0 * data.b[i] * s : 0.0;
      *d2 = s > 0 ? 2.0 : 0.0;
    } else {
      const double y = data.b[i] > 0 ? 1.0 : 0.0;
      const double p = sigmoid(m);
      *d1 = p - y;
      *d2 = p * (1.0 - p);
    }
  }
  std::vector<double> gradient(const std::vector<double>& x) const {
    std::vector<double> g(data.d, 0.0);
    for (std::size_t i = 0; i < data.n; ++i) {
      double d1, d2;
      derivatives(x, i, &d1, &d2);
      for (std::size_t j = 0; j < data.d; ++j) g[j] += d1 * data.at(i, j) / data.n;
    }
    return g;
  }
  std::vector<double> hvp(const std::vector<double>& x, const std::vector<double>& v) const {
    std::vector<double> h(data.d, 0.0);
    for (std::size_t i = 0; i < data.n; ++i) {
      double d1, d2;
      derivatives(x, i, &d1, &d2);
      const double av = margin(v, i);
      for (std::size_t j = 0; j < data.d; ++j) h[j] += d2 * av * data.at(i, j) / data.n;
    }
    return h;
  }
  double trace(const std::vector<double>& x) const {
    double t = 0.0;
    for (std::size_t i = 0; i < data.n; ++i) {
      double d1, d2;
      derivatives(x, i, &d1, &d2);
      double norm2 = 0.0;
      for (std::size_t j = 0; j < data.d; ++j) norm2 += data.at(i, j) * data.at(i, j);
      t += d2 * norm2 / data.n;
    }
    return t;
  }
  double accuracy(const std::vector<double>& x) const {
    double c = 0.0;
    for (std::size_t i = 0; i < data.n; ++i) c += ((margin(x, i) >= 0.0) == (data.b[i] > 0));
    return c / data.n;
  }
};

/// Options of a RunBatch on the margins engine.
inline zo::BatchOptions margins_engine(zo::NonFinitePolicy policy = zo::NonFinitePolicy::error) {
  zo::BatchOptions o;
  o.engine = zo::Engine::margins;
  o.on_non_finite = policy;
  return o;
}

}  // namespace zo_test

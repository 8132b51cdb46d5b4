// Small objectives for tests, written independently of the library's built-in ones.
#pragma once

#include <atomic>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "zo/objective.hpp"

namespace zo_test {

/// f(x) = ½ Σ a_i x_i² + Σ b_i x_i, gradient a∘x + b (evaluated in double).
class Quadratic : public zo::Objective {
 public:
  Quadratic(std::vector<double> a, std::vector<double> b) : a_(std::move(a)), b_(std::move(b)) {}
  std::size_t dim() const override { return a_.size(); }
  std::string name() const override { return "test-quadratic"; }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    zo::check_batch(*this, pts);
    for (std::size_t p = 0; p < pts.count; ++p) {
      const float* x = pts.point(p);
      double f = 0.0;
      for (std::size_t i = 0; i < a_.size(); ++i) f += 0.5 * a_[i] * x[i] * x[i] + b_[i] * x[i];
      values[p] = f;
    }
  }
  bool has_gradient() const override { return true; }
  void gradient(const zo::PointBatch& pts, float* g, std::size_t stride) const override {
    for (std::size_t p = 0; p < pts.count; ++p)
      for (std::size_t i = 0; i < a_.size(); ++i)
        g[p * stride + i] = static_cast<float>(a_[i] * pts.point(p)[i] + b_[i]);
  }
  std::vector<double> grad(const std::vector<float>& x) const {
    std::vector<double> g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = a_[i] * x[i] + b_[i];
    return g;
  }

 private:
  std::vector<double> a_, b_;
};

/// f(x) = Σ x_i⁴ / 4, a smooth non-quadratic objective: ∇f_λ(x)_i = x_i³ + 3λ² x_i for
/// Gaussian smoothing.
class Quartic : public zo::Objective {
 public:
  explicit Quartic(std::size_t d) : d_(d) {}
  std::size_t dim() const override { return d_; }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    for (std::size_t p = 0; p < pts.count; ++p) {
      double f = 0.0;
      for (std::size_t i = 0; i < d_; ++i) {
        const double x = pts.point(p)[i];
        f += 0.25 * x * x * x * x;
      }
      values[p] = f;
    }
  }

 private:
  std::size_t d_;
};

/// Wraps an objective; on the `poison_call`-th call of evaluate() (0-based), every point whose
/// first coordinate exceeds `threshold` gets NaN (or the call throws, if `throw_instead`).
class Poisoned : public zo::Objective {
 public:
  Poisoned(const zo::Objective& inner, int poison_call, float threshold, bool throw_instead = false)
      : inner_(inner), poison_call_(poison_call), threshold_(threshold), throw_(throw_instead) {}
  std::size_t dim() const override { return inner_.dim(); }
  bool has_gradient() const override { return inner_.has_gradient(); }
  void gradient(const zo::PointBatch& pts, float* g, std::size_t stride) const override {
    inner_.gradient(pts, g, stride);
  }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    inner_.evaluate(pts, values);
    if (calls_++ != poison_call_) return;
    if (throw_) throw std::runtime_error("simulated failure in the user's objective");
    for (std::size_t p = 0; p < pts.count; ++p)
      if (pts.point(p)[0] > threshold_) values[p] = std::numeric_limits<double>::quiet_NaN();
  }

 private:
  const zo::Objective& inner_;
  int poison_call_;
  float threshold_;
  bool throw_;
  mutable int calls_ = 0;
};

}  // namespace zo_test

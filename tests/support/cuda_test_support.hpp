// Helpers of the CUDA backend tests: the run mix of the trajectory tests, objectives that route
// Example 2.1 through the generic (materialised) device path or inject NaN, and the rounding
// bounds that the device-vs-CPU comparisons use.
#pragma once

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "zo/device.hpp"
#include "zo/example21.hpp"
#include "zo/objective.hpp"
#include "zo/run_batch.hpp"

namespace zo_test {

/// True when the tests run under compute-sanitizer (scripts/gpu-check.sh sets ZO_SANITIZER=1):
/// the sanitizer slows kernels 10-100x, so the longest loops shrink and the largest sizes skip.
inline bool under_sanitizer() {
  const char* v = std::getenv("ZO_SANITIZER");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

/// `full` normally, `reduced` under compute-sanitizer.
template <typename T>
T sanitizer_scaled(T full, T reduced) {
  return under_sanitizer() ? reduced : full;
}

/// The mixed batch of the trajectory tests: K runs cycling through methods zo / gd / zo0,
/// distributions gaussian / rademacher / sphere, q = 1 and 3, λ ∈ {0.1, 0.05, 0.01}, with
/// distinct seeds. η as in the paper (ZO 1e-3, GD 1e-2).
inline std::vector<zo::RunSpec> mixed_runs(std::size_t K, std::uint64_t seed_base = 1000) {
  const zo::Method methods[] = {zo::Method::zo, zo::Method::gd, zo::Method::zo_limit};
  const zo::Distribution dists[] = {zo::Distribution::gaussian, zo::Distribution::rademacher,
                                    zo::Distribution::sphere};
  const float lambdas[] = {0.1f, 0.05f, 0.01f};
  std::vector<zo::RunSpec> runs;
  for (std::size_t k = 0; k < K; ++k) {
    zo::RunSpec s;
    s.method = methods[k % 3];
    s.distribution = dists[(k / 3) % 3];
    s.q = (k / 9) % 2 ? 3 : 1;
    s.lambda = lambdas[(k / 2) % 3];
    s.eta = s.method == zo::Method::gd ? 1e-2f : 1e-3f;
    s.seed = seed_base + k;
    runs.push_back(s);
  }
  return runs;
}

/// K starting points of dimension dim: scale · N(0, 1) from the initial-point stream.
inline std::vector<float> start_points(std::size_t K, std::size_t dim, std::uint64_t seed,
                                       float scale) {
  std::vector<float> x(K * dim);
  zo::gaussian_fill(seed, 0, x.data(), x.size());
  for (float& v : x) v *= scale;
  return x;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

/// Forwards every call to an inner objective. A RunBatch cannot tell it is Example 2.1, so the
/// CUDA backend takes the generic path (materialised points, one batched evaluate) instead of
/// the fused Example 2.1 kernel.
class Forwarding : public zo::Objective {
 public:
  explicit Forwarding(const zo::Objective& inner) : inner_(inner) {}
  std::size_t dim() const override { return inner_.dim(); }
  std::string name() const override { return "forwarding(" + inner_.name() + ")"; }
  bool accepts(zo::MemorySpace s) const override { return inner_.accepts(s); }
  void evaluate(const zo::PointBatch& p, double* v) const override { inner_.evaluate(p, v); }
  bool has_gradient() const override { return inner_.has_gradient(); }
  void gradient(const zo::PointBatch& p, float* g, std::size_t s) const override {
    inner_.gradient(p, g, s);
  }
  bool has_exact_trace() const override { return inner_.has_exact_trace(); }
  void exact_trace(const zo::PointBatch& p, double* t) const override { inner_.exact_trace(p, t); }

 protected:
  const zo::Objective& inner_;
};

/// Like Forwarding but host memory only: the CUDA backend copies the points to the host.
class HostOnly : public Forwarding {
 public:
  using Forwarding::Forwarding;
  bool accepts(zo::MemorySpace s) const override { return s == zo::MemorySpace::host; }
};

/// Forwards to `inner` (host or device memory), but on the `call`-th evaluate() (or gradient(),
/// when `gradient_call` is set) every point whose first coordinate exceeds `threshold` gets NaN.
/// Points are recognised by content, so the injection hits the same run and step on every
/// backend whatever the batch layout.
class NanAtCall : public Forwarding {
 public:
  NanAtCall(const zo::Objective& inner, int call, float threshold, bool gradient_call)
      : Forwarding(inner), call_(call), threshold_(threshold), gradient_call_(gradient_call) {}
  void evaluate(const zo::PointBatch& p, double* v) const override {
    inner_.evaluate(p, v);
    if (gradient_call_ || evaluate_calls_++ != call_) return;
    poison(p, v, 1, 1);
  }
  void gradient(const zo::PointBatch& p, float* g, std::size_t s) const override {
    inner_.gradient(p, g, s);
    if (!gradient_call_ || gradient_calls_++ != call_) return;
    poison(p, g, s, dim());
  }

 private:
  // Sets `count` entries starting at out + p·stride to NaN for every tagged point p.
  template <typename T>
  void poison(const zo::PointBatch& p, T* out, std::size_t stride, std::size_t count) const {
    const bool device = p.space == zo::MemorySpace::device;
    std::vector<float> first(p.count);
    for (std::size_t i = 0; i < p.count; ++i) {
      if (device) {
        zo::copy_bytes(&first[i], p.point(i), sizeof(float), p.stream);
      } else {
        first[i] = p.point(i)[0];
      }
    }
    const std::vector<T> nan(count, std::numeric_limits<T>::quiet_NaN());
    for (std::size_t i = 0; i < p.count; ++i) {
      if (!(first[i] > threshold_)) continue;
      if (device) {
        zo::copy_bytes(out + i * stride, nan.data(), count * sizeof(T), p.stream);
      } else {
        std::memcpy(out + i * stride, nan.data(), count * sizeof(T));
      }
    }
  }

  int call_;
  float threshold_;
  bool gradient_call_;
  mutable int evaluate_calls_ = 0;
  mutable int gradient_calls_ = 0;
};

/// Unit roundoff of double.
constexpr double kU = 0x1p-53;
/// Unit roundoff of float.
constexpr double kUf = 0x1p-24;

/// Bound on |ŝ₁ − ŝ₂| for two double sums of the same n exact terms in different orders: each is
/// within (n − 1)·u·Σ|terms| of the exact sum (Higham, Accuracy and Stability, §4.2).
inline double sum_order_bound(std::size_t n, double abs_sum) {
  return 2.0 * static_cast<double>(n + 1) * kU * abs_sum;
}

}  // namespace zo_test

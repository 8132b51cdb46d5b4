// Proposition 2.2 of the paper on Example 2.1: under ZO-SGD, E[B_k] ≈ B_0 exp(−2λ²ηk), while GD
// keeps B constant up to O(η²): exactly B_{k+1} = B_k (1 − η²(s_k − 1)²) with s_k = y_kᵀz_k.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tolerance.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

zo::BatchOptions cpu() {
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  return o;
}

// Start on the minimiser manifold yᵀz = 1 with B_0 = (4 − 1/4)/2 = 1.875: y = 2e₁, z = e₁/2.
std::vector<float> unbalanced_minimiser(std::size_t d) {
  std::vector<float> x(2 * d, 0.0f);
  x[0] = 2.0f;
  x[d] = 0.5f;
  return x;
}

// 256 seeds, d = 10, λ = 0.5, η = 1e-3, 4000 steps (2λ²ηT = 2, so E[B] falls by e² ≈ 7.4).
//
// Tolerance, checked at 8 checkpoints: the seed-mean has standard error SE_k (from the sample
// variance); we allow 5·SE_k for sampling noise plus a modelling term for the discretisation.
// The exact one-step drift is −2λ²η B + η²·E[c²(‖v‖² − ‖w‖²)]/2 with c the projected gradient;
// near the minimiser c ≈ λ²(vᵀw)(yᵀw + zᵀv), so the second term is O(η² λ⁴ d) relative to B per
// step, i.e. a relative bias of O(ηλ²d) = 2.5e-3 per unit of 2λ²ηk — under 1% of B_0 over the run.
// We allow 0.02·B_0 for it (a factor > 2 of headroom on the bound, not tuned to the data).
TEST(Proposition22, ZoBalancednessDecaysExponentially) {
  const std::size_t d = 10, seeds = 256;
  const float lambda = 0.5f, eta = 1e-3f;
  const zo::Example21 f(d);
  const auto x0 = unbalanced_minimiser(d);
  const double b0 = 1.875;
  std::vector<zo::RunSpec> runs(seeds);
  std::vector<float> xs;
  for (std::size_t k = 0; k < seeds; ++k) {
    runs[k].lambda = lambda;
    runs[k].eta = eta;
    runs[k].seed = 500 + k;
    xs.insert(xs.end(), x0.begin(), x0.end());
  }
  zo::RunBatch batch(f, runs, xs.data(), cpu());
  std::vector<double> b(seeds);
  for (int checkpoint = 1; checkpoint <= 8; ++checkpoint) {
    batch.run(500);
    batch.measure(nullptr, nullptr, b.data());
    double mean = 0.0, sq = 0.0;
    for (double v : b) {
      mean += v;
      sq += v * v;
    }
    mean /= seeds;
    const double se = std::sqrt((sq / seeds - mean * mean) / seeds);
    const double k = 500.0 * checkpoint;
    const double predicted = b0 * std::exp(-2.0 * lambda * lambda * eta * k);
    EXPECT_NEAR(mean, predicted, 5.0 * se + 0.02 * b0)
        << "step " << k << ": mean B " << mean << " ± " << se << ", predicted " << predicted;
  }
}

TEST(Proposition22, GradientDescentKeepsBalancedness) {
  const std::size_t d = 25;
  const zo::Example21 f(d);
  std::vector<float> x(2 * d);
  zo::gaussian_fill(3, 0, x.data(), x.size());
  for (auto& v : x) v *= 0.3f;
  zo::RunSpec s;
  s.method = zo::Method::gd;
  s.eta = 0.01f;
  zo::RunBatch batch(f, {s}, x.data(), cpu());
  double b_prev = 0.0, b_first = 0.0, b_last = 0.0;
  batch.measure(nullptr, nullptr, &b_prev);
  b_first = b_prev;
  for (int step = 0; step < 2000; ++step) {
    std::vector<float> cur(2 * d);
    batch.copy_points(cur.data());
    double s_k = 0.0;
    for (std::size_t i = 0; i < d; ++i) s_k += static_cast<double>(cur[i]) * cur[d + i];
    batch.run(1);
    double b_next = 0.0;
    batch.measure(nullptr, nullptr, &b_next);
    const double eta = s.eta;
    const double exact = b_prev * (1.0 - eta * eta * (s_k - 1.0) * (s_k - 1.0));
    // float iterates: each coordinate rounds once per step (relative 6e-8 of ‖x‖²).
    ASSERT_TRUE(
        zo_test::IsClose(b_next, exact, 0.0, 1e-6 * (1.0 + std::fabs(b_prev)) + 4e-7 * (2.0 * d)))
        << "step " << step;
    b_prev = b_next;
  }
  b_last = b_prev;
  EXPECT_TRUE(zo_test::IsClose(b_last, b_first, 0.05, 0.0)) << b_first << " -> " << b_last;
}

}  // namespace

// The two-point estimator, measured through one RunBatch step with η = 1 from a common point:
// g = x0 − x1. Its mean over many independent seeds must equal the gradient of the smoothed
// objective. Tolerance: 5 standard errors of the sample mean (per coordinate, from the sample
// variance), so each check fails by chance with probability < 1e-6.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "test_objectives.hpp"
#include "zo/run_batch.hpp"

namespace {

struct Estimate {
  std::vector<double> mean, se;
};

Estimate mean_estimate(const zo::Objective& f, const std::vector<float>& x0, zo::RunSpec spec,
                       std::size_t samples) {
  const std::size_t d = x0.size();
  std::vector<zo::RunSpec> runs(samples, spec);
  std::vector<float> xs;
  for (std::size_t k = 0; k < samples; ++k) {
    runs[k].seed = 1000 + k;
    xs.insert(xs.end(), x0.begin(), x0.end());
  }
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  zo::RunBatch batch(f, runs, xs.data(), o);
  batch.run(1);
  std::vector<float> x1(xs.size());
  batch.copy_points(x1.data());
  Estimate e{std::vector<double>(d, 0.0), std::vector<double>(d, 0.0)};
  std::vector<double> sq(d, 0.0);
  for (std::size_t k = 0; k < samples; ++k) {
    for (std::size_t i = 0; i < d; ++i) {
      const double g = (static_cast<double>(x0[i]) - x1[k * d + i]) / spec.eta;
      e.mean[i] += g;
      sq[i] += g * g;
    }
  }
  for (std::size_t i = 0; i < d; ++i) {
    e.mean[i] /= samples;
    const double var = sq[i] / samples - e.mean[i] * e.mean[i];
    e.se[i] = std::sqrt(var / samples);
  }
  return e;
}

const std::vector<float> kX0{0.7f, -0.4f, 0.25f, -0.9f, 0.1f, 0.55f};

// On a quadratic the smoothed gradient is the gradient itself, for every distribution and q.
TEST(TwoPointEstimator, IsUnbiasedOnAQuadratic) {
  const zo_test::Quadratic f({1.0, 2.0, 0.5, 3.0, 1.5, 0.25}, {0.1, -0.2, 0.3, 0.0, -0.5, 0.2});
  const auto truth = f.grad(kX0);
  for (auto dist :
       {zo::Distribution::gaussian, zo::Distribution::rademacher, zo::Distribution::sphere}) {
    for (std::uint32_t q : {1u, 4u}) {
      zo::RunSpec s;
      s.lambda = 0.3f;
      s.eta = 1.0f;
      s.q = q;
      s.distribution = dist;
      const Estimate e = mean_estimate(f, kX0, s, 40000);
      for (std::size_t i = 0; i < kX0.size(); ++i) {
        EXPECT_NEAR(e.mean[i], truth[i], 5.0 * e.se[i])
            << zo::to_string(dist) << " q=" << q << " coordinate " << i;
      }
    }
  }
}

// On f(x) = Σ x⁴/4 the estimator's mean is x³ + λ² m₄ x, with m₄ = E u_i⁴: 3 (Gaussian — this is
// ∇f_λ, the gradient of the smoothed objective), 1 (Rademacher), 3d/(d+2) (sphere of radius √d).
// λ = 0.5 makes the smoothing term clearly visible against the plain gradient x³.
TEST(TwoPointEstimator, EstimatesTheSmoothedGradientOfAQuartic) {
  const zo_test::Quartic f(kX0.size());
  const double lambda = 0.5, d = static_cast<double>(kX0.size());
  struct Case {
    zo::Distribution dist;
    double m4;
  };
  for (const Case c :
       {Case{zo::Distribution::gaussian, 3.0}, Case{zo::Distribution::rademacher, 1.0},
        Case{zo::Distribution::sphere, 3.0 * d / (d + 2.0)}}) {
    zo::RunSpec s;
    s.lambda = static_cast<float>(lambda);
    s.eta = 1.0f;
    s.distribution = c.dist;
    const Estimate e = mean_estimate(f, kX0, s, 60000);
    for (std::size_t i = 0; i < kX0.size(); ++i) {
      const double x = kX0[i];
      const double smoothed = x * x * x + lambda * lambda * c.m4 * x;
      EXPECT_NEAR(e.mean[i], smoothed, 5.0 * e.se[i])
          << zo::to_string(c.dist) << " coordinate " << i;
      // and it is distinguishable from the unsmoothed gradient x³ where the term is large
      if (std::fabs(lambda * lambda * c.m4 * x) > 12.0 * e.se[i]) {
        EXPECT_GT(std::fabs(e.mean[i] - x * x * x), 5.0 * e.se[i]);
      }
    }
  }
}

// ZO with λ → 0 uses (uᵀ∇f) u: unbiased for the gradient on any smooth objective.
TEST(DirectionalDerivativeEstimator, IsUnbiased) {
  const zo_test::Quadratic f({2.0, 1.0, 0.5, 1.0, 4.0, 1.0}, {0.0, 0.1, 0.0, -0.3, 0.0, 0.2});
  const auto truth = f.grad(kX0);
  zo::RunSpec s;
  s.method = zo::Method::zo_limit;
  s.eta = 1.0f;
  const Estimate e = mean_estimate(f, kX0, s, 40000);
  for (std::size_t i = 0; i < kX0.size(); ++i) EXPECT_NEAR(e.mean[i], truth[i], 5.0 * e.se[i]);
}

}  // namespace

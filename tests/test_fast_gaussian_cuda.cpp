// The fast GPU Gaussian (StepperOptions::gpu_fast_gaussian): its directions are not the CPU's
// bits, so they are validated by their statistics instead, on 2^24 ≈ 1.7·10^7 samples read back
// through the public API (a Stepper on zeros with λ = 1: one perturb() leaves x = u exactly).
// Tolerances come from the sampling variance: 5 standard errors for the moments, tail counts and
// correlations (a false failure has probability below 10^-6 per check) and the Kolmogorov
// distribution's 1 − 10^-6 quantile for KS. Also: the same bits on every run (deterministic on a
// given GPU), and different bits from the exact generator (the option does something). Skips
// without a usable GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/directions.hpp"
#include "zo/stepper.hpp"

namespace {

constexpr std::uint64_t kN = std::uint64_t{1} << 24;
constexpr double kSe = 5.0;  // standard errors allowed

/// Coordinates [0, n) of direction (seed, step, substream 0) from the Stepper on the GPU.
std::vector<float> direction_on_gpu(std::uint64_t n, std::uint64_t seed, std::uint64_t step,
                                    bool fast) {
  zo::DeviceArray<float> x(n);
  x.fill_zero();
  zo::StepperOptions o;
  o.lambda = 1.0f;
  o.eta = 0.0f;
  o.seed = seed;
  o.start_step = step;
  o.gpu_fast_gaussian = fast;
  zo::Stepper stepper({{x.data(), n, zo::DType::f32, zo::MemorySpace::device}}, o);
  stepper.perturb();  // x = 0 + 1·u, exact in f32
  stepper.synchronize();
  return x.to_host();
}

double normal_cdf(double v) { return 0.5 * std::erfc(-v / std::sqrt(2.0)); }

TEST(FastGaussianCuda, MomentsWithinSamplingError) {
  ZO_SKIP_WITHOUT_GPU();
  const std::vector<float> u = direction_on_gpu(kN, 7, 0, true);
  double s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  for (float f : u) {
    const double v = f;
    ASSERT_TRUE(std::isfinite(v));
    s1 += v;
    s2 += v * v;
    s3 += v * v * v;
    s4 += v * v * v * v;
  }
  const double n = static_cast<double>(kN);
  const double mean = s1 / n, var = s2 / n - mean * mean;
  EXPECT_LT(std::fabs(mean), kSe / std::sqrt(n)) << "mean";
  EXPECT_LT(std::fabs(s2 / n - 1.0), kSe * std::sqrt(2.0 / n)) << "second moment";
  EXPECT_LT(std::fabs(s3 / n), kSe * std::sqrt(15.0 / n)) << "third moment";
  EXPECT_LT(std::fabs(s4 / n - 3.0), kSe * std::sqrt(96.0 / n)) << "fourth moment";
  RecordProperty("variance", std::to_string(var));
}

TEST(FastGaussianCuda, KolmogorovSmirnov) {
  ZO_SKIP_WITHOUT_GPU();
  std::vector<float> u = direction_on_gpu(kN, 11, 3, true);
  std::sort(u.begin(), u.end());
  double d = 0.0;
  const double n = static_cast<double>(kN);
  for (std::uint64_t i = 0; i < kN; ++i) {
    const double f = normal_cdf(u[i]);
    d = std::max({d, std::fabs(static_cast<double>(i + 1) / n - f),
                  std::fabs(f - static_cast<double>(i) / n)});
  }
  // P(√n·D > 2.7) ≈ 2·exp(−2·2.7²) ≈ 1.0·10^-6 (Kolmogorov's limit distribution).
  RecordProperty("ks_sqrt_n_d", std::to_string(d * std::sqrt(n)));
  EXPECT_LT(d * std::sqrt(n), 2.7);
}

TEST(FastGaussianCuda, TailsMatchTheNormal) {
  ZO_SKIP_WITHOUT_GPU();
  const std::vector<float> u = direction_on_gpu(kN, 13, 5, true);
  const double n = static_cast<double>(kN);
  for (double k : {2.0, 3.0, 4.0, 5.0}) {
    std::uint64_t beyond = 0;
    for (float f : u) beyond += std::fabs(f) > k ? 1 : 0;
    const double p = std::erfc(k / std::sqrt(2.0));  // P(|z| > k)
    const double expected = n * p, se = std::sqrt(n * p * (1.0 - p));
    EXPECT_LT(std::fabs(static_cast<double>(beyond) - expected), kSe * se + 1.0)
        << "|z| > " << k << ": " << beyond << " observed, " << expected << " expected";
  }
  // u ≥ 2^-24 bounds |z| by √(−2 ln 2^-24) ≈ 5.77.
  for (float f : u) ASSERT_LE(std::fabs(f), 5.8f);
}

TEST(FastGaussianCuda, NoCorrelationBetweenCoordinatesOrSteps) {
  ZO_SKIP_WITHOUT_GPU();
  const std::uint64_t n = kN / 4;
  const std::vector<float> a = direction_on_gpu(n, 17, 0, true);
  const std::vector<float> b = direction_on_gpu(n, 17, 1, true);
  double lag1 = 0, lag4 = 0, steps = 0;
  for (std::uint64_t i = 0; i + 4 < n; ++i) {
    lag1 += static_cast<double>(a[i]) * a[i + 1];  // within and across Box–Muller pairs
    lag4 += static_cast<double>(a[i]) * a[i + 4];  // the same lane of the next Philox block
  }
  for (std::uint64_t i = 0; i < n; ++i) steps += static_cast<double>(a[i]) * b[i];
  const double se = 1.0 / std::sqrt(static_cast<double>(n));
  EXPECT_LT(std::fabs(lag1 / n), kSe * se);
  EXPECT_LT(std::fabs(lag4 / n), kSe * se);
  EXPECT_LT(std::fabs(steps / n), kSe * se);
}

TEST(FastGaussianCuda, DeterministicAndNotTheExactBits) {
  ZO_SKIP_WITHOUT_GPU();
  const std::uint64_t n = 100003;
  const std::vector<float> first = direction_on_gpu(n, 23, 9, true);
  const std::vector<float> second = direction_on_gpu(n, 23, 9, true);
  EXPECT_EQ(std::memcmp(first.data(), second.data(), n * sizeof(float)), 0);
  const std::vector<float> exact_gpu = direction_on_gpu(n, 23, 9, false);
  std::vector<float> exact_cpu(n);
  zo::fill_direction(zo::Distribution::gaussian, zo::DirectionKey{23, 9, 0}, n, exact_cpu.data());
  EXPECT_EQ(std::memcmp(exact_gpu.data(), exact_cpu.data(), n * sizeof(float)), 0)
      << "the exact GPU generator must stay bit-identical to the CPU";
  std::uint64_t same = 0;
  for (std::uint64_t i = 0; i < n; ++i) same += first[i] == exact_cpu[i] ? 1 : 0;
  EXPECT_LT(same, n / 2) << "gpu_fast_gaussian gave the exact generator's bits";
}

}  // namespace

// Directions: the deterministic float transforms, the distributions' moments, random access.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "tolerance.hpp"
#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/run_batch.hpp"
#include "zo/substreams.hpp"

namespace {

using zo::DirectionKey;
using zo::Distribution;

// The Gaussian transform itself (accuracy of each step, known answers, SIMD paths):
// test_gaussian.cpp; its statistics on 2·10^8 samples: test_gaussian_statistics.cpp.

TEST(DirectionTransforms, UniformsAreExactAndInRange) {
  EXPECT_EQ(zo::uniform_open_closed(0u), 1.0f / 16777216.0f);
  EXPECT_EQ(zo::uniform_open_closed(0xFFFFFFFFu), 1.0f);
  EXPECT_EQ(zo::uniform_closed_open(0u), 0.0f);
  EXPECT_LT(zo::uniform_closed_open(0xFFFFFFFFu), 1.0f);
}

std::vector<float> sample(Distribution dist, std::uint64_t n, std::uint64_t seed = 7) {
  std::vector<float> v(n);
  zo::fill_direction(dist, DirectionKey{seed, 3, 0}, n, v.data());
  return v;
}

struct Moments {
  double mean = 0, m2 = 0, m4 = 0;
};
Moments moments(const std::vector<float>& v) {
  Moments m;
  for (float x : v) {
    const double d = x;
    m.mean += d;
    m.m2 += d * d;
    m.m4 += d * d * d * d;
  }
  const double n = static_cast<double>(v.size());
  m.mean /= n;
  m.m2 /= n;
  m.m4 /= n;
  return m;
}

// N(0,1): E x = 0 (var 1), E x² = 1 (var 2), E x⁴ = 3 (var E x⁸ − 9 = 96). Each sample moment
// is checked within 5 standard errors (two-sided p ≈ 6e-7 per check).
TEST(DirectionDistributions, GaussianMoments) {
  const std::uint64_t n = 1u << 22;
  const auto v = sample(Distribution::gaussian, n);
  const Moments m = moments(v);
  const double sn = std::sqrt(static_cast<double>(n));
  EXPECT_NEAR(m.mean, 0.0, 5.0 / sn);
  EXPECT_NEAR(m.m2, 1.0, 5.0 * std::sqrt(2.0) / sn);
  EXPECT_NEAR(m.m4, 3.0, 5.0 * std::sqrt(96.0) / sn);
}

// Kolmogorov–Smirnov distance to the normal CDF below the 0.1% critical value 1.95/√n.
TEST(DirectionDistributions, GaussianPassesKolmogorovSmirnov) {
  const std::uint64_t n = 1u << 20;
  auto v = sample(Distribution::gaussian, n, 11);
  std::sort(v.begin(), v.end());
  double dmax = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double cdf = 0.5 * std::erfc(-static_cast<double>(v[i]) / std::sqrt(2.0));
    dmax = std::max({dmax, std::fabs(cdf - static_cast<double>(i) / n),
                     std::fabs(cdf - static_cast<double>(i + 1) / n)});
  }
  EXPECT_LT(dmax, 1.95 / std::sqrt(static_cast<double>(n)));
}

// Neighbouring coordinates (same Philox block and across blocks) are uncorrelated: sample
// correlation within 5/√n.
TEST(DirectionDistributions, NeighbouringCoordinatesAreUncorrelated) {
  const std::uint64_t n = 1u << 20;
  const auto v = sample(Distribution::gaussian, n, 5);
  for (std::uint64_t lag : {1u, 2u, 3u, 4u, 5u}) {
    double c = 0.0;
    for (std::uint64_t i = 0; i + lag < n; ++i) c += static_cast<double>(v[i]) * v[i + lag];
    EXPECT_NEAR(c / static_cast<double>(n - lag), 0.0, 5.0 / std::sqrt(static_cast<double>(n)))
        << "lag " << lag;
  }
}

TEST(DirectionDistributions, RademacherIsPlusMinusOneWithMeanZero) {
  const std::uint64_t n = 1u << 22;
  const auto v = sample(Distribution::rademacher, n);
  for (float x : v) ASSERT_TRUE(x == 1.0f || x == -1.0f);
  const Moments m = moments(v);
  EXPECT_NEAR(m.mean, 0.0, 5.0 / std::sqrt(static_cast<double>(n)));
  EXPECT_EQ(m.m2, 1.0);
  EXPECT_EQ(m.m4, 1.0);
}

// Sphere of radius √d: ‖u‖² = d up to float rounding of the scale (relative 1e-6), and over many
// independent directions E u_i² = 1 (each u_i² has variance < 3, so 5 SE tolerance).
TEST(DirectionDistributions, SphereHasNormSqrtDAndUnitSecondMoment) {
  for (std::uint64_t d : {1ull, 3ull, 10ull, 4097ull, 100003ull}) {
    std::vector<float> u(d);
    zo::fill_direction(Distribution::sphere, DirectionKey{9, 1, 2}, d, u.data());
    double norm2 = 0.0;
    for (float x : u) norm2 += static_cast<double>(x) * x;
    EXPECT_TRUE(zo_test::IsClose(norm2, static_cast<double>(d), 1e-6, 0.0)) << "d = " << d;
  }
  const std::uint64_t d = 16, reps = 20000;
  double second = 0.0;
  std::vector<float> u(d);
  for (std::uint64_t r = 0; r < reps; ++r) {
    zo::fill_direction(Distribution::sphere, DirectionKey{r, 0, 0}, d, u.data());
    second += static_cast<double>(u[5]) * u[5];
  }
  EXPECT_NEAR(second / reps, 1.0, 5.0 * std::sqrt(3.0 / reps));
}

// Any coordinate can be regenerated alone, in any order, and equals the bulk fill bit for bit.
TEST(DirectionAccess, EveryCoordinateIsAPureFunctionOfItsKey) {
  const std::uint64_t d = 10007;
  for (Distribution dist :
       {Distribution::gaussian, Distribution::rademacher, Distribution::sphere}) {
    const DirectionKey key{123456789012345ull, 77, 3};
    std::vector<float> bulk(d);
    zo::fill_direction(dist, key, d, bulk.data());
    const float scale = dist == Distribution::sphere ? zo::sphere_scale(key, d) : 1.0f;
    for (std::uint64_t i = d; i-- > 0;) {  // reverse order on purpose
      const float one = zo::direction_at(dist, key, i, scale);
      ASSERT_EQ(std::memcmp(&one, &bulk[i], sizeof(float)), 0) << "coordinate " << i;
    }
  }
}

TEST(DirectionAccess, SeedStepAndSubstreamEachChangeTheDirection) {
  const std::uint64_t d = 64;
  auto draw = [&](DirectionKey key) {
    std::vector<float> v(d);
    zo::fill_direction(Distribution::gaussian, key, d, v.data());
    return v;
  };
  const auto base = draw({1, 2, 3});
  EXPECT_EQ(base, draw({1, 2, 3}));
  EXPECT_NE(base, draw({2, 2, 3}));
  EXPECT_NE(base, draw({1, 3, 3}));
  EXPECT_NE(base, draw({1, 2, 4}));
  EXPECT_NE(base, draw({1ull | (1ull << 40), 2, 3}));  // the high seed word matters too
}

TEST(DirectionAccess, BitIdenticalForAnyThreadCount) {
  const std::uint64_t d = 1000003;
  std::vector<std::vector<float>> results;
  std::vector<float> scales;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    results.emplace_back(d);
    zo::fill_direction(Distribution::sphere, DirectionKey{5, 6, 7}, d, results.back().data());
    scales.push_back(zo::sphere_scale(DirectionKey{5, 6, 7}, d));
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(std::memcmp(results[0].data(), results[1].data(), d * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(results[0].data(), results[2].data(), d * sizeof(float)), 0);
  EXPECT_EQ(scales[0], scales[1]);
  EXPECT_EQ(scales[0], scales[2]);
}

// The reserved parts of the key space (zo/substreams.hpp) keep the values that every published
// result was computed with; a change here changes initial points, data, trace probes.
TEST(DirectionKeySpace, ReservedSubstreamsKeepTheirValues) {
  static_assert(zo::kMaxStep == 0xFFFFFFFEull, "kMaxStep");
  static_assert(zo::kInitStep == 0xFFFFFFFFu, "kInitStep");
  static_assert(zo::kInitialPointSubstream == 0u, "kInitialPointSubstream");
  static_assert(zo::kDataSubstreamTeacher == 0xDA7A0001u, "teacher");
  static_assert(zo::kDataSubstreamFeatures == 0xDA7A0002u, "features");
  static_assert(zo::kDataSubstreamPresence == 0xDA7A0003u, "presence");
  static_assert(zo::kDataSubstreamLabelNoise == 0xDA7A0004u, "label noise");
  static_assert(zo::kDataSubstreamProjection == 0xDA7A0010u, "projection");
  static_assert(zo::kTraceProbeSubstream == 0x74720000u, "trace probes");
  static_assert(zo::kTraceSketchSubstream == 0x74720001u, "Hutch++ sketch");
  // gaussian_fill(seed, s, …) is the Gaussian direction (seed, kInitStep, s).
  const std::uint64_t d = 37;
  std::vector<float> a(d), b(d);
  zo::gaussian_fill(11, zo::kInitialPointSubstream, a.data(), d);
  zo::fill_direction(Distribution::gaussian,
                     DirectionKey{11, zo::kInitStep, zo::kInitialPointSubstream}, d, b.data());
  EXPECT_EQ(a, b);
  // The substream is the fourth Philox counter word (zo/direction.hpp).
  const zo::Philox4x32Block w = zo::direction_bits(DirectionKey{5, 6, 7}, 9);
  const zo::Philox4x32Block r = zo::philox4x32_10({{9, 0, 6, 7}}, {{5, 0}});
  for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(w.v[lane], r.v[lane]);
}

}  // namespace

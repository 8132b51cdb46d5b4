// Statistical validation of the Gaussian directions on 2·10^8 samples (CPU, OpenMP): the first
// four moments, Kolmogorov–Smirnov and Anderson–Darling against the exact normal CDF, tail
// frequencies out to 5σ, and correlations between neighbouring coordinates, directions
// (substreams), steps and seeds.
//
// Every check uses a fixed key (the sample is deterministic, so the test is too) and a threshold
// with a stated false-alarm probability under the hypothesis "independent N(0, 1)". The
// generator's known deviations from that hypothesis are far below these thresholds: its values are
// within 2.1e-6 of an exact Box–Muller construction on 2^23 × 2^23 discrete (u, θ) points, whose
// CDF differs from Φ by less than 2e-7, and |z| ≤ 5.77 (P(|Z| > 5.77) = 7.9e-9 for N(0, 1)).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "zo/direction.hpp"
#include "zo/directions.hpp"

namespace {

using zo::DirectionKey;

// The sample: coordinates [0, kSamples) of one direction.
constexpr std::uint64_t kSamples = 200'000'000;
constexpr DirectionKey kKey{20261201, 1, 0};
// Generation unit: 4096 blocks (16384 coordinates).
constexpr std::uint64_t kChunkBlocks = 4096;
constexpr std::uint64_t kChunk = 4 * kChunkBlocks;
constexpr int kMaxLag = 8;

// Histogram of z over [−6, 6) in bins of 2^-17 (7.6e-6): bin edges are dyadic, so the bin of a
// float z is computed exactly in double, and the integers ±1 … ±5 are edges.
constexpr double kLow = -6.0;
constexpr std::uint64_t kBinsPerUnitInt = 131072;  // 2^17
constexpr double kBinsPerUnit = static_cast<double>(kBinsPerUnitInt);
constexpr std::uint64_t kBins = 12 * kBinsPerUnitInt;

/// Coordinates [4·first_block, 4·(first_block + count)) of direction `key`: the host SIMD
/// generator, bit-identical to gaussian4() (test_gaussian.cpp).
void generate(DirectionKey key, std::uint64_t first_block, std::uint64_t count, float* out) {
  zo::detail::gaussian_blocks(key, first_block, count, out);
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double normal_upper(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }

struct Sample {
  std::vector<std::uint32_t> histogram;   // kBins counts
  double sum[4] = {0, 0, 0, 0};           // Σ z, z², z³, z⁴
  double lag_products[kMaxLag + 1] = {};  // Σ z_i z_{i+lag} over pairs inside a chunk
  std::uint64_t lag_pairs[kMaxLag + 1] = {};
  double pair_square_products = 0.0;  // Σ (z_{2m}² − 1)(z_{2m+1}² − 1): the two values of a pair
  std::uint64_t outside = 0;          // values outside [−6, 6) (none expected)
};

struct ChunkSums {
  double sum[4] = {0, 0, 0, 0};
  double lag[kMaxLag + 1] = {};
  double pair_squares = 0.0;
};

/// Generates the sample once (about 3 s on 2 cores) and reduces it deterministically: integer
/// counts, and double sums per chunk added in chunk order (independent of the thread count).
const Sample& sample() {
  static const Sample s = [] {
    Sample out;
    out.histogram.assign(kBins, 0);
    const std::uint64_t chunks = (kSamples + kChunk - 1) / kChunk;
    std::vector<ChunkSums> per_chunk(chunks);
    const int threads = std::min(omp_get_max_threads(), 16);  // a 6 MB histogram each
    std::vector<std::vector<std::uint32_t>> histograms(threads);
    std::vector<std::uint64_t> outside(threads, 0);
#pragma omp parallel num_threads(threads)
    {
      const int me = omp_get_thread_num();
      std::vector<std::uint32_t>& h = histograms[me];
      h.assign(kBins, 0);
      std::vector<float> z(kChunk);
#pragma omp for schedule(static)
      for (std::int64_t c = 0; c < static_cast<std::int64_t>(chunks); ++c) {
        const std::uint64_t first = static_cast<std::uint64_t>(c) * kChunk;
        const std::uint64_t n = std::min(kChunk, kSamples - first);
        generate(kKey, first / 4, (n + 3) / 4, z.data());
        ChunkSums& cs = per_chunk[c];
        // Four interleaved accumulators per sum (i mod 4) keep the add chains short; the
        // order is fixed, so the sums do not depend on the thread count.
        double acc[4][4] = {};
        for (std::uint64_t i = 0; i < n; ++i) {
          const double x = z[i];
          const double x2 = x * x;
          double* a = acc[i & 3];
          a[0] += x;
          a[1] += x2;
          a[2] += x2 * x;
          a[3] += x2 * x2;
          const double pos = (x - kLow) * kBinsPerUnit;  // exact
          if (pos >= 0.0 && pos < static_cast<double>(kBins)) {
            ++h[static_cast<std::uint64_t>(pos)];
          } else {
            ++outside[me];
          }
        }
        for (int k = 0; k < 4; ++k) cs.sum[k] = (acc[0][k] + acc[1][k]) + (acc[2][k] + acc[3][k]);
        double l[kMaxLag + 1] = {};
        for (std::uint64_t i = 0; i + kMaxLag < n; ++i) {
          const double x = z[i];
          for (int lag = 1; lag <= kMaxLag; ++lag) l[lag] += x * z[i + lag];
        }
        for (std::uint64_t i = n > kMaxLag ? n - kMaxLag : 0; i < n; ++i) {  // the last few
          for (int lag = 1; i + lag < n; ++lag) l[lag] += static_cast<double>(z[i]) * z[i + lag];
        }
        for (int lag = 1; lag <= kMaxLag; ++lag) cs.lag[lag] = l[lag];
        double sq[2] = {0, 0};
        for (std::uint64_t i = 0; i + 1 < n; i += 2) {
          const double a = static_cast<double>(z[i]) * z[i];
          const double b = static_cast<double>(z[i + 1]) * z[i + 1];
          sq[(i >> 1) & 1] += (a - 1.0) * (b - 1.0);
        }
        cs.pair_squares = sq[0] + sq[1];
      }
    }
    for (int t = 0; t < threads; ++t) {
      for (std::uint64_t b = 0; b < kBins; ++b) out.histogram[b] += histograms[t][b];
      out.outside += outside[t];
    }
    for (std::uint64_t c = 0; c < chunks; ++c) {
      const std::uint64_t n = std::min(kChunk, kSamples - c * kChunk);
      for (int k = 0; k < 4; ++k) out.sum[k] += per_chunk[c].sum[k];
      for (int lag = 1; lag <= kMaxLag; ++lag) {
        out.lag_products[lag] += per_chunk[c].lag[lag];
        out.lag_pairs[lag] += n - lag;
      }
      out.pair_square_products += per_chunk[c].pair_squares;
    }
    return out;
  }();
  return s;
}

const double kN = static_cast<double>(kSamples);

// Moments of N(0, 1): E z = 0, E z² = 1, E z³ = 0, E z⁴ = 3, with per-sample variances 1, 2, 15
// and 96 (E z⁸ − 9). Each sample moment within 5 standard errors: two-sided false-alarm
// probability 5.7e-7 per check.
TEST(GaussianStatistics, FirstFourMoments) {
  const Sample& s = sample();
  EXPECT_EQ(s.outside, 0u);
  const double se = 1.0 / std::sqrt(kN);
  EXPECT_NEAR(s.sum[0] / kN, 0.0, 5.0 * se);
  EXPECT_NEAR(s.sum[1] / kN, 1.0, 5.0 * std::sqrt(2.0) * se);
  EXPECT_NEAR(s.sum[2] / kN, 0.0, 5.0 * std::sqrt(15.0) * se);
  EXPECT_NEAR(s.sum[3] / kN, 3.0, 5.0 * std::sqrt(96.0) * se);
  RecordProperty("mean", std::to_string(s.sum[0] / kN));
  RecordProperty("second", std::to_string(s.sum[1] / kN));
  RecordProperty("third", std::to_string(s.sum[2] / kN));
  RecordProperty("fourth", std::to_string(s.sum[3] / kN));
}

// Kolmogorov–Smirnov: D = sup |F_n − Φ| over the 1.6·10^6 bin edges. Between edges D can exceed
// that by at most the largest bin probability, φ(0)·2^-17 = 3.1e-6. Critical value at the 0.1%
// level: 1.949/√n = 1.38e-4 for n = 2·10^8.
TEST(GaussianStatistics, KolmogorovSmirnov) {
  const Sample& s = sample();
  std::uint64_t below = 0;
  double d = 0.0;
  for (std::uint64_t b = 0; b <= kBins; ++b) {
    const double edge = kLow + static_cast<double>(b) / kBinsPerUnit;
    d = std::max(d, std::fabs(static_cast<double>(below) / kN - normal_cdf(edge)));
    if (b < kBins) below += s.histogram[b];
  }
  RecordProperty("ks_d", std::to_string(d));
  RecordProperty("ks_sqrt_n_d", std::to_string(d * std::sqrt(kN)));
  EXPECT_LT(d + 3.1e-6, 1.949 / std::sqrt(kN));
}

// Anderson–Darling against Φ (all parameters known):
//   A² = −n − (1/n) Σ_i [(2i − 1) ln u_(i) + (2n + 1 − 2i) ln(1 − u_(i))],  u = Φ(z),
// with the c values of a bin given ranks K + 1 … K + c and u at the bin's midpoint in
// probability (the binning changes A² by a few hundredths at this n). A² < 6.0: false-alarm
// probability 0.1% (Marsaglia & Marsaglia 2004; 3.857 is the 1% point).
TEST(GaussianStatistics, AndersonDarling) {
  const Sample& s = sample();
  long double acc = 0.0L;
  std::uint64_t before = 0;
  double lower_a = normal_cdf(kLow), upper_a = normal_upper(kLow);
  for (std::uint64_t b = 0; b < kBins; ++b) {
    const double edge = kLow + static_cast<double>(b + 1) / kBinsPerUnit;
    const double lower_b = normal_cdf(edge), upper_b = normal_upper(edge);
    const std::uint64_t c = s.histogram[b];
    if (c > 0) {
      const long double lc = static_cast<long double>(c);
      const long double k2 = 2.0L * static_cast<long double>(before);
      const double log_u = std::log(0.5 * (lower_a + lower_b));
      const double log_1mu = std::log(0.5 * (upper_a + upper_b));
      acc += lc * (k2 + lc) * log_u + lc * (2.0L * kN - k2 - lc) * log_1mu;
    }
    before += c;
    lower_a = lower_b;
    upper_a = upper_b;
  }
  const double a2 = static_cast<double>(-static_cast<long double>(kN) - acc / kN);
  RecordProperty("anderson_darling", std::to_string(a2));
  EXPECT_LT(a2, 6.0);
  EXPECT_GT(a2, 0.0);
}

// Tail frequencies: #{z > k} and #{z < −k} for k = 1 … 5 against n·Q(k) with Q the exact normal
// upper tail (Q(5) = 2.87e-7: 57 expected values). Each within 4.5 binomial standard errors
// (normal approximation; two-sided false-alarm probability 6.8e-6 per check, < 7e-5 for all 10).
TEST(GaussianStatistics, TailFrequenciesOutToFiveSigma) {
  const Sample& s = sample();
  for (int k = 1; k <= 5; ++k) {
    // Edges at −k and +k are bin boundaries: bins [0, (6 − k)·2^17) lie below −k.
    const std::uint64_t lower_bins = static_cast<std::uint64_t>(6 - k) * kBinsPerUnitInt;
    const std::uint64_t upper_first = static_cast<std::uint64_t>(6 + k) * kBinsPerUnitInt;
    std::uint64_t below = 0, above = 0;
    for (std::uint64_t b = 0; b < lower_bins; ++b) below += s.histogram[b];
    for (std::uint64_t b = upper_first; b < kBins; ++b) above += s.histogram[b];
    const double q = normal_upper(k);
    const double expected = kN * q;
    const double se = std::sqrt(kN * q * (1.0 - q));
    EXPECT_NEAR(static_cast<double>(below), expected, 4.5 * se) << "z < −" << k;
    EXPECT_NEAR(static_cast<double>(above), expected, 4.5 * se) << "z > " << k;
    RecordProperty("tail_" + std::to_string(k), std::to_string(below) + "/" +
                                                    std::to_string(above) + " expected " +
                                                    std::to_string(expected));
  }
}

// Neighbouring coordinates: the mean of z_i z_{i+lag} for lags 1 … 8 (inside a Philox pair, a
// block, across blocks) within 5 standard errors of 0 (SE 1/√pairs); and the two values of a
// Box–Muller pair share a radius, so E (z0² − 1)(z1² − 1) = 0 checks their independence
// (variance 4 per pair). False-alarm probability 5.7e-7 per check.
TEST(GaussianStatistics, NeighbouringCoordinatesAreUncorrelated) {
  const Sample& s = sample();
  for (int lag = 1; lag <= kMaxLag; ++lag) {
    const double m = static_cast<double>(s.lag_pairs[lag]);
    EXPECT_NEAR(s.lag_products[lag] / m, 0.0, 5.0 / std::sqrt(m)) << "lag " << lag;
  }
  const double pairs = kN / 2;
  EXPECT_NEAR(s.pair_square_products / pairs, 0.0, 5.0 * 2.0 / std::sqrt(pairs));
}

/// Mean of a_i·b_i and of (a_i² − 1)(b_i² − 1) over n coordinates of two directions.
void cross_moments(DirectionKey a, DirectionKey b, std::uint64_t n, double* product,
                   double* square_product) {
  std::vector<float> x(n), y(n);
  generate(a, 0, n / 4, x.data());
  generate(b, 0, n / 4, y.data());
  double p = 0.0, q = 0.0;
  for (std::uint64_t i = 0; i < n; ++i) {
    const double u = x[i], v = y[i];
    p += u * v;
    q += (u * u - 1.0) * (v * v - 1.0);
  }
  *product = p / static_cast<double>(n);
  *square_product = q / static_cast<double>(n);
}

// Different directions, steps and seeds are uncorrelated coordinate by coordinate: the means of
// a_i b_i (SE 1/√n) and (a_i² − 1)(b_i² − 1) (SE 2/√n) within 5 standard errors, n = 2^24 per
// comparison; false-alarm probability 5.7e-7 per check.
TEST(GaussianStatistics, DirectionsStepsAndSeedsAreUncorrelated) {
  const std::uint64_t n = 1u << 24;
  const double se = 1.0 / std::sqrt(static_cast<double>(n));
  struct Case {
    const char* what;
    DirectionKey a, b;
  };
  const Case cases[] = {
      {"substream j vs j + 1", {77, 10, 0}, {77, 10, 1}},
      {"substream 1 vs 2", {77, 10, 1}, {77, 10, 2}},
      {"step t vs t + 1", {77, 10, 0}, {77, 11, 0}},
      {"step 0 vs 1", {5, 0, 0}, {5, 1, 0}},
      {"seed s vs s + 1", {77, 10, 0}, {78, 10, 0}},
      {"seed s vs s + 2^32", {77, 10, 0}, {77 + (1ull << 32), 10, 0}},
      {"initial point substreams 0 vs 1", {3, zo::kInitStep, 0}, {3, zo::kInitStep, 1}},
      {"run step 0 vs trace probe 0", {3, 0, 0}, {3, 0, zo::kTraceProbeSubstream}},
  };
  for (const Case& c : cases) {
    double p, q;
    cross_moments(c.a, c.b, n, &p, &q);
    EXPECT_NEAR(p, 0.0, 5.0 * se) << c.what;
    EXPECT_NEAR(q, 0.0, 5.0 * 2.0 * se) << c.what;
  }
}

}  // namespace

// The Gaussian transform of zo/direction.hpp: known answers from an independent reference, the
// accuracy of each step on every input, and the bit identity of the host SIMD generator.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace {

using zo::DirectionKey;
using zo::Distribution;
using zo::detail::HostSimd;

// The documented bound (include/zo/direction.hpp, README "Directions"): the float output differs
// from the exact construction by at most kErrPerRadius·r + kErrPerValue·|z|, r = √(z0² + z1²) of
// its Box–Muller pair. It follows from the per-step bounds checked exhaustively below: radius
// relative error ≤ 1.44e-7, sin/cos absolute error ≤ 1.62e-7, one final rounding (2^-24·|z|).
constexpr double kErrPerRadius = 3.1e-7;
constexpr double kErrPerValue = 6.0e-8;

struct GaussianKat {
  std::uint64_t seed;
  std::uint32_t step;
  std::uint32_t substream;
  std::uint64_t block;
  double z[4];
};

// Output of scripts/gaussian_reference.py: Philox4x32-10 and the exact Box–Muller construction
// reimplemented in Python (mpmath, 40 digits), independently of this library's code.
const GaussianKat kGaussianKats[] = {
    {0x0ull,
     0x0u,
     0x0u,
     0x0ull,
     {7.9220951298645805e-1, 1.3050806279052017, -1.8335026062060177e-2, -8.6976745241308272e-1}},
    {0x0ull,
     0x0u,
     0x0u,
     0x1ull,
     {-6.5084062920090849e-1, -2.3281428856377022e-1, -3.8563125037459098e-2, 1.5672272426258393}},
    {0x0ull,
     0x0u,
     0x0u,
     0x2ull,
     {2.8801646390972681e-1, 5.1417498608944764e-2, 7.7867546543514806e-1, -1.7324470991510540}},
    {0x0ull,
     0x0u,
     0x0u,
     0x3ull,
     {-1.9992997925649294, 2.1951580414972768e-1, -1.0583167088198478, 3.2277408005717745e-2}},
    {0x1ull,
     0x0u,
     0x0u,
     0x0ull,
     {-1.5737275925414920e-1, -6.2452291369819306e-1, -2.4278199092356504e-1,
      -4.1272312395784071e-1}},
    {0x2Aull,
     0x7u,
     0x0u,
     0x0ull,
     {4.7877092013484330e-1, 2.5690052373734180e-1, 4.1313711934644780e-2, 1.3149626259361967e-1}},
    {0x2Aull,
     0x7u,
     0x1u,
     0x0ull,
     {-1.5453678800064368, -5.3361765495678755e-1, -1.4541269361234760, 8.5582529894617822e-1}},
    {0x2Aull,
     0x7u,
     0x2u,
     0x3039ull,
     {-4.7074611513163098e-1, -4.8573843912525790e-1, -2.7374635486393505e-1, -1.3785739678849470}},
    {0x7ull,
     0x3u,
     0x0u,
     0x3E8ull,
     {4.6109542735575576e-1, 1.4287505260561135, -1.1241703930532574, 1.0107403676215700}},
    {0x123456789ABCDEF0ull,
     0x4Du,
     0x3u,
     0x9ull,
     {1.3599184865933640, 1.4065688030279011, 5.0378886066932642e-1, -3.2595199528850438e-1}},
    {0xFFFFFFFFFFFFFFFFull,
     0xFFFFFFFEu,
     0xFFFFFFFFu,
     0xFFFFFFFFull,
     {1.0131226560169281, -1.7604126300618817e-1, -1.0581476731147860, -4.7222161843526089e-1}},
    {0x5ull,
     0xFFFFFFFFu,
     0x0u,
     0x0ull,
     {-9.2289538083228267e-2, -1.0480831654690813, 1.0042083709931422, -1.2392603994350939}},
    {0x5ull,
     0xFFFFFFFFu,
     0x0u,
     0x18ull,
     {1.0099808902347250e-1, -4.3129086242601257e-1, 4.8442622838076048e-1,
      -5.7230644987126980e-1}},
    {0xBull,
     0xFFFFFFFFu,
     0xDA7A0010u,
     0x4Dull,
     {4.4889287582101690e-1, 1.2950855514803120e-2, -8.3008679702577556e-1, 2.2268067145029771}},
    {0x3ull,
     0x29u,
     0x74720000u,
     0xFAull,
     {2.0451027051093595e-1, -1.2203338054074088, -2.7796014851538496e-1, -1.1108404419111675}},
    {0x3ull,
     0x29u,
     0x74720001u,
     0xFAull,
     {6.0857916265747483e-1, -1.3160862397211433, -4.7605411359098394e-1, 2.0802842571525603e-1}},
    {0x10000000001ull,
     0x1u,
     0x0u,
     0x100000000ull,
     {4.7780844183131848e-1, 6.7931310213682669e-1, -1.0748125223717718, 1.2351951886505367}},
    {0x10000000001ull,
     0x1u,
     0x0u,
     0x100000005ull,
     {1.9558450932519215e-1, 4.1572072554387469e-1, 1.2236967627336825, -1.3276725505682496e-1}},
    {0x3E7ull,
     0x186A0u,
     0x0u,
     0x80000007Bull,
     {-3.9311814280624355e-1, 8.3032308334946888e-1, 1.1968955946155846e-1,
      -6.4289964704834338e-1}},
    {0x7A69ull,
     0x5u,
     0x4u,
     0x100000ull,
     {-4.5584975220578237e-1, 2.1520599904493292, -1.7025518313154924, -1.0298580647534123e-1}},
    {0x8ull,
     0x8u,
     0x8u,
     0x8ull,
     {1.5808706435664993, 1.3413730565745311, 9.8460720304322546e-1, 5.3063943343403060e-1}},
    {0x75BCD15ull,
     0x2u,
     0x0u,
     0x61A7ull,
     {1.1801045974195998, -3.7501217684803805e-1, 8.8116775698666712e-1, -1.5881800438318373}},
    {0x7E8ull,
     0xCu,
     0x1u,
     0x3ull,
     {9.8696348533510427e-3, 1.0387417249117052, 6.4018968205533418e-1, 1.4190219932628124}},
    {0xDEADBEEFull,
     0xCAFEu,
     0xBEEFu,
     0xF00Dull,
     {-7.3486327041643034e-1, 6.5504205146852314e-1, -2.0618165897351283, -1.6126455129161819e-1}},
};

double tolerance(double z, double r) { return kErrPerRadius * r + kErrPerValue * std::fabs(z); }

TEST(GaussianKnownAnswers, MatchTheIndependentReference) {
  int sensitive = 0, values = 0;
  for (const GaussianKat& kat : kGaussianKats) {
    const zo::Float4 g = zo::gaussian4(DirectionKey{kat.seed, kat.step, kat.substream}, kat.block);
    for (int lane = 0; lane < 4; ++lane) {
      const int pair = lane & ~1;
      const double r = std::hypot(kat.z[pair], kat.z[pair + 1]);
      const double tol = tolerance(kat.z[lane], r);
      EXPECT_NEAR(g.v[lane], kat.z[lane], tol)
          << "seed " << kat.seed << " step " << kat.step << " substream " << kat.substream
          << " block " << kat.block << " lane " << lane;
      ++values;
      if (0.001 * std::fabs(kat.z[lane]) > tol) ++sensitive;
    }
  }
  // The test can fail: a 0.1% error of the transform exceeds the tolerance on (nearly) every value.
  EXPECT_EQ(values, 96);
  EXPECT_GE(sensitive, 90);
}

// The same vectors through every host path (the SIMD generator and fill_direction).
TEST(GaussianKnownAnswers, EveryHostPathMatches) {
  for (HostSimd path : {HostSimd::scalar, HostSimd::avx2, HostSimd::avx512}) {
    std::vector<float> out(4);
    try {
      zo::detail::gaussian_blocks(path, DirectionKey{0, 0, 0}, 0, 1, out.data());
    } catch (const zo::NotSupported&) {
      continue;  // this CPU lacks the path; the others are still checked
    }
    for (const GaussianKat& kat : kGaussianKats) {
      zo::detail::gaussian_blocks(path, DirectionKey{kat.seed, kat.step, kat.substream}, kat.block,
                                  1, out.data());
      const zo::Float4 g =
          zo::gaussian4(DirectionKey{kat.seed, kat.step, kat.substream}, kat.block);
      EXPECT_EQ(std::memcmp(out.data(), g.v, sizeof g.v), 0) << "path " << static_cast<int>(path);
    }
  }
}

// −2 ln u on all 2^23 uniforms: relative error ≤ 1.5e-7 (measured 1.44e-7). Only the low 23 bits
// matter.
TEST(GaussianTransform, LogIsAccurateOnEveryInput) {
  double worst = 0.0;
  for (std::uint32_t x = 0; x < (1u << 23); ++x) {
    const double u = (2.0 * x + 1.0) / 16777216.0;
    const double ref = -2.0 * std::log(u);
    const float w = zo::neg2_log_uniform(x | 0xFF800000u);
    ASSERT_EQ(w, zo::neg2_log_uniform(x)) << x;
    worst = std::max(worst, std::fabs(w - ref) / ref);
  }
  EXPECT_LT(worst, 1.5e-7);
  EXPECT_GT(worst, 1e-8);  // a float computation: exactly 0 would mean the test is broken
}

// √w on every w the log produces and on every 61st float of the normal range: relative error
// ≤ 1e-7 (measured 9.9e-8).
TEST(GaussianTransform, SqrtIsAccurate) {
  double worst = 0.0;
  for (std::uint32_t x = 0; x < (1u << 23); ++x) {
    const float w = zo::neg2_log_uniform(x);
    const double ref = std::sqrt(static_cast<double>(w));
    worst = std::max(worst, std::fabs(zo::sqrt_positive(w) - ref) / ref);
  }
  for (std::uint32_t bits = 0x00800000u; bits < 0x7F000000u; bits += 61) {
    float w;
    std::memcpy(&w, &bits, sizeof w);
    const double ref = std::sqrt(static_cast<double>(w));
    worst = std::max(worst, std::fabs(zo::sqrt_positive(w) - ref) / ref);
  }
  EXPECT_LT(worst, 1.0e-7);
}

// sin and cos of π f / 2 on all 2^23 angles: absolute error ≤ 1.7e-7 (measured 1.62e-7).
TEST(GaussianTransform, SinCosAreAccurateOnEveryInput) {
  const double half_pi = 1.5707963267948966;
  double worst = 0.0;
  for (std::uint32_t b = 0; b < (1u << 23); ++b) {
    const double f = b / 4194304.0 - 1.0;
    float s, c;
    zo::sincos_half_turn(b, &s, &c);
    worst = std::max(worst, std::fabs(s - std::sin(half_pi * f)));
    worst = std::max(worst, std::fabs(c - std::cos(half_pi * f)));
    ASSERT_GE(c, 0.0f) << b;  // the left half-plane comes from the sign bit only
  }
  EXPECT_LT(worst, 1.7e-7);
}

// The whole pair against the exact construction in double, on 2^22 pairs of Philox words
// (including the extreme radii): within the documented bound.
TEST(GaussianTransform, PairIsWithinTheDocumentedBound) {
  const double half_pi = 1.5707963267948966;
  double worst_abs = 0.0;
  auto check = [&](std::uint32_t a, std::uint32_t b) {
    const double u = (2.0 * (a & 0x7FFFFFu) + 1.0) / 16777216.0;
    const double f = (b & 0x7FFFFFu) / 4194304.0 - 1.0;
    const double r = std::sqrt(-2.0 * std::log(u));
    const double z0 = ((a >> 31) ? -1.0 : 1.0) * r * std::cos(half_pi * f);
    const double z1 = r * std::sin(half_pi * f);
    float g0, g1;
    zo::box_muller(a, b, &g0, &g1);
    EXPECT_LE(std::fabs(g0 - z0), tolerance(z0, r)) << a << " " << b;
    EXPECT_LE(std::fabs(g1 - z1), tolerance(z1, r)) << a << " " << b;
    worst_abs = std::max({worst_abs, std::fabs(g0 - z0), std::fabs(g1 - z1)});
  };
  for (std::uint64_t block = 0; block < (1u << 20); ++block) {
    const zo::Philox4x32Block w = zo::direction_bits(DirectionKey{17, 4, 2}, block);
    check(w.v[0], w.v[1]);
    check(w.v[2], w.v[3]);
  }
  for (std::uint32_t a : {0u, 1u, 0x7FFFFFu, 0x7FFFFEu, 0x80000000u, 0xFFFFFFFFu}) {
    for (std::uint32_t b : {0u, 1u, 0x200000u, 0x400000u, 0x600000u, 0x7FFFFFu}) check(a, b);
  }
  EXPECT_LT(worst_abs, 2.1e-6);
}

// The extreme outputs: the largest radius √(48 ln 2) = 5.77 (u = 2^-24) and the smallest.
TEST(GaussianTransform, RadiusRange) {
  float z0, z1;
  zo::box_muller(0u, 0x400000u, &z0, &z1);  // u = 2^-24, f = 0: z = (r, 0)
  EXPECT_NEAR(z0, std::sqrt(48.0 * std::log(2.0)), 2e-6);
  EXPECT_EQ(z1, 0.0f);
  zo::box_muller(0x80000000u, 0x400000u, &z0, &z1);  // the sign bit
  EXPECT_NEAR(z0, -std::sqrt(48.0 * std::log(2.0)), 2e-6);
  zo::box_muller(0x7FFFFFu, 0x400000u, &z0, &z1);  // u = 1 − 2^-24
  EXPECT_NEAR(z0, std::sqrt(-2.0 * std::log1p(-1.0 / 16777216.0)), 1e-10);
  EXPECT_GT(z0, 0.0f);
}

// Every host path writes exactly the scalar gaussian4() bits, for awkward counts (1, not a
// multiple of 8 or 16), offsets, and groups that cross a 2^32 boundary of the block index.
TEST(GaussianSimd, EveryPathIsBitIdenticalToTheScalarPath) {
  const DirectionKey keys[] = {{0, 0, 0}, {0x123456789ABCDEFull, 77, 5}, {3, zo::kInitStep, 9}};
  const std::uint64_t firsts[] = {
      0, 1, 5, 17, 1000, 0xFFFFFFF0ull, 0xFFFFFFFAull, 0xFFFFFFFFull, (1ull << 40) + 3};
  const std::uint64_t counts[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000};
  int paths = 0;
  for (HostSimd path : {HostSimd::avx2, HostSimd::avx512}) {
    std::vector<float> probe(4);
    try {
      zo::detail::gaussian_blocks(path, keys[0], 0, 1, probe.data());
    } catch (const zo::NotSupported&) {
      continue;
    }
    ++paths;
    for (const DirectionKey& key : keys) {
      for (std::uint64_t first : firsts) {
        for (std::uint64_t count : counts) {
          // Guard words on both sides: nothing outside [0, 4·count) is written.
          std::vector<float> out(4 * count + 8, -7.0f);
          zo::detail::gaussian_blocks(path, key, first, count, out.data() + 4);
          for (std::uint64_t i = 0; i < count; ++i) {
            const zo::Float4 g = zo::gaussian4(key, first + i);
            ASSERT_EQ(std::memcmp(out.data() + 4 + 4 * i, g.v, sizeof g.v), 0)
                << "path " << static_cast<int>(path) << " first " << first << " count " << count
                << " block " << i;
          }
          for (int k = 0; k < 4; ++k) {
            ASSERT_EQ(out[k], -7.0f);
            ASSERT_EQ(out[4 * count + 4 + k], -7.0f);
          }
        }
      }
    }
  }
  // The default path is one of them, and the dispatcher agrees with it.
  std::vector<float> a(4 * 37), b(4 * 37);
  zo::detail::gaussian_blocks(keys[1], 11, 37, a.data());
  zo::detail::gaussian_blocks(zo::detail::host_simd(), keys[1], 11, 37, b.data());
  EXPECT_EQ(a, b);
  RecordProperty("simd_paths_checked", paths);
}

// The lane-minor generator (8 runs, one per lane) writes exactly gaussian4() of every run, on
// every path, for odd and even counts, seeds that differ in either word, and block pairs that
// cross a 2^32 boundary of the block index; nothing outside its range is written.
TEST(GaussianSimd, LaneMinorRunsAreBitIdenticalToTheScalarPath) {
  const std::uint64_t seeds[8] = {0,          1,  0x100000000ull, 0x123456789ABCDEFull, ~0ull,
                                  7ull << 33, 42, 0xFFFFFFFFull};
  const std::uint32_t steps[] = {0, 77, zo::kInitStep};
  const std::uint64_t firsts[] = {
      0, 1, 6, 0xFFFFFFFDull, 0xFFFFFFFEull, 0xFFFFFFFFull, (1ull << 40) + 3};
  const std::uint64_t counts[] = {1, 2, 3, 4, 7, 8, 50, 51};
  int paths = 0;
  for (HostSimd path : {HostSimd::scalar, HostSimd::avx2, HostSimd::avx512}) {
    std::vector<float> probe(32);
    try {
      zo::detail::gaussian_lanes8(path, seeds, 0, 0, 0, 1, probe.data());
    } catch (const zo::NotSupported&) {
      continue;
    }
    ++paths;
    for (std::uint32_t step : steps) {
      for (std::uint32_t substream : {0u, 3u}) {
        for (std::uint64_t first : firsts) {
          for (std::uint64_t count : counts) {
            std::vector<float> out(32 * count + 16, -7.0f);
            zo::detail::gaussian_lanes8(path, seeds, step, substream, first, count, out.data() + 8);
            for (std::uint64_t i = 0; i < count; ++i) {
              for (int w = 0; w < 8; ++w) {
                const zo::Float4 g =
                    zo::gaussian4(DirectionKey{seeds[w], step, substream}, first + i);
                for (int c = 0; c < 4; ++c) {
                  ASSERT_EQ(std::memcmp(&out[8 + 8 * (4 * i + c) + w], &g.v[c], sizeof(float)), 0)
                      << "path " << static_cast<int>(path) << " step " << step << " first " << first
                      << " count " << count << " block " << i << " run " << w;
                }
              }
            }
            for (int k = 0; k < 8; ++k) {
              ASSERT_EQ(out[k], -7.0f);
              ASSERT_EQ(out[32 * count + 8 + k], -7.0f);
            }
          }
        }
      }
    }
  }
  EXPECT_GE(paths, 1);
  RecordProperty("simd_paths_checked", paths);
}

// fill_direction (SIMD inside) and sphere_scale equal the scalar per-coordinate definitions for
// awkward sizes: 1, 2, 3, 5, block and piece boundaries, several sphere chunks.
TEST(GaussianSimd, FillDirectionAndSphereScaleMatchTheScalarDefinitions) {
  const DirectionKey key{99, 5, 1};
  for (std::uint64_t d : {1ull, 2ull, 3ull, 4ull, 5ull, 63ull, 64ull, 65ull, 4095ull, 4096ull,
                          4097ull, 8191ull, 8193ull, 8195ull, 12289ull, 40001ull}) {
    // Scalar sphere scale: the canonical chunk sums of zo/direction.hpp.
    double sum = 0.0;
    for (std::uint64_t c = 0; c * zo::kSphereChunk < d; ++c) sum += zo::sphere_chunk_sum(key, c, d);
    const float scalar_scale = zo::sphere_scale_from_sum(sum, d);
    ASSERT_EQ(zo::sphere_scale(key, d), scalar_scale) << "d = " << d;
    for (Distribution dist : {Distribution::gaussian, Distribution::sphere}) {
      std::vector<float> out(d + 1, -7.0f);
      zo::fill_direction(dist, key, d, out.data());
      const float scale = dist == Distribution::sphere ? scalar_scale : 1.0f;
      for (std::uint64_t i = 0; i < d; ++i) {
        const float one = zo::direction_at(dist, key, i, scale);
        ASSERT_EQ(std::memcmp(&one, &out[i], sizeof one), 0) << "d = " << d << ", i = " << i;
      }
      ASSERT_EQ(out[d], -7.0f);
    }
  }
}

}  // namespace

// Random directions as pure functions of (seed, step, substream, coordinate).
//
// Coordinate i of a direction uses Philox4x32-10 block i/4 with
//   counter = (lo32(i/4), hi32(i/4), step, substream),  key = (lo32(seed), hi32(seed))
// and lane i%4 of the transformed block (which keys zo uses for what: zo/substreams.hpp).
// Nothing is stored: any coordinate can be regenerated in any order on any device. The float
// transforms below use only IEEE-754 operations that are correctly rounded on both CPU and GPU (+,
// *, explicit fma; no divide, no sqrt, no library call) and bit manipulation, so the host and the
// device produce bit-identical directions. They must be compiled without fast-math and, on the
// host, without floating-point contraction (-ffp-contract=off); zo's build does both.
#pragma once

#include <cstdint>
#include <cstring>

#include "zo/config.hpp"
#include "zo/philox.hpp"
#include "zo/substreams.hpp"

#if !defined(__CUDACC__)
#include <cmath>
#endif

namespace zo {

/// The distribution of a direction u; each has E[u uᵀ] = I.
enum class Distribution : std::uint32_t {
  gaussian = 0,    ///< u ~ N(0, I), the paper's choice (default).
  rademacher = 1,  ///< u_i = ±1 with probability 1/2 each.
  sphere = 2,      ///< u uniform on the sphere of radius √d (a normalised Gaussian).
};

/// Identifies one direction: run `seed` at optimisation step `step`; `substream` separates
/// independent directions of the same step (j < q) and the other uses of the key space listed in
/// zo/substreams.hpp. (A Philox substream, unrelated to CUDA streams.)
struct DirectionKey {
  std::uint64_t seed;
  std::uint32_t step;
  std::uint32_t substream;
};

/// Four consecutive coordinates of a direction.
struct Float4 {
  float v[4];
};

namespace detail {

ZO_HD ZO_INLINE std::uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}

ZO_HD ZO_INLINE float bits_float(std::uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}

ZO_HD ZO_INLINE float fma_f(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

ZO_HD ZO_INLINE float sqrt_f(float x) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(x);
#else
  return std::sqrt(x);
#endif
}

ZO_HD ZO_INLINE float div_f(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

ZO_HD ZO_INLINE float mul_f(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);  // never contracted into an fma
#else
  return a * b;
#endif
}

}  // namespace detail

/// Uniform in (0, 1]: ((x >> 8) + 1) · 2^-24, exact. (A general helper; the Gaussian transform
/// below builds its own uniforms from the bits.)
ZO_HD ZO_INLINE float uniform_open_closed(std::uint32_t x) {
  return static_cast<float>((x >> 8) + 1u) * (1.0f / 16777216.0f);
}

/// Uniform in [0, 1): (x >> 8) · 2^-24, exact.
ZO_HD ZO_INLINE float uniform_closed_open(std::uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}

// ---------------------------------------------------------------------------------------------
// The Gaussian transform (changed in zo 0.1.0; directions differ from earlier builds). Two Philox
// words (a, b) give two N(0, 1) values by an exact Box–Muller construction:
//
//   u  = (2·(a & 0x7FFFFF) + 1) · 2^-24          uniform on 2^23 midpoints of (0, 1)
//   f  = (b & 0x7FFFFF) · 2^-22 − 1              uniform on 2^23 points of [−1, 1)
//   r  = √(−2 ln u),  θ = π f / 2 ∈ [−π/2, π/2)
//   z0 = ±r cos θ  (the sign is bit 31 of a),    z1 = r sin θ
//
// The sign bit reflects θ into the left half-plane, so the angle is uniform on the whole circle
// and z0, z1 are independent N(0, 1) (|z| ≤ r ≤ √(48 ln 2) = 5.77). Every step is an integer
// operation, an exactly rounded add or multiply, or an explicit fma: no divide, no library call,
// no branch (the sign is an xor), so the host and the device produce the same bits.
//   −2 ln u: u = m·2^k with m ∈ [√½, √2) from the exponent bits; −2 ln m = t·P(t), t = m − 1,
//            P a degree-8 minimax polynomial (relative error 3e-8 before rounding).
//   √w:      a bit-trick 1/√w estimate, one Newton step, then √w = s·(1 + e/2 + 3e²/8) with
//            s = w·y, e = 1 − s·y (relative truncation error < 2e-8).
//   sin, cos of π f / 2: odd degree-9 and even degree-8 minimax polynomials in f.
// Maximum error against the same construction in exact arithmetic (each step checked on every
// input by tests/test_gaussian.cpp; README, "Directions"): the radius is within 1.44e-7
// (relative), sin and cos within 1.62e-7, so |z − z_ideal| ≤ 3.1e-7·r + 6e-8·|z| ≤ 2.1e-6 and
// |Φ(z) − Φ(z_ideal)| ≤ 8.4e-7. The exact construction itself is N(0, 1) up to its grid: its
// CDF is within 2e-7 of Φ, and |z| ≤ 5.77 (P(|Z| > 5.77) = 7.9e-9 for Z ~ N(0, 1)).
// ---------------------------------------------------------------------------------------------

namespace detail {

// −2 ln(1 + t) = t · (−2 + t·Q(t)), t ∈ [√½ − 1, √2 − 1): Q's coefficients, lowest first.
constexpr float kLogQ0 = 0.999999821f;
constexpr float kLogQ1 = -0.666679025f;
constexpr float kLogQ2 = 0.500035107f;
constexpr float kLogQ3 = -0.399241418f;
constexpr float kLogQ4 = 0.33141008f;
constexpr float kLogQ5 = -0.298359662f;
constexpr float kLogQ6 = 0.28615132f;
constexpr float kLogQ7 = -0.174697414f;
constexpr float kNeg2Ln2 = -1.38629436f;  // −2 ln 2
// sin(π f / 2) = f · S(f²), f ∈ [−1, 1]: S's coefficients, lowest first.
constexpr float kSin0 = 1.57079637f;
constexpr float kSin1 = -0.645963788f;
constexpr float kSin2 = 0.0796899274f;
constexpr float kSin3 = -0.00467415759f;
constexpr float kSin4 = 0.000151678658f;
// cos(π f / 2) = 1 + f² · C(f²): C's coefficients, lowest first.
constexpr float kCos1 = -1.23369884f;
constexpr float kCos2 = 0.253653198f;
constexpr float kCos3 = -0.020813968f;
constexpr float kCos4 = 0.000859690888f;
constexpr std::uint32_t kRsqrtMagic = 0x5F375A86u;  // 1/√w estimate (relative error < 3.5%)

}  // namespace detail

/// −2 ln u for the uniform u = (2·(a & 0x7FFFFF) + 1)·2^-24 ∈ [2^-24, 1 − 2^-24]: the squared
/// Box–Muller radius, in [1.19e-7, 33.27]. Relative error ≤ 1.5e-7 (every input checked).
ZO_HD ZO_INLINE float neg2_log_uniform(std::uint32_t a) {
  using namespace detail;
  const float u = bits_float(0x3F800000u | (a & 0x007FFFFFu)) - 0.99999994f;  // exact
  const std::uint32_t ix = float_bits(u) - 0x3F3504F3u;  // u = m·2^k, m ∈ [√½, √2)
  const int k = static_cast<int>(ix) >> 23;
  const float t = bits_float((ix & 0x007FFFFFu) + 0x3F3504F3u) - 1.0f;  // m − 1, exact
  float q = fma_f(kLogQ7, t, kLogQ6);
  q = fma_f(q, t, kLogQ5);
  q = fma_f(q, t, kLogQ4);
  q = fma_f(q, t, kLogQ3);
  q = fma_f(q, t, kLogQ2);
  q = fma_f(q, t, kLogQ1);
  q = fma_f(q, t, kLogQ0);
  const float minus_two_log_m = mul_f(fma_f(q, t, -2.0f), t);
  return fma_f(static_cast<float>(k), kNeg2Ln2, minus_two_log_m);
}

/// √w for w in [2^-126, 2^126] without a divide or a library call: relative error ≤ 1e-7.
ZO_HD ZO_INLINE float sqrt_positive(float w) {
  using namespace detail;
  float y = bits_float(kRsqrtMagic - (float_bits(w) >> 1));  // ≈ 1/√w
  y = mul_f(y, fma_f(mul_f(-0.5f, w), mul_f(y, y), 1.5f));   // Newton: relative error < 1.8e-3
  const float s = mul_f(w, y);                               // ≈ √w
  const float e = fma_f(-s, y, 1.0f);                        // 1 − w·y², |e| < 3.6e-3
  return fma_f(mul_f(s, e), fma_f(e, 0.375f, 0.5f), s);      // s·(1 + e/2 + 3e²/8)
}

/// sin(π f / 2) and cos(π f / 2) for f = (b & 0x7FFFFF)·2^-22 − 1 ∈ [−1, 1): absolute error
/// ≤ 1.7e-7 (every input checked).
ZO_HD ZO_INLINE void sincos_half_turn(std::uint32_t b, float* sin_out, float* cos_out) {
  using namespace detail;
  const float f = bits_float(0x40000000u | (b & 0x007FFFFFu)) - 3.0f;  // exact
  const float f2 = mul_f(f, f);
  float sp = fma_f(kSin4, f2, kSin3);
  sp = fma_f(sp, f2, kSin2);
  sp = fma_f(sp, f2, kSin1);
  sp = fma_f(sp, f2, kSin0);
  *sin_out = mul_f(sp, f);
  float cp = fma_f(kCos4, f2, kCos3);
  cp = fma_f(cp, f2, kCos2);
  cp = fma_f(cp, f2, kCos1);
  *cos_out = fma_f(cp, f2, 1.0f);
}

/// Box–Muller: two independent N(0,1) values from two uniform 32-bit words (construction above).
ZO_HD ZO_INLINE void box_muller(std::uint32_t a, std::uint32_t b, float* z0, float* z1) {
  using namespace detail;
  const float r = sqrt_positive(neg2_log_uniform(a));
  float s, c;
  sincos_half_turn(b, &s, &c);
  *z0 = bits_float(float_bits(mul_f(r, c)) ^ (a & 0x80000000u));
  *z1 = mul_f(r, s);
}

/// The Philox block that holds coordinates [4·block, 4·block + 4) of direction `key`.
ZO_HD ZO_INLINE Philox4x32Block direction_bits(DirectionKey key, std::uint64_t block) {
  const Philox4x32Block counter{{static_cast<std::uint32_t>(block),
                                 static_cast<std::uint32_t>(block >> 32), key.step, key.substream}};
  const Philox4x32Key k{
      {static_cast<std::uint32_t>(key.seed), static_cast<std::uint32_t>(key.seed >> 32)}};
  return philox4x32_10(counter, k);
}

/// Coordinates [4·block, 4·block + 4) of a Gaussian direction.
ZO_HD ZO_INLINE Float4 gaussian4(DirectionKey key, std::uint64_t block) {
  const Philox4x32Block w = direction_bits(key, block);
  Float4 out;
  box_muller(w.v[0], w.v[1], &out.v[0], &out.v[1]);
  box_muller(w.v[2], w.v[3], &out.v[2], &out.v[3]);
  return out;
}

/// Coordinates [4·block, 4·block + 4) of a Rademacher direction (the top bit of each word).
ZO_HD ZO_INLINE Float4 rademacher4(DirectionKey key, std::uint64_t block) {
  const Philox4x32Block w = direction_bits(key, block);
  Float4 out;
  for (int lane = 0; lane < 4; ++lane) out.v[lane] = (w.v[lane] >> 31) ? -1.0f : 1.0f;
  return out;
}

/// Coordinates [4·block, 4·block + 4) of a direction. For `sphere`, `sphere_scale` must be
/// √d / ‖g‖ of the underlying Gaussian g (see sphere_scale() in zo/directions.hpp); it is
/// ignored otherwise.
ZO_HD ZO_INLINE Float4 direction4(Distribution dist, DirectionKey key, std::uint64_t block,
                                  float sphere_scale) {
  if (dist == Distribution::rademacher) return rademacher4(key, block);
  Float4 g = gaussian4(key, block);
  if (dist == Distribution::sphere) {
    for (int lane = 0; lane < 4; ++lane) g.v[lane] = detail::mul_f(g.v[lane], sphere_scale);
  }
  return g;
}

/// Coordinate i of a direction (generates the whole block; prefer direction4 in loops).
ZO_HD ZO_INLINE float direction_at(Distribution dist, DirectionKey key, std::uint64_t i,
                                   float sphere_scale) {
  return direction4(dist, key, i >> 2, sphere_scale).v[i & 3];
}

/// Number of coordinates per chunk in the canonical sphere-norm reduction.
constexpr std::uint64_t kSphereChunk = 4096;

/// Sum of g_i² over the chunk [c·kSphereChunk, min((c+1)·kSphereChunk, d)) of the Gaussian
/// direction, accumulated in double in coordinate order: the canonical per-chunk partial sum.
ZO_HD ZO_INLINE double sphere_chunk_sum(DirectionKey key, std::uint64_t chunk, std::uint64_t d) {
  const std::uint64_t begin = chunk * kSphereChunk;
  const std::uint64_t end = begin + kSphereChunk < d ? begin + kSphereChunk : d;
  double sum = 0.0;
  for (std::uint64_t block = begin / 4; block * 4 < end; ++block) {
    const Float4 g = gaussian4(key, block);
    for (int lane = 0; lane < 4; ++lane) {
      if (block * 4 + lane < end) {
        const double v = g.v[lane];
        sum += v * v;  // exact product in double; one rounding per add, fixed order
      }
    }
  }
  return sum;
}

/// √d / ‖g‖ from the sum of squares of g: the scale that maps a Gaussian onto the sphere of
/// radius √d.
ZO_HD ZO_INLINE float sphere_scale_from_sum(double sum_of_squares, std::uint64_t d) {
  return static_cast<float>(
#if defined(__CUDA_ARCH__)
      __dsqrt_rn(__ddiv_rn(static_cast<double>(d), sum_of_squares))
#else
      std::sqrt(static_cast<double>(d) / sum_of_squares)
#endif
  );
}

}  // namespace zo

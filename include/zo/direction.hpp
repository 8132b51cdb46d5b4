// Random directions as pure functions of (seed, step, substream, coordinate).
//
// Coordinate i of a direction uses Philox4x32-10 block i/4 with
//   counter = (lo32(i/4), hi32(i/4), step, substream),  key = (lo32(seed), hi32(seed))
// and lane i%4 of the transformed block (which keys zo uses for what: zo/substreams.hpp).
// Nothing is stored: any coordinate can be regenerated in any order on any device. The float
// transforms below use only IEEE-754 operations that are correctly rounded on both CPU and GPU (+,
// *, /, sqrt, explicit fma) and bit manipulation, so the host and the device produce bit-identical
// directions. They must be compiled without fast-math and, on the host, without floating-point
// contraction (-ffp-contract=off); zo's build does both.
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

/// Uniform in (0, 1]: ((x >> 8) + 1) · 2^-24, exact.
ZO_HD ZO_INLINE float uniform_open_closed(std::uint32_t x) {
  return static_cast<float>((x >> 8) + 1u) * (1.0f / 16777216.0f);
}

/// Uniform in [0, 1): (x >> 8) · 2^-24, exact.
ZO_HD ZO_INLINE float uniform_closed_open(std::uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}

/// Natural logarithm for x in [2^-24, 1], deterministic on host and device (max error ~2 ulp).
/// x = m·2^e with m in [√½, √2); log m = 2 atanh(s), s = (m−1)/(m+1), odd series to s^11.
ZO_HD ZO_INLINE float log_unit(float x) {
  using namespace detail;
  const std::uint32_t bits = float_bits(x);
  int e = static_cast<int>(bits >> 23) - 127;
  std::uint32_t mbits = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  if (mbits > 0x3FB504F3u) {                                 // m > √2: halve it (exact)
    mbits -= 0x00800000u;
    e += 1;
  }
  const float f = bits_float(mbits) - 1.0f;  // exact (Sterbenz)
  const float s = div_f(f, 2.0f + f);
  const float s2 = mul_f(s, s);
  float p = 0.18181818f;          // 2/11
  p = fma_f(p, s2, 0.22222222f);  // 2/9
  p = fma_f(p, s2, 0.28571429f);  // 2/7
  p = fma_f(p, s2, 0.4f);         // 2/5
  p = fma_f(p, s2, 0.66666669f);  // 2/3
  p = fma_f(p, s2, 2.0f);
  const float log_m = mul_f(s, p);
  return fma_f(static_cast<float>(e), 0.69314718f, log_m);
}

/// sin(2πv) and cos(2πv) for v = k·2^-24 in [0, 1), deterministic on host and device.
/// The quarter-turn reduction is exact; the residual angle lies in [−π/4, π/4].
ZO_HD ZO_INLINE void sincos_two_pi(float v, float* sin_out, float* cos_out) {
  using namespace detail;
  const float t = v * 4.0f;                          // exact
  const int quadrant = static_cast<int>(t + 0.5f);   // 0..4, exact
  const float r = t - static_cast<float>(quadrant);  // in [−½, ½], exact
  const float r2 = mul_f(r, r);
  // sin(π r / 2) = r · S(r²), cos(π r / 2) = C(r²): Taylor series, truncation < 2e-9.
  float sp = -3.5988432e-06f;
  sp = fma_f(sp, r2, 1.6044118e-04f);
  sp = fma_f(sp, r2, -4.6817541e-03f);
  sp = fma_f(sp, r2, 7.9692626e-02f);
  sp = fma_f(sp, r2, -6.4596410e-01f);
  sp = fma_f(sp, r2, 1.5707964f);
  const float s = mul_f(r, sp);
  float cp = 4.7108748e-07f;
  cp = fma_f(cp, r2, -2.5202042e-05f);
  cp = fma_f(cp, r2, 9.1926027e-04f);
  cp = fma_f(cp, r2, -2.0863481e-02f);
  cp = fma_f(cp, r2, 2.5366951e-01f);
  cp = fma_f(cp, r2, -1.2337006f);
  const float c = fma_f(cp, r2, 1.0f);
  switch (quadrant & 3) {
    case 0:
      *sin_out = s;
      *cos_out = c;
      break;
    case 1:
      *sin_out = c;
      *cos_out = -s;
      break;
    case 2:
      *sin_out = -s;
      *cos_out = -c;
      break;
    default:
      *sin_out = -c;
      *cos_out = s;
      break;
  }
}

/// Box–Muller: two independent N(0,1) values from two uniform 32-bit words.
ZO_HD ZO_INLINE void box_muller(std::uint32_t a, std::uint32_t b, float* z0, float* z1) {
  using namespace detail;
  const float radius = sqrt_f(-2.0f * log_unit(uniform_open_closed(a)));
  float s, c;
  sincos_two_pi(uniform_closed_open(b), &s, &c);
  *z0 = mul_f(radius, c);
  *z1 = mul_f(radius, s);
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

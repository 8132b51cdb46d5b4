// Internal: the fast GPU Gaussian (StepperOptions::gpu_fast_gaussian). The same Philox4x32-10
// block as gaussian4() (same key, counter and words), turned into four normals by Box–Muller with
// the GPU's hardware approximations: MUFU.LG2 for the logarithm, MUFU.RSQ for the square root and
// MUFU.SIN/COS for the angle. Deterministic for a given GPU architecture and driver (the special
// function units are), but not equal to the CPU's bits: the exact generator (zo/direction.hpp)
// stays the default and the oracle. Statistics: tests/test_fast_gaussian_cuda.cpp.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "zo/direction.hpp"

namespace zo {
namespace detail {
namespace cuda {

/// −2·ln 2: −2 ln u = kMinus2Ln2 · log2 u.
constexpr float kMinus2Ln2 = -1.38629436f;
/// 2π / 2^32: a signed 32-bit word times this is an angle in [−π, π).
constexpr float kTwoPiOver2To32 = 1.46291808e-9f;

/// Two normals from two 32-bit words. u = (top 24 bits of a + 1)·2^−24 ∈ (0, 1] (exact in
/// float), r = √(−2 ln u) ≤ 5.77, θ = 2π·b/2^32 − π, z0 = r cos θ, z1 = r sin θ.
__device__ __forceinline__ void fast_box_muller(std::uint32_t a, std::uint32_t b, float* z0,
                                                float* z1) {
  const float u = __uint2float_rn((a >> 8) + 1u) * 5.96046448e-8f;  // exact: 24-bit integer
  const float t = kMinus2Ln2 * __log2f(u);                          // −2 ln u ≥ 0
  const float r = t * rsqrtf(fmaxf(t, 1e-30f));                     // √t, 0 at u = 1
  float s, c;
  __sincosf(static_cast<float>(static_cast<std::int32_t>(b)) * kTwoPiOver2To32, &s, &c);
  *z0 = r * c;
  *z1 = r * s;
}

/// Coordinates [4·block, 4·block + 4) of the fast Gaussian direction `key`.
__device__ __forceinline__ Float4 fast_gaussian4(DirectionKey key, std::uint64_t block) {
  const Philox4x32Block w = direction_bits(key, block);
  Float4 out;
  fast_box_muller(w.v[0], w.v[1], &out.v[0], &out.v[1]);
  fast_box_muller(w.v[2], w.v[3], &out.v[2], &out.v[3]);
  return out;
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

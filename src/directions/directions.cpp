#include "zo/directions.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "directions/gaussian_simd.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {

/// gaussian4() one block at a time: the reference path.
void scalar_blocks(DirectionKey key, std::uint64_t first_block, std::uint64_t count, float* out) {
  for (std::uint64_t i = 0; i < count; ++i) {
    const Float4 g = gaussian4(key, first_block + i);
    std::memcpy(out + 4 * i, g.v, sizeof g.v);
  }
}

/// gaussian4() one block and one run at a time: the reference of the lane-minor layout.
void scalar_lanes8(const std::uint64_t* seeds, std::uint32_t step, std::uint32_t substream,
                   std::uint64_t first_block, std::uint64_t count, float* out) {
  for (std::uint64_t i = 0; i < count; ++i) {
    for (int w = 0; w < 8; ++w) {
      const Float4 g = gaussian4(DirectionKey{seeds[w], step, substream}, first_block + i);
      for (int c = 0; c < 4; ++c) out[8 * (4 * i + c) + w] = g.v[c];
    }
  }
}

#if ZO_HAVE_X86_SIMD

// GCC 12 warns about _mm512_undefined_ps() inside its own intrinsics (a self-initialised
// variable in avx512fintrin.h); not a bug of this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

/// Groups of W blocks through `group(block, out)`; a last partial group through a buffer, and a
/// group whose low counter word would wrap (once per 2^32 blocks) through the scalar path.
template <int W, class Group>
__attribute__((always_inline)) inline void in_groups(DirectionKey key, std::uint64_t first_block,
                                                     std::uint64_t count, float* out, Group group) {
  std::uint64_t i = 0;
  while (i < count) {
    const std::uint64_t block = first_block + i;
    const std::uint64_t n = count - i < W ? count - i : W;
    if (static_cast<std::uint32_t>(block) > 0xFFFFFFFFu - (W - 1)) {
      scalar_blocks(key, block, n, out + 4 * i);
    } else if (n == W) {
      group(block, out + 4 * i);
    } else {
      float buffer[4 * W];
      group(block, buffer);
      std::memcpy(out + 4 * i, buffer, 4 * n * sizeof(float));
    }
    i += n;
  }
}

__attribute__((target("avx2,fma"))) void avx2_blocks(DirectionKey key, std::uint64_t first_block,
                                                     std::uint64_t count, float* out) {
  const simd::PhiloxKeys8 keys = simd::philox_keys8(key);
  in_groups<8>(
      key, first_block, count,
      out, [&](std::uint64_t block, float* o) __attribute__((target("avx2,fma"))) {
        simd::gaussian_8_blocks(keys, key, block, o);
      });
}

/// Groups of 16 blocks, with the Philox plan of the blocks' high counter word (redone when it
/// changes).
__attribute__((target("avx512f,avx2,fma"))) void avx512_groups(DirectionKey key,
                                                               std::uint64_t first_block,
                                                               std::uint64_t count, float* out) {
  if (count == 0) return;
  auto plan_hi = static_cast<std::uint32_t>(first_block >> 32);
  simd::PhiloxPlan16 plan = simd::philox_plan16(key, plan_hi);
  in_groups<16>(
      key, first_block, count,
      out, [&](std::uint64_t block, float* o) __attribute__((target("avx512f,avx2,fma"))) {
        if (static_cast<std::uint32_t>(block >> 32) != plan_hi) {
          plan_hi = static_cast<std::uint32_t>(block >> 32);
          plan = simd::philox_plan16(key, plan_hi);
        }
        simd::gaussian_16_blocks(plan, block, o);
      });
}

/// Groups of 16; a last part of at most 8 blocks takes one 8-wide AVX2 group (the same bits)
/// instead of a 16-wide group of which most would be discarded.
__attribute__((target("avx512f,avx2,fma"))) void avx512_blocks(DirectionKey key,
                                                               std::uint64_t first_block,
                                                               std::uint64_t count, float* out) {
  const std::uint64_t tail = count % 16;
  const std::uint64_t whole = tail != 0 && tail <= 8 ? count - tail : count;
  avx512_groups(key, first_block, whole, out);
  if (whole != count) avx2_blocks(key, first_block + whole, count - whole, out + 4 * whole);
}

/// The seeds' low and high words, one run per lane.
__attribute__((target("avx2,fma"))) void seed_words8(const std::uint64_t* seeds, __m256i* k0,
                                                     __m256i* k1) {
  alignas(32) std::uint32_t lo[8], hi[8];
  for (int w = 0; w < 8; ++w) {
    lo[w] = static_cast<std::uint32_t>(seeds[w]);
    hi[w] = static_cast<std::uint32_t>(seeds[w] >> 32);
  }
  *k0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
  *k1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
}

__attribute__((target("avx2,fma"))) void avx2_lanes8(const std::uint64_t* seeds, std::uint32_t step,
                                                     std::uint32_t substream,
                                                     std::uint64_t first_block, std::uint64_t count,
                                                     float* out) {
  __m256i k0, k1;
  seed_words8(seeds, &k0, &k1);
  simd::PhiloxKeys8 keys;
  simd::philox_keys8(k0, k1, &keys);
  for (std::uint64_t i = 0; i < count; ++i) {
    simd::gaussian_1_block_8_runs(keys, step, substream, first_block + i, out + 32 * i);
  }
}

/// Two blocks per call (both halves of a 512-bit register); an odd last block, and a pair whose
/// low counter word would wrap, through the 8-lane path (the same bits).
__attribute__((target("avx512f,avx2,fma"))) void avx512_lanes8(const std::uint64_t* seeds,
                                                               std::uint32_t step,
                                                               std::uint32_t substream,
                                                               std::uint64_t first_block,
                                                               std::uint64_t count, float* out) {
  __m256i k0, k1;
  seed_words8(seeds, &k0, &k1);
  simd::PhiloxKeys8 keys;
  simd::philox_keys8(k0, k1, &keys);
  const __m512i k0x2 = _mm512_inserti64x4(_mm512_castsi256_si512(k0), k0, 1);
  const __m512i k1x2 = _mm512_inserti64x4(_mm512_castsi256_si512(k1), k1, 1);
  std::uint32_t plan_hi = 0;
  bool planned = false;
  simd::PhiloxPlan16 plan;
  std::uint64_t i = 0;
  for (; i + 2 <= count; i += 2) {
    const std::uint64_t block = first_block + i;
    if (static_cast<std::uint32_t>(block) == 0xFFFFFFFFu) {
      simd::gaussian_1_block_8_runs(keys, step, substream, block, out + 32 * i);
      simd::gaussian_1_block_8_runs(keys, step, substream, block + 1, out + 32 * (i + 1));
      continue;
    }
    if (!planned || static_cast<std::uint32_t>(block >> 32) != plan_hi) {
      plan_hi = static_cast<std::uint32_t>(block >> 32);
      plan = simd::philox_plan16(plan_hi, step, substream, k0x2, k1x2);
      planned = true;
    }
    simd::gaussian_2_blocks_8_runs(plan, block, out + 32 * i);
  }
  if (i < count) {
    simd::gaussian_1_block_8_runs(keys, step, substream, first_block + i, out + 32 * i);
  }
}

#pragma GCC diagnostic pop

#endif

bool cpu_supports(HostSimd path) {
  if (path == HostSimd::scalar) return true;
#if ZO_HAVE_X86_SIMD
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (path == HostSimd::avx2) return avx2;
  if (path == HostSimd::avx512) return avx2 && __builtin_cpu_supports("avx512f");
#endif
  return false;
}

using BlocksFn = void (*)(DirectionKey, std::uint64_t, std::uint64_t, float*);
using Lanes8Fn = void (*)(const std::uint64_t*, std::uint32_t, std::uint32_t, std::uint64_t,
                          std::uint64_t, float*);

#if ZO_HAVE_X86_SIMD
/// The function of `path` among the three.
template <class Fn>
Fn on_path(HostSimd path, Fn scalar, Fn avx2, Fn avx512) {
  return path == HostSimd::avx512 ? avx512 : path == HostSimd::avx2 ? avx2 : scalar;
}

BlocksFn blocks_fn(HostSimd path) {
  return on_path<BlocksFn>(path, scalar_blocks, avx2_blocks, avx512_blocks);
}
Lanes8Fn lanes8_fn(HostSimd path) {
  return on_path<Lanes8Fn>(path, scalar_lanes8, avx2_lanes8, avx512_lanes8);
}
#else
BlocksFn blocks_fn(HostSimd) { return scalar_blocks; }
Lanes8Fn lanes8_fn(HostSimd) { return scalar_lanes8; }
#endif

HostSimd detect_host_simd() {
  if (cpu_supports(HostSimd::avx512)) return HostSimd::avx512;
  if (cpu_supports(HostSimd::avx2)) return HostSimd::avx2;
  return HostSimd::scalar;
}

/// The path chosen for this process (once, on first use).
BlocksFn best_blocks_fn() {
  static const BlocksFn fn = blocks_fn(host_simd());
  return fn;
}

/// Σ g_i² over the canonical chunk c (sphere_chunk_sum()), with the SIMD generator.
double chunk_sum_of_squares(DirectionKey key, std::uint64_t chunk, std::uint64_t d) {
  const std::uint64_t begin = chunk * kSphereChunk;
  const std::uint64_t end = std::min(begin + kSphereChunk, d);
  float g[kSphereChunk];
  best_blocks_fn()(key, begin / 4, (end - begin + 3) / 4, g);
  double sum = 0.0;
  for (std::uint64_t i = 0; i < end - begin; ++i) {
    const double v = g[i];
    sum += v * v;  // exact product in double; one rounding per add, coordinate order
  }
  return sum;
}

}  // namespace

HostSimd host_simd() {
  static const HostSimd path = detect_host_simd();
  return path;
}

void gaussian_blocks(DirectionKey key, std::uint64_t first_block, std::uint64_t count, float* out) {
  best_blocks_fn()(key, first_block, count, out);
}

void gaussian_blocks(HostSimd path, DirectionKey key, std::uint64_t first_block,
                     std::uint64_t count, float* out) {
  if (!cpu_supports(path)) {
    ZO_FAIL(NotSupported, "gaussian_blocks: this CPU (or build) has no " +
                              std::string(path == HostSimd::avx512 ? "AVX-512F" : "AVX2/FMA") +
                              " path");
  }
  blocks_fn(path)(key, first_block, count, out);
}

void gaussian_lanes8(const std::uint64_t* seeds, std::uint32_t step, std::uint32_t substream,
                     std::uint64_t first_block, std::uint64_t count, float* out) {
  static const Lanes8Fn fn = lanes8_fn(host_simd());
  fn(seeds, step, substream, first_block, count, out);
}

void gaussian_lanes8(HostSimd path, const std::uint64_t* seeds, std::uint32_t step,
                     std::uint32_t substream, std::uint64_t first_block, std::uint64_t count,
                     float* out) {
  if (!cpu_supports(path)) {
    ZO_FAIL(NotSupported, "gaussian_lanes8: this CPU (or build) has no " +
                              std::string(path == HostSimd::avx512 ? "AVX-512F" : "AVX2/FMA") +
                              " path");
  }
  lanes8_fn(path)(seeds, step, substream, first_block, count, out);
}

void direction_blocks(Distribution dist, DirectionKey key, std::uint64_t first_block,
                      std::uint64_t count, float sphere_scale, float* out) {
  if (dist == Distribution::rademacher) {
    for (std::uint64_t i = 0; i < count; ++i) {
      const Float4 u = rademacher4(key, first_block + i);
      std::memcpy(out + 4 * i, u.v, sizeof u.v);
    }
    return;
  }
  best_blocks_fn()(key, first_block, count, out);
  if (dist == Distribution::sphere) {
    for (std::uint64_t i = 0; i < 4 * count; ++i) out[i] = mul_f(out[i], sphere_scale);
  }
}

}  // namespace detail

float sphere_scale(DirectionKey key, std::uint64_t d) {
  const std::uint64_t chunks = (d + kSphereChunk - 1) / kSphereChunk;
  std::vector<double> partial(chunks);
  const auto n = static_cast<std::int64_t>(chunks);
#pragma omp parallel for schedule(static) if (n > 1)
  for (std::int64_t c = 0; c < n; ++c) partial[c] = detail::chunk_sum_of_squares(key, c, d);
  double sum = 0.0;
  for (double p : partial) sum += p;  // fixed order: the canonical reduction
  return sphere_scale_from_sum(sum, d);
}

void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out) {
  if (dist == Distribution::rademacher) {
    const auto blocks = static_cast<std::int64_t>((d + 3) / 4);
#pragma omp parallel for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const Float4 u = rademacher4(key, static_cast<std::uint64_t>(b));
      for (int lane = 0; lane < 4; ++lane) {
        const std::uint64_t i = static_cast<std::uint64_t>(b) * 4 + lane;
        if (i < d) out[i] = u.v[lane];
      }
    }
    return;
  }
  const bool sphere = dist == Distribution::sphere;
  const float scale = sphere ? sphere_scale(key, d) : 1.0f;
  // Whole blocks in pieces of 2048 blocks (8192 coordinates) through the SIMD generator, then
  // the last partial block; direction4() multiplies a sphere coordinate by the scale the same way.
  constexpr std::uint64_t kPiece = 2048;
  const std::uint64_t full_blocks = d / 4;
  const auto pieces = static_cast<std::int64_t>((full_blocks + kPiece - 1) / kPiece);
#pragma omp parallel for schedule(static) if (pieces > 1)
  for (std::int64_t p = 0; p < pieces; ++p) {
    const std::uint64_t first = static_cast<std::uint64_t>(p) * kPiece;
    const std::uint64_t count = std::min(kPiece, full_blocks - first);
    float* o = out + 4 * first;
    detail::gaussian_blocks(key, first, count, o);
    if (sphere) {
      for (std::uint64_t i = 0; i < 4 * count; ++i) o[i] = detail::mul_f(o[i], scale);
    }
  }
  if (d % 4 != 0) {
    const Float4 u = direction4(dist, key, full_blocks, scale);
    for (std::uint64_t lane = 0; lane < d % 4; ++lane) out[4 * full_blocks + lane] = u.v[lane];
  }
}

}  // namespace zo

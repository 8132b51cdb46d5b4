// Host-side helpers for the counter-based directions of zo/direction.hpp (CPU backend).
#pragma once

#include <cstddef>
#include <cstdint>

#include "zo/backend.hpp"
#include "zo/direction.hpp"
#include "zo/export.hpp"
#include "zo/stream_view.hpp"
#include "zo/substreams.hpp"

namespace zo {

/// √d / ‖g‖ for the Gaussian direction g of `key` in dimension d, computed with the canonical
/// chunked double-precision reduction (sphere_chunk_sum), so the CUDA backend matches bit for bit.
/// Multithreaded; the result does not depend on the thread count.
ZO_API float sphere_scale(DirectionKey key, std::uint64_t d);

/// Writes coordinates [0, d) of the direction (`dist`, `key`) to `out` (host memory; blocking,
/// as every host call). On device memory: zo::fill_direction_device (zo/device.hpp).
ZO_API void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out);

/// What generate_directions() measured.
struct DirectionThroughput {
  double checksum = 0.0;  ///< Σ of every generated coordinate (defeats dead-code elimination)
  double seconds = 0.0;   ///< generation time (CUDA events on the GPU, wall clock on the CPU)
};

/// Generates the directions of `runs` runs × `steps` steps of dimension `dim` (keys
/// (seed = run, step, substream 0), Gaussian) and sums them, doing nothing else: the rate of the
/// direction generator alone, the ceiling of the fused engine (zo::Engine::fused) when every run
/// has its own seed. On the GPU, one thread per Philox block with no per-run structure, on
/// `stream` (default: the legacy default stream); on the CPU, 8 runs at a time written lane by
/// lane, as the fused CPU loop generates them. Blocking: returns when the measurement is on the
/// host.
ZO_API DirectionThroughput generate_directions(Backend backend, std::size_t runs, std::size_t dim,
                                               std::uint64_t steps, StreamView stream = {});

// kMaxStep and kInitStep, the reserved parts of the key space: zo/substreams.hpp.

namespace detail {

/// The instruction sets of the host Gaussian generator (internal).
enum class HostSimd : int {
  scalar = 0,  ///< gaussian4() one block at a time: the reference
  avx2 = 1,    ///< 8 Philox blocks at a time (AVX2 + FMA)
  avx512 = 2,  ///< 16 Philox blocks at a time (AVX-512F)
};

/// The widest path this CPU supports: what gaussian_blocks() uses (chosen once at run time).
ZO_API HostSimd host_simd();

/// Internal API for zo's CPU loops, tests and benchmarks (not a stable interface): writes the
/// coordinates [4·first_block, 4·(first_block + count)) of the Gaussian direction `key` to
/// out[0 … 4·count), bit-identical to gaussian4(key, first_block + i) for every i, using the
/// widest SIMD path of this CPU. Single-threaded; call it from inside a parallel loop.
ZO_API void gaussian_blocks(DirectionKey key, std::uint64_t first_block, std::uint64_t count,
                            float* out);

/// gaussian_blocks() on a given path (tests and benchmarks); zo::NotSupported if this CPU lacks
/// it.
ZO_API void gaussian_blocks(HostSimd path, DirectionKey key, std::uint64_t first_block,
                            std::uint64_t count, float* out);

/// Internal API for zo's CPU loops that advance 8 runs together, one run per SIMD lane: the
/// Gaussian directions (seeds[w], step, substream), w = 0 … 7, blocks [first_block, first_block +
/// count), written lane-minor: out[8·(4·i + c) + w] = gaussian4({seeds[w], step, substream},
/// first_block + i).v[c]. Bit-identical to gaussian4(); the widest SIMD path of this CPU (two
/// blocks of the 8 runs per AVX-512 register, one per AVX2 register). Single-threaded.
ZO_API void gaussian_lanes8(const std::uint64_t* seeds, std::uint32_t step, std::uint32_t substream,
                            std::uint64_t first_block, std::uint64_t count, float* out);

/// gaussian_lanes8() on a given path (tests and benchmarks); zo::NotSupported if this CPU lacks
/// it.
ZO_API void gaussian_lanes8(HostSimd path, const std::uint64_t* seeds, std::uint32_t step,
                            std::uint32_t substream, std::uint64_t first_block, std::uint64_t count,
                            float* out);

/// Internal API for zo's CPU loops: the coordinates [4·first_block, 4·(first_block + count)) of
/// the direction (`dist`, `key`) to out[0 … 4·count), bit-identical to direction4(dist, key,
/// first_block + i, sphere_scale) for every i. Gaussian and sphere through gaussian_blocks()
/// (sphere then multiplied by the scale as direction4() does), Rademacher one block at a time.
/// Single-threaded; call it from inside a parallel loop on tiles of a few hundred blocks.
ZO_API void direction_blocks(Distribution dist, DirectionKey key, std::uint64_t first_block,
                             std::uint64_t count, float sphere_scale, float* out);

}  // namespace detail

}  // namespace zo

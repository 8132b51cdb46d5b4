// Internal: the sphere scale √d/‖g‖ of many directions on the device, bit-identical to the host's
// zo::sphere_scale(): the same canonical reduction (sphere_chunk_sum per 4096-coordinate chunk,
// each summed in coordinate order in double, then the chunk sums added in chunk order from 0.0).
//
// A chunk's sum is sequential by definition, so one warp handles one (direction, chunk): the 32
// lanes generate the Gaussian blocks of the chunk 32 at a time and broadcast them with shuffles,
// in coordinate order, to the running sum (kept identically by every lane). Chunks and
// directions run in parallel; a second kernel adds each direction's chunk sums in order.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda_check.cuh"
#include "core/launch.cuh"
#include "zo/direction.hpp"

namespace zo {
namespace detail {
namespace cuda {

constexpr unsigned kSphereThreads = 128;

/// Number of canonical chunks of a direction of dimension d.
inline std::uint64_t sphere_chunks(std::uint64_t d) {
  return (d + kSphereChunk - 1) / kSphereChunk;
}

/// partials[dir · chunks + c] = sphere_chunk_sum(keys(dir), c, d) for dir < count.
template <class Keys>
__global__ void __launch_bounds__(kSphereThreads)
    sphere_chunk_sums_kernel(Keys keys, std::uint64_t count, std::uint64_t d, std::uint64_t chunks,
                             double* partials) {
  const unsigned lane = threadIdx.x & 31u;
  const std::uint64_t warps_per_block = blockDim.x / 32u;
  const std::uint64_t n_warps = static_cast<std::uint64_t>(gridDim.x) * warps_per_block;
  const std::uint64_t tasks = count * chunks;
  for (std::uint64_t task = blockIdx.x * warps_per_block + threadIdx.x / 32u; task < tasks;
       task += n_warps) {  // warp-uniform
    const DirectionKey key = keys(task / chunks);
    const std::uint64_t begin = (task % chunks) * kSphereChunk;
    const std::uint64_t end = begin + kSphereChunk < d ? begin + kSphereChunk : d;
    const std::uint64_t first_block = begin / 4;  // begin is a multiple of 4
    const std::uint64_t n_blocks = (end - begin + 3) / 4;
    double sum = 0.0;
    for (std::uint64_t r = 0; r < n_blocks; r += 32) {
      Float4 g{{0.0f, 0.0f, 0.0f, 0.0f}};
      if (r + lane < n_blocks) g = gaussian4(key, first_block + r + lane);
      const unsigned active = n_blocks - r < 32 ? static_cast<unsigned>(n_blocks - r) : 32u;
      for (unsigned src = 0; src < active; ++src) {
        const std::uint64_t first = (first_block + r + src) * 4;
#pragma unroll
        for (int l = 0; l < 4; ++l) {
          const double v = __shfl_sync(0xFFFFFFFFu, g.v[l], static_cast<int>(src));
          if (first + l < end) sum = __dadd_rn(sum, __dmul_rn(v, v));
        }
      }
    }
    if (lane == 0) partials[task] = sum;
  }
}

/// out(dir, sphere_scale_from_sum(Σ_c partials[dir · chunks + c], d)), chunks added in order.
template <class Out>
__global__ void sphere_finalize_kernel(Out out, std::uint64_t count, std::uint64_t d,
                                       std::uint64_t chunks, const double* partials) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t dir = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       dir < count; dir += stride) {
    const double* p = partials + dir * chunks;
    double sum = 0.0;
    for (std::uint64_t c = 0; c < chunks; ++c) sum = __dadd_rn(sum, p[c]);
    out(dir, sphere_scale_from_sum(sum, d));
  }
}

/// Computes the sphere scales of `count` directions of dimension d: keys(dir) gives direction
/// dir's key, out(dir, scale) stores its scale. `partials` holds count · sphere_chunks(d)
/// doubles. Queued on `stream`.
template <class Keys, class Out>
void launch_sphere_scales(Keys keys, Out out, std::uint64_t count, std::uint64_t d,
                          double* partials, cudaStream_t stream) {
  if (count == 0) return;
  const std::uint64_t chunks = sphere_chunks(d);
  sphere_chunk_sums_kernel<<<grid_blocks(count * chunks * 32, kSphereThreads), kSphereThreads, 0,
                             stream>>>(keys, count, d, chunks, partials);
  ZO_CUDA_CHECK_LAUNCH();
  sphere_finalize_kernel<<<grid_blocks(count, 128), 128, 0, stream>>>(out, count, d, chunks,
                                                                      partials);
  ZO_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

// Internal: deterministic per-item reductions on the GPU. An "item" is a point of a batch, a
// (run, direction) pair, ...; its value is the sum, over the 4-coordinate groups g ∈ [0, groups)
// of the item, of N double-precision terms that a Loader adds group by group. The order of every
// addition is fixed by `groups` alone: it does not depend on the number of items, on the item's
// position in the batch, on the launch configuration or on the run, so results are bit-identical
// run-to-run and a point's value does not depend on its batchmates.
//
// The canonical order:
//  * groups ≤ kWarpGroups (256, i.e. up to 1024 coordinates): one warp per item. Lane ℓ adds
//    the groups g ≡ ℓ (mod 32) in increasing g, starting from 0.0; the 32 lane sums s are then
//    combined by the tree s[v] ← s[v] + s[v + off] for off = 16, 8, 4, 2, 1. This is the order of
//    canonical_sum() in src/batch/example21_fused_math.hpp, so Example 2.1 values agree bit for
//    bit with the on-chip whole-run kernels for d ≤ 1024.
//  * otherwise: the groups are cut into chunks of kChunkGroups (2048). In a chunk, thread ℓ of a
//    256-thread block adds the groups g ≡ ℓ (mod 256) in increasing g; each warp combines its
//    lanes by the tree above; warp 0 combines the 8 warp sums by the tree for off = 4, 2, 1. The
//    chunk sums of an item are added in chunk order (starting from chunk 0's sum) by the finalize
//    kernel.
// Loaders multiply floats into doubles (exact), so contraction into fma cannot change a result.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda_check.cuh"
#include "core/launch.cuh"

namespace zo {
namespace detail {
namespace cuda {

constexpr std::uint64_t kWarpGroups = 256;
constexpr unsigned kReduceThreads = 256;
constexpr std::uint64_t kChunkGroups = 2048;

/// How an item of `groups` 4-coordinate groups is reduced.
struct ReduceShape {
  std::uint64_t groups = 0;
  std::uint64_t chunks = 0;  ///< 0: one warp per item (no partial sums)
  bool warp_mode() const { return chunks == 0; }
};

inline ReduceShape reduce_shape(std::uint64_t groups) {
  ReduceShape s;
  s.groups = groups;
  s.chunks = groups <= kWarpGroups ? 0 : (groups + kChunkGroups - 1) / kChunkGroups;
  return s;
}

/// Doubles of scratch needed for the partial sums of `items` items with N terms each.
template <int N>
std::uint64_t reduce_partials(const ReduceShape& shape, std::uint64_t items) {
  return shape.warp_mode() ? 0 : items * shape.chunks * N;
}

/// The warp tree: lane 0 returns s[0] after s[v] ← s[v] + s[v + off], off = 16 … 1.
__device__ __forceinline__ double warp_tree_sum(double v) {
#pragma unroll
  for (int off = 16; off >= 1; off /= 2) v = __dadd_rn(v, __shfl_down_sync(0xFFFFFFFFu, v, off));
  return v;
}

template <int N, class Loader, class Epilogue>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_warp_kernel(Loader load, Epilogue epilogue, std::uint64_t items, std::uint64_t groups) {
  const unsigned lane = threadIdx.x & 31u;
  const std::uint64_t warps_per_block = blockDim.x / 32u;
  const std::uint64_t n_warps = static_cast<std::uint64_t>(gridDim.x) * warps_per_block;
  for (std::uint64_t item = blockIdx.x * warps_per_block + threadIdx.x / 32u; item < items;
       item += n_warps) {  // warp-uniform: every lane takes part in the shuffles
    double acc[N];
#pragma unroll
    for (int n = 0; n < N; ++n) acc[n] = 0.0;
    for (std::uint64_t g = lane; g < groups; g += 32) load(item, g, acc);
#pragma unroll
    for (int n = 0; n < N; ++n) acc[n] = warp_tree_sum(acc[n]);
    if (lane == 0) epilogue(item, acc);
  }
}

template <int N, class Loader>
__global__ void __launch_bounds__(kReduceThreads)
    reduce_chunk_kernel(Loader load, std::uint64_t items, std::uint64_t groups,
                        std::uint64_t chunks, double* partials) {
  __shared__ double warp_sums[N][kReduceThreads / 32];
  const unsigned lane = threadIdx.x & 31u;
  const unsigned warp = threadIdx.x / 32u;
  const std::uint64_t tasks = items * chunks;
  for (std::uint64_t task = blockIdx.x; task < tasks; task += gridDim.x) {  // block-uniform
    const std::uint64_t item = task / chunks;
    const std::uint64_t begin = (task % chunks) * kChunkGroups;
    const std::uint64_t end = begin + kChunkGroups < groups ? begin + kChunkGroups : groups;
    double acc[N];
#pragma unroll
    for (int n = 0; n < N; ++n) acc[n] = 0.0;
    for (std::uint64_t g = begin + threadIdx.x; g < end; g += kReduceThreads) load(item, g, acc);
#pragma unroll
    for (int n = 0; n < N; ++n) {
      acc[n] = warp_tree_sum(acc[n]);
      if (lane == 0) warp_sums[n][warp] = acc[n];
    }
    __syncthreads();
    if (warp == 0) {
#pragma unroll
      for (int n = 0; n < N; ++n) {
        double v = lane < kReduceThreads / 32 ? warp_sums[n][lane] : 0.0;
#pragma unroll
        for (int off = kReduceThreads / 64; off >= 1; off /= 2)
          v = __dadd_rn(v, __shfl_down_sync(0xFFFFFFFFu, v, off));
        if (lane == 0) partials[task * N + n] = v;
      }
    }
    __syncthreads();  // warp_sums is reused by the next task
  }
}

template <int N, class Epilogue>
__global__ void reduce_finalize_kernel(Epilogue epilogue, std::uint64_t items, std::uint64_t chunks,
                                       const double* partials) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t item = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       item < items; item += stride) {
    const double* p = partials + item * chunks * N;
    double s[N];
#pragma unroll
    for (int n = 0; n < N; ++n) s[n] = p[n];
    for (std::uint64_t c = 1; c < chunks; ++c) {
#pragma unroll
      for (int n = 0; n < N; ++n) s[n] = __dadd_rn(s[n], p[c * N + n]);
    }
    epilogue(item, s);
  }
}

/// Reduces `items` items of `shape.groups` groups each and hands each item's N sums to
/// `epilogue(item, const double* sums)` (called once per item, on the device). `partials` must
/// hold reduce_partials<N>(shape, items) doubles (it may be null in warp mode). Queued on
/// `stream`; every launch is checked.
template <int N, class Loader, class Epilogue>
void launch_reduce(const ReduceShape& shape, std::uint64_t items, Loader load, Epilogue epilogue,
                   double* partials, cudaStream_t stream) {
  if (items == 0) return;
  if (shape.warp_mode()) {
    reduce_warp_kernel<N><<<grid_blocks(items * 32, kReduceThreads), kReduceThreads, 0, stream>>>(
        load, epilogue, items, shape.groups);
    ZO_CUDA_CHECK_LAUNCH();
    return;
  }
  const std::uint64_t tasks = items * shape.chunks;
  reduce_chunk_kernel<N>
      <<<static_cast<unsigned>(tasks < kMaxGridBlocks ? tasks : kMaxGridBlocks), kReduceThreads, 0,
         stream>>>(load, items, shape.groups, shape.chunks, partials);
  ZO_CUDA_CHECK_LAUNCH();
  reduce_finalize_kernel<N>
      <<<grid_blocks(items, 128), 128, 0, stream>>>(epilogue, items, shape.chunks, partials);
  ZO_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

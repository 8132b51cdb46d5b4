// Internal CUDA launch helpers shared by zo's kernels: grid sizes for grid-stride loops. (Scratch
// memory is a zo::DeviceBuffer on the launch's stream: stream-ordered, no host synchronisation.)
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/cuda_check.cuh"
#include "zo/backend.hpp"  // log_line, used by ZO_CUDA_TRY_NOTHROW

namespace zo {
namespace detail {
namespace cuda {

/// Largest grid we launch; kernels cover any amount of work with grid-stride loops.
constexpr std::uint64_t kMaxGridBlocks = 1u << 20;

/// Blocks of `threads` threads for `work` independent items (at least 1, at most kMaxGridBlocks).
inline unsigned grid_blocks(std::uint64_t work, unsigned threads) {
  const std::uint64_t blocks = (work + threads - 1) / threads;
  return static_cast<unsigned>(
      std::min<std::uint64_t>(std::max<std::uint64_t>(blocks, 1), kMaxGridBlocks));
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

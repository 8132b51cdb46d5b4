// Internal: the device-side layout of a CUDA RunBatch, and the interface through which a built-in
// objective evaluates the perturbed points of a step straight from the iterates and the direction
// keys (no materialised 2·K·q × d matrix).
//
// Layout. The K iterates are rows of a K × ld float matrix, ld = dim rounded up to a multiple of
// 4 (padding coordinates stay 0), so every row is 16-byte aligned and kernels use float4
// accesses. A run k with method zo or zo0 owns q_k consecutive "slots" starting at
// runs[k].slot_begin: slot slot_begin + j holds direction j's sphere scale and update coefficient.
// The zo runs' (run, j) "pairs" are numbered p = 0 … P−1 in run order; pair p's perturbed points
// x_k + λu and x_k − λu are batch points 2p and 2p + 1.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "batch/run_description.hpp"
#include "zo/objective.hpp"

namespace zo {
namespace detail {
namespace cuda {

constexpr std::uint32_t kNoRow = 0xFFFFFFFFu;

/// One run's hyper-parameters and its places in the step's buffers, as the kernels read them.
struct RunParams : RunDescription {
  std::uint32_t slot_begin;  ///< first slot (zo and zo0 runs)
  std::uint32_t grad_row;    ///< row in the gradient buffers (gd and zo0 runs), else kNoRow
};

/// The perturbed points of one step, described rather than stored (all pointers are device
/// memory): pair p evaluates x_k ± λ_k·u with k = pair_run[p], u the direction
/// (runs[k].seed, step, pair_dir[p]) of runs[k].distribution scaled by
/// scales[runs[k].slot_begin + pair_dir[p]] (sphere), x_k = x + k·ld.
struct PerturbedPairs {
  const float* x = nullptr;
  std::size_t ld = 0;
  std::size_t dim = 0;
  std::size_t pairs = 0;
  const std::uint32_t* pair_run = nullptr;
  const std::uint32_t* pair_dir = nullptr;
  const RunParams* runs = nullptr;
  const float* scales = nullptr;
  std::uint32_t step = 0;
};

/// values[2p] = f(x_k + λu), values[2p + 1] = f(x_k − λu) for every pair (device memory), queued
/// on `stream`. The values are bit-identical to evaluating the materialised points with
/// objective.evaluate() on the device. Precondition: objective.structure() is
/// ObjectiveStructure::example21.
void evaluate_fused_pairs(const Objective& objective, const PerturbedPairs& pairs, double* values,
                          cudaStream_t stream);

}  // namespace cuda
}  // namespace detail
}  // namespace zo

// Internal: the launch arithmetic of the fused engine's persistent kernel and of the
// direction-generation ceiling (kernels/batch/example21_fused_cuda.cu). It is plain host/device
// code with no CUDA calls, so the CPU tests check it with the SM counts of real GPUs
// (tests/test_fused_launch.cpp); the .cu file only queries the device and launches.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "zo/config.hpp"

namespace zo {
namespace detail {

/// A grid-stride loop over [0, count) in 64-bit indices: thread `first` of a grid of `stride`
/// threads visits first, first + stride, ... < count. The sum never wraps (count and stride are
/// below 2^63), so the loop ends for every count, including counts near 2^32 that a 32-bit index
/// would wrap around.
struct GridStride {
  std::uint64_t first;
  std::uint64_t stride;
  std::uint64_t count;
  ZO_HD ZO_INLINE bool done(std::uint64_t i) const { return i >= count; }
  ZO_HD ZO_INLINE std::uint64_t next(std::uint64_t i) const { return i + stride; }
};

/// Steps [begin, end) of one y-slice of the direction-generation ceiling.
struct StepRange {
  std::uint64_t begin;
  std::uint64_t end;
};

/// The steps of y-slice `slice` when `steps` steps are cut into slices of `per_slice` steps:
/// [slice·per_slice, min(steps, slice·per_slice + per_slice)), empty past the last slice.
/// Computed in 64 bits, so the end does not wrap for any 32-bit step count.
ZO_HD ZO_INLINE StepRange slice_steps(std::uint64_t steps, std::uint64_t per_slice,
                                      std::uint64_t slice) {
  const std::uint64_t begin = slice * per_slice;
  if (begin >= steps) return StepRange{steps, steps};
  const std::uint64_t end = per_slice < steps - begin ? begin + per_slice : steps;
  return StepRange{begin, end};
}

/// Threads per block of the persistent kernel.
constexpr int kFusedBlockThreads = 128;

/// The group sizes (threads per run) the persistent kernel is compiled for, in the order
/// choose_fused_group() prefers on a tie.
constexpr std::array<int, 4> kFusedGroups = {32, 16, 8, 4};

/// Warps per SM beyond which the persistent kernel is throughput-bound: below it, a step's
/// latency, not the number of warps, sets the time of a wave.
constexpr double kFusedSaturationWarps = 16.0;

/// Pair-blocks (4 coordinate pairs) each lane holds for dimension d with `group` lanes per run:
/// 1, 2 or 4; 0 when the run does not fit in the group's registers.
inline int fused_pair_blocks(std::uint32_t d, int group) {
  const std::uint64_t nb = (static_cast<std::uint64_t>(d) + 3) / 4;
  for (int pb : {1, 2, 4})
    if (static_cast<std::uint64_t>(group) * pb >= nb) return pb;
  return 0;
}

/// The predicted cost of one group size (arbitrary units: one latency-bound step of one
/// pair-block per lane).
struct FusedGroupPlan {
  int group = 32;
  int pair_blocks = 0;      ///< 0: d does not fit
  std::uint64_t warps = 0;  ///< warps of the launch (whole blocks)
  std::uint64_t waves = 0;  ///< launches-worth of resident warps needed to run them all
  double cost = 0.0;
  double utilisation = 0.0;  ///< used pair-block slots / slots
};

/// The plan of `group` lanes per run for `runs` runs of dimension d on a GPU of `sms` SMs where
/// the kernel of that group size keeps `resident_warps_per_sm` warps resident per SM (the
/// occupancy calculator's answer). A wave costs pair_blocks × max(1, its warps per SM /
/// kFusedSaturationWarps): a nearly empty last wave costs as much as a latency-bound full one.
inline FusedGroupPlan plan_fused_group(std::uint32_t d, std::size_t runs, int group, int sms,
                                       int resident_warps_per_sm) {
  FusedGroupPlan p;
  p.group = group;
  p.pair_blocks = fused_pair_blocks(d, group);
  if (p.pair_blocks == 0 || sms <= 0 || resident_warps_per_sm <= 0) return p;
  const std::uint64_t threads = static_cast<std::uint64_t>(runs) * group;
  const std::uint64_t blocks = (threads + kFusedBlockThreads - 1) / kFusedBlockThreads;
  p.warps = blocks * (kFusedBlockThreads / 32);
  const std::uint64_t per_wave = static_cast<std::uint64_t>(resident_warps_per_sm) * sms;
  const std::uint64_t full = p.warps / per_wave;
  const std::uint64_t rest = p.warps % per_wave;
  p.waves = full + (rest > 0 ? 1 : 0);
  auto wave_cost = [&](std::uint64_t warps) {
    const double load = static_cast<double>(warps) / sms / kFusedSaturationWarps;
    return p.pair_blocks * (load > 1.0 ? load : 1.0);
  };
  p.cost = static_cast<double>(full) * wave_cost(per_wave) + (rest > 0 ? wave_cost(rest) : 0.0);
  const std::uint64_t nb = (static_cast<std::uint64_t>(d) + 3) / 4;
  p.utilisation = static_cast<double>(nb) / (static_cast<double>(group) * p.pair_blocks);
  return p;
}

/// Threads per run for the persistent kernel: the lowest predicted cost (plan_fused_group), then
/// the fewest waves, then the best lane utilisation, then the order of kFusedGroups.
/// `resident_warps_per_sm[i]` belongs to group kFusedGroups[i]. Returns 0 when d fits no group.
/// Changes speed only, never results.
inline int choose_fused_group(std::uint32_t d, std::size_t runs, int sms,
                              const std::array<int, 4>& resident_warps_per_sm) {
  int best = 0;
  FusedGroupPlan best_plan;
  for (std::size_t i = 0; i < kFusedGroups.size(); ++i) {
    const FusedGroupPlan p =
        plan_fused_group(d, runs, kFusedGroups[i], sms, resident_warps_per_sm[i]);
    if (p.pair_blocks == 0 || p.waves == 0) continue;
    bool better = best == 0;
    if (!better) {
      const double tol = 1e-9 * best_plan.cost;
      if (p.cost < best_plan.cost - tol) {
        better = true;
      } else if (p.cost <= best_plan.cost + tol) {
        better = p.waves < best_plan.waves ||
                 (p.waves == best_plan.waves && p.utilisation > best_plan.utilisation + 1e-9);
      }
    }
    if (better) {
      best = p.group;
      best_plan = p;
    }
  }
  return best;
}

}  // namespace detail
}  // namespace zo

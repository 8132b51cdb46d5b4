// The grids of bench_sweep (one place). Example 2.1 with y, z ∈ R^d, d = 100 (200 coordinates),
// ZO with λ = 0.1, η = 0.001, q = 1, Gaussian directions, run k seeded with k — the setting of
// Figure 1 and of the throughput target.
#pragma once

#include <cstdint>

namespace zo_bench_sweep {

constexpr std::int64_t kHalfDim = 100;

/// K on the GPU (persistent kernel, RunBatch, ceiling) and on the CPU.
constexpr std::int64_t kGpuRuns[] = {1, 16, 256, 1024, 4096, 16384, 65536};
constexpr std::int64_t kCpuRuns[] = {1, 16, 256, 4096};
/// K on the CPU laid out as Figure 1's sweep, K / 8 seeds × 8 λ (BM_Fused, lambdas = 8).
constexpr std::int64_t kSweepGridRuns[] = {256};
/// K separate single runs through the library (RunBatch with one run each), small K only.
constexpr std::int64_t kSeparateRuns[] = {1, 16, 256};
/// GPU threads per run tried by the group-size benchmark, at these K.
constexpr std::int64_t kGroups[] = {4, 8, 16, 32};
constexpr std::int64_t kGroupRuns[] = {4096, 65536};

/// Run-steps per timed iteration: about this many on the GPU (fused), capped to kMaxSteps
/// steps; RunBatch and the CPU use their own, smaller budgets.
constexpr double kGpuFusedWork = 4e8;
constexpr double kGpuBatchedWork = 4e6;
constexpr double kCpuWork = 4e5;
constexpr double kSeparateWork = 2e4;
constexpr std::uint64_t kMaxSteps = 100000;
constexpr std::uint64_t kMaxBatchedSteps = 2000;
constexpr std::uint64_t kMaxCpuSteps = 20000;  // RunBatch pays a launch sequence per step

/// The throughput target: K = 4096 runs × 10^5 steps, trace logged at 100 log-spaced points.
constexpr std::int64_t kTargetRuns = 4096;
constexpr std::uint64_t kTargetSteps = 100000;
constexpr std::size_t kTargetLogPoints = 100;

}  // namespace zo_bench_sweep

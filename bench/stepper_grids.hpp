// The grids of bench_stepper (one place): sizes × configurations of the in-place Stepper
// benchmarks, sized so the whole GPU run takes about a minute on an H100/H200.
#pragma once

#include <cstdint>

namespace zo_bench {

/// Each fused pass, arithmetic restore, f32 and bf16: d = 2^10 … 2^30 (×4).
constexpr int kPassLog2Min = 10;
constexpr int kPassLog2Max = 30;
constexpr int kPassLog2Step = 2;

/// Each fused pass in the exact restore modes (copy, residual), at the large sizes only.
constexpr int kExactPassLog2[] = {24, 28};

/// Full steps (excluding the objective), every mode, merged and unmerged, q = 1.
constexpr int kStepLog2[] = {20, 24, 26, 28, 30};
/// Full steps with q directions (arithmetic, merged and unmerged).
constexpr std::uint32_t kStepQ = 4;
constexpr int kStepQLog2[] = {26, 28};

/// The unfused baseline (cuRAND normal into a buffer + cuBLAS saxpy), f32.
constexpr int kBaselineLog2[] = {20, 24, 26, 28, 30};

/// The CPU backend (full steps), f32 and bf16.
constexpr int kCpuStepLog2[] = {10, 14, 18, 22};

/// Minimum measured time per benchmark (seconds; manual/device time for the GPU ones).
constexpr double kGpuMinTime = 0.05;
constexpr double kCpuMinTime = 0.1;

/// Step hyper-parameters: MeZO's defaults.
constexpr float kLambda = 1e-3f;
constexpr float kEta = 1e-6f;

}  // namespace zo_bench

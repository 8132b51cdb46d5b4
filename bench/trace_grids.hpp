// The grids of bench_trace.cpp, in one place. Sizes are chosen so that the whole GPU part runs in
// well under a minute on an H200 and the CPU part in a few minutes on a laptop.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace zo_bench_trace {

/// Estimators, as the integer argument of the benchmarks.
enum Kind : std::int64_t { kZo = 0, kSharpness = 1, kHutchinson = 2, kHutchpp = 3 };

/// Example 2.1: dimensions D = 2d and probe counts m.
constexpr std::int64_t kCpuDims[] = {200, 2000, 20000};
constexpr std::int64_t kCpuProbes[] = {10, 100, 1000};
constexpr std::int64_t kGpuDims[] = {2000, 20000, 200000};
constexpr std::int64_t kGpuProbes[] = {100, 1000};
/// Skip configurations with more than this many probe coordinates m·D (memory and time).
constexpr std::int64_t kMaxCpuProbeCoords = 4000000;
constexpr std::int64_t kMaxGpuProbeCoords = 400000000;
/// Hutch++ orthogonalises on the host (O(D·(m/3)²)): cap its m·D separately.
constexpr std::int64_t kMaxHutchppCoords = 2000000;

/// The linear model (logistic loss, dense features, the paper's Figure 2 size): N samples,
/// D features (10,000 projected + bias), probe counts m.
constexpr std::int64_t kLinearRows = 6414;
constexpr std::int64_t kLinearDim = 10001;
constexpr std::int64_t kLinearCpuRows = 1000;  // CPU: a smaller data set
constexpr std::int64_t kLinearCpuDim = 2001;
constexpr std::int64_t kLinearProbes[] = {100, 1000};
constexpr std::int64_t kLinearCpuProbes[] = {10, 100};

/// Bytes of the copy that measures the memory-bandwidth ceiling.
constexpr std::uint64_t kCeilingBytes = 1ull << 28;

/// Minimum benchmark time per configuration, in seconds.
constexpr double kMinTime = 0.2;

}  // namespace zo_bench_trace

// The grids of bench_run_batch (one place): sizes × configurations of the batched RunBatch path.
// Example 2.1 with y, z ∈ R^h has dim = 2h coordinates; "d = 100" in the paper is
// h = 100 (200 coordinates).
#pragma once

#include <cstdint>

namespace zo_bench {

/// Over K at the paper's size (h = 100).
constexpr std::int64_t kHalfDimForRuns = 100;
constexpr std::int64_t kRunsGrid[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536};

/// Over d at small K: dim = 2h = 2^10 … 2^28, for K·h ≤ kMaxRunsTimesHalfDim (K = 8 stops at
/// dim = 2^24; K = 1 goes to 2^28 coordinates, 1 GiB per iterate).
constexpr std::int64_t kHalfDimGrid[] = {1 << 9,  1 << 11, 1 << 13, 1 << 15, 1 << 17,
                                         1 << 19, 1 << 21, 1 << 23, 1 << 25, 1 << 27};
constexpr std::int64_t kSmallRuns[] = {1, 8};
constexpr std::int64_t kMaxRunsTimesHalfDim = std::int64_t{1} << 27;

/// Directions per step: q = 1 everywhere, plus these at K = kRunsForQ, h = kHalfDimForRuns.
constexpr std::int64_t kRunsForQ = 4096;
constexpr std::int64_t kExtraQ[] = {4};

/// The CPU backend on a smaller grid.
constexpr std::int64_t kCpuRunsGrid[] = {1, 16, 256, 4096};
constexpr std::int64_t kCpuHalfDimGrid[] = {1 << 9, 1 << 13, 1 << 17, 1 << 19};

/// Steps per timed iteration, and the minimum measuring time per benchmark (seconds).
constexpr std::uint64_t kStepsPerIteration = 10;
constexpr double kMinTime = 0.2;

/// Bytes of the device-to-device copy that measures the bandwidth ceiling.
constexpr std::uint64_t kCeilingBytes = 1ull << 30;

}  // namespace zo_bench

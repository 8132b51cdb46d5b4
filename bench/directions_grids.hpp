// The grid of bench_directions.cpp: how many Philox blocks (4 coordinates each) one call of the
// host Gaussian generator produces. 16 blocks = one AVX-512 group; 2048 blocks = the piece that
// fill_direction() hands to one thread; 2^16 blocks = 1 MB of output (beyond L2 on most CPUs).
#pragma once

#include <cstdint>

namespace zo_bench_directions {

constexpr std::int64_t kBlocks[] = {16, 25, 2048, 65536};
/// fill_direction() / sphere_scale() dimension (single thread).
constexpr std::int64_t kFillDim = 1 << 22;

}  // namespace zo_bench_directions

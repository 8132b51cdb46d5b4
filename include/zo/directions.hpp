// Host-side helpers for the counter-based directions of zo/direction.hpp (CPU backend).
#pragma once

#include <cstddef>
#include <cstdint>

#include "zo/direction.hpp"
#include "zo/export.hpp"

namespace zo {

/// √d / ‖g‖ for the Gaussian direction g of `key` in dimension d, computed with the canonical
/// chunked double-precision reduction (sphere_chunk_sum), so the CUDA backend matches bit for bit.
/// Multithreaded; the result does not depend on the thread count.
ZO_API float sphere_scale(DirectionKey key, std::uint64_t d);

/// Writes coordinates [0, d) of the direction (`dist`, `key`) to `out` (host memory).
ZO_API void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out);

/// The largest step index a run may use: 2^32 − 2 (2^32 − 1 is reserved for initial points).
constexpr std::uint64_t kMaxStep = 0xFFFFFFFEull;

/// The step index reserved for drawing initial points from a seed.
constexpr std::uint32_t kInitStep = 0xFFFFFFFFu;

}  // namespace zo

// Internal: the Philox streams zo uses for data (synthetic samples, projection matrices), kept
// apart from the streams of optimisation runs. Runs use keys (seed, step ≤ 2^32 − 2, j) and
// initial points use (seed, 2^32 − 1, small stream numbers); data uses (seed, 2^32 − 1, stream)
// with the stream numbers below, far above any initial-point stream.
#pragma once

#include <cstdint>

#include "zo/direction.hpp"
#include "zo/directions.hpp"

namespace zo {
namespace detail {

constexpr std::uint32_t kStreamTeacher = 0xDA7A0001u;
constexpr std::uint32_t kStreamFeatures = 0xDA7A0002u;
constexpr std::uint32_t kStreamPresence = 0xDA7A0003u;
constexpr std::uint32_t kStreamLabelNoise = 0xDA7A0004u;
constexpr std::uint32_t kStreamProjection = 0xDA7A0010u;

inline DirectionKey data_key(std::uint64_t seed, std::uint32_t stream) {
  return DirectionKey{seed, kInitStep, stream};
}

/// A uniform number in [0, 1) for coordinate `index` of stream `key`.
inline double uniform_at(DirectionKey key, std::uint64_t index) {
  const Philox4x32Block w = direction_bits(key, index / 4);
  return static_cast<double>(w.v[index % 4]) * (1.0 / 4294967296.0);
}

}  // namespace detail
}  // namespace zo

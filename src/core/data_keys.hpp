// Internal: keys of the Philox substreams zo uses for data (synthetic samples, projection
// matrices), kept apart from those of optimisation runs and initial points. The substream numbers
// and the layout of the whole key space are in zo/substreams.hpp.
#pragma once

#include <cstdint>

#include "zo/direction.hpp"
#include "zo/substreams.hpp"

namespace zo {
namespace detail {

/// The key of data substream `substream` (one of zo::kDataSubstream*) of `seed`.
inline DirectionKey data_key(std::uint64_t seed, std::uint32_t substream) {
  return DirectionKey{seed, kInitStep, substream};
}

/// A uniform number in [0, 1) for coordinate `index` of the substream `key`.
inline double uniform_at(DirectionKey key, std::uint64_t index) {
  const Philox4x32Block w = direction_bits(key, index / 4);
  return static_cast<double>(w.v[index % 4]) * (1.0 / 4294967296.0);
}

}  // namespace detail
}  // namespace zo

#include "zo/directions.hpp"

#include <vector>

namespace zo {

float sphere_scale(DirectionKey key, std::uint64_t d) {
  const std::uint64_t chunks = (d + kSphereChunk - 1) / kSphereChunk;
  std::vector<double> partial(chunks);
  const auto n = static_cast<std::int64_t>(chunks);
#pragma omp parallel for schedule(static)
  for (std::int64_t c = 0; c < n; ++c) partial[c] = sphere_chunk_sum(key, c, d);
  double sum = 0.0;
  for (double p : partial) sum += p;  // fixed order: the canonical reduction
  return sphere_scale_from_sum(sum, d);
}

void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out) {
  const float scale = dist == Distribution::sphere ? sphere_scale(key, d) : 1.0f;
  const auto blocks = static_cast<std::int64_t>((d + 3) / 4);
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < blocks; ++b) {
    const Float4 u = direction4(dist, key, static_cast<std::uint64_t>(b), scale);
    for (int lane = 0; lane < 4; ++lane) {
      const std::uint64_t i = static_cast<std::uint64_t>(b) * 4 + lane;
      if (i < d) out[i] = u.v[lane];
    }
  }
}

}  // namespace zo

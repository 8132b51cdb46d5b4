// Host-side helpers for the counter-based directions of zo/direction.hpp (CPU backend).
#pragma once

#include <cstddef>
#include <cstdint>

#include "zo/backend.hpp"
#include "zo/direction.hpp"
#include "zo/export.hpp"
#include "zo/stream_view.hpp"
#include "zo/substreams.hpp"

namespace zo {

/// √d / ‖g‖ for the Gaussian direction g of `key` in dimension d, computed with the canonical
/// chunked double-precision reduction (sphere_chunk_sum), so the CUDA backend matches bit for bit.
/// Multithreaded; the result does not depend on the thread count.
ZO_API float sphere_scale(DirectionKey key, std::uint64_t d);

/// Writes coordinates [0, d) of the direction (`dist`, `key`) to `out` (host memory; blocking,
/// as every host call). On device memory: zo::fill_direction_device (zo/device.hpp).
ZO_API void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out);

/// What generate_directions() measured.
struct DirectionThroughput {
  double checksum = 0.0;  ///< Σ of every generated coordinate (defeats dead-code elimination)
  double seconds = 0.0;   ///< generation time (CUDA events on the GPU, wall clock on the CPU)
};

/// Generates the directions of `runs` runs × `steps` steps of dimension `dim` (keys
/// (seed = run, step, substream 0), Gaussian) and sums them, doing nothing else: the rate of the
/// direction generator alone, the ceiling of the fused engine (zo::Engine::fused). On the GPU,
/// one thread per Philox block with no per-run structure, on `stream` (default: the legacy
/// default stream). Blocking: returns when the measurement is on the host.
ZO_API DirectionThroughput generate_directions(Backend backend, std::size_t runs, std::size_t dim,
                                               std::uint64_t steps, StreamView stream = {});

// kMaxStep and kInitStep, the reserved parts of the key space: zo/substreams.hpp.

}  // namespace zo

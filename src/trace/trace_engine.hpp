// Internal: CUDA entry points of the trace estimators (kernels/trace/trace_cuda.cu; NotCompiled
// stubs in src/core/cuda_stubs.cpp for CPU-only builds). Every function orders its work on
// `stream`; those that only write device memory are asynchronous, trace_row_reduce (host results)
// blocks. Device buffers are zo::DeviceArray (zo/device.hpp), allocated by the caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "trace/trace_math.hpp"
#include "zo/direction.hpp"
#include "zo/stream_view.hpp"

namespace zo {
namespace detail {
namespace cuda {

/// Builds the perturbed points of `count` base points x (count × d floats) with m probes each.
/// Per base point k the output holds `per_point` = center + m·(two_sided ? 2 : 1) rows of d
/// floats at out + k·per_point·d: [x_k if center][x_k + δ_j, j < m][x_k − δ_j, j < m if
/// two_sided], δ_j from symmetric_pair(x, ε·v_j) (two-sided) or fl(x + ε·v_j) (one-sided).
/// v_j is trace probe j (dist, seed, substream) or, when `vectors` is not null, row k·m + j of
/// `vectors` (device memory, d floats per row).
void trace_build_points(const float* x, std::size_t count, std::size_t d, std::uint32_t m,
                        float epsilon, Distribution dist, std::uint64_t seed,
                        std::uint32_t substream, const float* vectors, bool center, bool two_sided,
                        float* out, StreamView stream);

/// out row k·m + j (d floats) = trace probe j (dist, seed, substream) for every k < count.
void trace_fill_probes(std::size_t count, std::size_t d, std::uint32_t m, Distribution dist,
                       std::uint64_t seed, std::uint32_t substream, float* out, StreamView stream);

/// out row k·m + j = x_k for every k < count, j < m.
void trace_replicate(const float* x, std::size_t count, std::size_t d, std::uint32_t m, float* out,
                     StreamView stream);

/// result[r] (host, rows doubles) = Σ_i row_term(op, a_r[i], b_r[i], c_r[i], x_r[i]) over the
/// d coordinates of row r = (k = r / m, j = r % m); c and x may have a null base when `op`
/// does not read them. One block per row, fixed reduction order (deterministic). `scratch`
/// (device memory, at least `rows` doubles, owned by the caller and reused across calls) receives
/// the row sums before they are copied to `result`. Blocking.
void trace_row_reduce(RowOp op, RowRef a, RowRef b, RowRef c, RowRef x, std::size_t rows,
                      std::uint32_t m, std::size_t d, double* result, double* scratch,
                      StreamView stream);

}  // namespace cuda
}  // namespace detail
}  // namespace zo

// CUDA launchers of the trace estimators: building perturbed points and probes, and the per-row
// reductions. The element-wise math is src/trace/trace_math.hpp, shared with the CPU loops.
#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda_check.cuh"
#include "trace/trace_engine.hpp"
#include "trace/trace_math.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"

namespace zo {
namespace detail {
namespace cuda {
namespace {

constexpr int kThreads = 256;

int grid_for(std::uint64_t items) {
  // Grid-stride loops: cap the grid; 8 blocks per SM of a large GPU is plenty.
  const std::uint64_t blocks = (items + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 4096 ? (blocks == 0 ? 1 : blocks) : 4096);
}

// One item = (row r = k·m + j, coordinate block b of 4).
__global__ void __launch_bounds__(kThreads)
    build_points_kernel(const float* __restrict__ x, std::uint64_t count, std::uint64_t d,
                        std::uint32_t m, float epsilon, Distribution dist, std::uint64_t seed,
                        std::uint32_t substream, const float* __restrict__ vectors, bool center,
                        bool two_sided, float* __restrict__ out) {
  const std::uint64_t blocks = (d + 3) / 4;
  const std::uint64_t per_point =
      (center ? 1 : 0) + static_cast<std::uint64_t>(m) * (two_sided ? 2 : 1);
  const std::uint64_t rows = count * m;
  const std::uint64_t items = rows * blocks;
  for (std::uint64_t item = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       item < items; item += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t r = item / blocks;
    const std::uint64_t b = item % blocks;
    const std::uint64_t k = r / m;
    const std::uint32_t j = static_cast<std::uint32_t>(r % m);
    const float* xk = x + k * d;
    float* base = out + k * per_point * d;
    float* plus = base + ((center ? 1 : 0) + j) * d;
    float* minus = two_sided ? plus + static_cast<std::uint64_t>(m) * d : nullptr;
    Float4 v;
    if (vectors != nullptr) {
      const float* row = vectors + r * d;
      for (int lane = 0; lane < 4; ++lane) {
        const std::uint64_t i = b * 4 + lane;
        v.v[lane] = i < d ? row[i] : 0.0f;
      }
    } else {
      v = trace_probe4(dist, seed, substream, j, b);
    }
    for (int lane = 0; lane < 4; ++lane) {
      const std::uint64_t i = b * 4 + lane;
      if (i >= d) break;
      const float t = detail::mul_f(epsilon, v.v[lane]);
      if (two_sided) {
        float p, q;
        symmetric_pair(xk[i], t, &p, &q);
        plus[i] = p;
        minus[i] = q;
      } else {
        plus[i] = __fadd_rn(xk[i], t);
      }
      if (center && j == 0) base[i] = xk[i];
    }
  }
}

__global__ void __launch_bounds__(kThreads)
    fill_probes_kernel(std::uint64_t count, std::uint64_t d, std::uint32_t m, Distribution dist,
                       std::uint64_t seed, std::uint32_t substream, const float* __restrict__ x,
                       float* __restrict__ out) {
  const std::uint64_t blocks = (d + 3) / 4;
  const std::uint64_t items = count * m * blocks;
  for (std::uint64_t item = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       item < items; item += static_cast<std::uint64_t>(gridDim.x) * blockDim.x) {
    const std::uint64_t r = item / blocks;
    const std::uint64_t b = item % blocks;
    float* row = out + r * d;
    if (x != nullptr) {  // replicate base point k = r / m
      const float* xk = x + (r / m) * d;
      for (int lane = 0; lane < 4; ++lane) {
        const std::uint64_t i = b * 4 + lane;
        if (i < d) row[i] = xk[i];
      }
    } else {
      const Float4 v = trace_probe4(dist, seed, substream, static_cast<std::uint32_t>(r % m), b);
      for (int lane = 0; lane < 4; ++lane) {
        const std::uint64_t i = b * 4 + lane;
        if (i < d) row[i] = v.v[lane];
      }
    }
  }
}

// One block per row; each thread sums a strided subset in double, then a fixed tree reduction.
__global__ void __launch_bounds__(kThreads)
    row_reduce_kernel(RowOp op, RowRef a, RowRef b, RowRef c, RowRef x, std::uint64_t rows,
                      std::uint32_t m, std::uint64_t d, double* __restrict__ result) {
  __shared__ double partial[kThreads];
  for (std::uint64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float* ar = a.row(r, m);
    const float* br = b.row(r, m);
    const float* cr = c.base != nullptr ? c.row(r, m) : nullptr;
    const float* xr = x.base != nullptr ? x.row(r, m) : nullptr;
    double sum = 0.0;
    for (std::uint64_t i = threadIdx.x; i < d; i += blockDim.x) {
      sum += row_term(op, ar[i], br[i], cr != nullptr ? cr[i] : 0.0f, xr != nullptr ? xr[i] : 0.0f);
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (int width = kThreads / 2; width > 0; width /= 2) {
      if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
      __syncthreads();
    }
    if (threadIdx.x == 0) result[r] = partial[0];
    __syncthreads();  // partial[] is reused by the next row
  }
}

}  // namespace

void trace_build_points(const float* x, std::size_t count, std::size_t d, std::uint32_t m,
                        float epsilon, Distribution dist, std::uint64_t seed,
                        std::uint32_t substream, const float* vectors, bool center, bool two_sided,
                        float* out, StreamView stream) {
  const std::uint64_t items = static_cast<std::uint64_t>(count) * m * ((d + 3) / 4);
  if (items == 0) return;
  build_points_kernel<<<grid_for(items), kThreads, 0, to_cuda(stream)>>>(
      x, count, d, m, epsilon, dist, seed, substream, vectors, center, two_sided, out);
  ZO_CUDA_CHECK_LAUNCH();
}

void trace_fill_probes(std::size_t count, std::size_t d, std::uint32_t m, Distribution dist,
                       std::uint64_t seed, std::uint32_t substream, float* out, StreamView stream) {
  const std::uint64_t items = static_cast<std::uint64_t>(count) * m * ((d + 3) / 4);
  if (items == 0) return;
  fill_probes_kernel<<<grid_for(items), kThreads, 0, to_cuda(stream)>>>(count, d, m, dist, seed,
                                                                        substream, nullptr, out);
  ZO_CUDA_CHECK_LAUNCH();
}

void trace_replicate(const float* x, std::size_t count, std::size_t d, std::uint32_t m, float* out,
                     StreamView stream) {
  const std::uint64_t items = static_cast<std::uint64_t>(count) * m * ((d + 3) / 4);
  if (items == 0) return;
  fill_probes_kernel<<<grid_for(items), kThreads, 0, to_cuda(stream)>>>(
      count, d, m, Distribution::gaussian, 0, 0, x, out);
  ZO_CUDA_CHECK_LAUNCH();
}

void trace_row_reduce(RowOp op, RowRef a, RowRef b, RowRef c, RowRef x, std::size_t rows,
                      std::uint32_t m, std::size_t d, double* result, double* scratch,
                      StreamView stream) {
  if (rows == 0) return;
  const int grid = static_cast<int>(rows < 65535 ? rows : 65535);
  const cudaStream_t s = to_cuda(stream);
  row_reduce_kernel<<<grid, kThreads, 0, s>>>(op, a, b, c, x, rows, m, d, scratch);
  ZO_CUDA_CHECK_LAUNCH();
  // Blocking: the results are on the host.
  ZO_CUDA_TRY(cudaMemcpyAsync(result, scratch, rows * sizeof(double), cudaMemcpyDeviceToHost, s));
  ZO_CUDA_TRY(cudaStreamSynchronize(s));
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

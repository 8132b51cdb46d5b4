// Example 2.1 on device memory: values, gradients, Hessian-vector products and exact traces of a
// batch of points x = [y; z], and the fused evaluation of a RunBatch step's perturbed points.
//
// Every per-point inner product is a deterministic reduction (point_reduce.cuh): one warp per
// point for d ≤ 1024, otherwise 256-thread blocks over 8192-coordinate chunks plus an in-order sum
// of the chunks. The element-wise math is the shared body of src/objectives/example21_math.hpp.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "batch/batch_layout.cuh"
#include "batch/step_math.hpp"
#include "core/cuda_backend.hpp"
#include "core/cuda_check.cuh"
#include "core/launch.cuh"
#include "core/point_reduce.cuh"
#include "objectives/example21_math.hpp"
#include "zo/device.hpp"
#include "zo/direction.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"

namespace zo {
namespace detail {
namespace cuda {
namespace {

constexpr unsigned kThreads = 256;

__device__ __forceinline__ double exact_product(float a, float b) {
  return __dmul_rn(static_cast<double>(a), static_cast<double>(b));  // exact: 24 + 24 bits
}

/// Loads coordinates [4g, 4g + 4) of both halves of x = [y; z] (y, z ∈ R^h); returns how many
/// of the four are inside the half (the rest are set to 0). `vec`: x and h allow float4 loads.
__device__ __forceinline__ int load_halves(const float* x, std::uint64_t h, std::uint64_t g,
                                           bool vec, float (&y)[4], float (&z)[4]) {
  const std::uint64_t i = 4 * g;
  const int n = h - i < 4 ? static_cast<int>(h - i) : 4;
  if (vec) {  // h % 4 == 0, so n == 4
    const float4 a = *reinterpret_cast<const float4*>(x + i);
    const float4 b = *reinterpret_cast<const float4*>(x + h + i);
    y[0] = a.x, y[1] = a.y, y[2] = a.z, y[3] = a.w;
    z[0] = b.x, z[1] = b.y, z[2] = b.z, z[3] = b.w;
  } else {
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      y[l] = l < n ? x[i + l] : 0.0f;
      z[l] = l < n ? x[h + i + l] : 0.0f;
    }
  }
  return n;
}

/// A batch of points as the kernels read it.
struct Points {
  const float* data;
  std::uint64_t stride;
  std::uint64_t h;
  bool vec;
  __device__ const float* point(std::uint64_t p) const { return data + p * stride; }
};

// ---- loaders: the terms of one 4-coordinate group, added in coordinate order -----------------

struct YzLoader {  // N = 1: yᵀz
  Points pts;
  __device__ void operator()(std::uint64_t p, std::uint64_t g, double* acc) const {
    float y[4], z[4];
    const int n = load_halves(pts.point(p), pts.h, g, pts.vec, y, z);
#pragma unroll
    for (int l = 0; l < 4; ++l)
      if (l < n) acc[0] = __dadd_rn(acc[0], exact_product(y[l], z[l]));
  }
};

struct NormsLoader {  // N = 2: ‖y‖², ‖z‖²
  Points pts;
  __device__ void operator()(std::uint64_t p, std::uint64_t g, double* acc) const {
    float y[4], z[4];
    const int n = load_halves(pts.point(p), pts.h, g, pts.vec, y, z);
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      if (l < n) {
        acc[0] = __dadd_rn(acc[0], exact_product(y[l], y[l]));
        acc[1] = __dadd_rn(acc[1], exact_product(z[l], z[l]));
      }
    }
  }
};

struct HvpLoader {  // N = 3: yᵀz, zᵀa, yᵀb for v = [a; b]
  Points pts;
  Points vecs;
  __device__ void operator()(std::uint64_t p, std::uint64_t g, double* acc) const {
    float y[4], z[4], a[4], b[4];
    const int n = load_halves(pts.point(p), pts.h, g, pts.vec, y, z);
    load_halves(vecs.point(p), vecs.h, g, vecs.vec, a, b);
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      if (l < n) {
        acc[0] = __dadd_rn(acc[0], exact_product(y[l], z[l]));
        acc[1] = __dadd_rn(acc[1], exact_product(z[l], a[l]));
        acc[2] = __dadd_rn(acc[2], exact_product(y[l], b[l]));
      }
    }
  }
};

/// Coordinates [first, first + 4) of a direction for any alignment of `first` (the z half of
/// x = [y; z] starts at coordinate h, which need not be a multiple of 4).
__device__ __forceinline__ Float4 direction_span4(Distribution dist, DirectionKey key,
                                                  std::uint64_t first, float scale) {
  const Float4 a = direction4(dist, key, first >> 2, scale);
  const unsigned offset = static_cast<unsigned>(first & 3u);
  if (offset == 0) return a;
  const Float4 b = direction4(dist, key, (first >> 2) + 1, scale);
  switch (offset) {  // constant indices only: no local-memory arrays
    case 1:
      return Float4{{a.v[1], a.v[2], a.v[3], b.v[0]}};
    case 2:
      return Float4{{a.v[2], a.v[3], b.v[0], b.v[1]}};
    default:
      return Float4{{a.v[3], b.v[0], b.v[1], b.v[2]}};
  }
}

/// N = 2: (x_k + λu)_yᵀ(x_k + λu)_z and the same for −λ, for pair p (see PerturbedPairs). The
/// perturbed coordinates are the same floats the generic path materialises (perturb() of the
/// same x and u), added in the same order, so the sums are bit-identical to YzLoader's.
struct PairLoader {
  PerturbedPairs pp;
  std::uint64_t h;
  __device__ void operator()(std::uint64_t p, std::uint64_t g, double* acc) const {
    const std::uint32_t k = pp.pair_run[p];
    const std::uint32_t j = pp.pair_dir[p];
    const RunParams& run = pp.runs[k];
    const auto dist = static_cast<Distribution>(run.distribution);
    const DirectionKey key{run.seed, pp.step, j};
    const float scale = pp.scales[run.slot_begin + j];
    const float lambda = run.lambda;
    const float* x = pp.x + static_cast<std::uint64_t>(k) * pp.ld;
    const std::uint64_t i = 4 * g;
    const int n = h - i < 4 ? static_cast<int>(h - i) : 4;
    // Rows are 16-byte aligned (ld % 4 == 0) and i + 3 < ld, so the y load stays in the row.
    const float4 y4 = *reinterpret_cast<const float4*>(x + i);
    const float y[4] = {y4.x, y4.y, y4.z, y4.w};
    float z[4];
    if (h % 4 == 0) {
      const float4 z4 = *reinterpret_cast<const float4*>(x + h + i);
      z[0] = z4.x, z[1] = z4.y, z[2] = z4.z, z[3] = z4.w;
    } else {
#pragma unroll
      for (int l = 0; l < 4; ++l) z[l] = l < n ? x[h + i + l] : 0.0f;
    }
    const Float4 uy = direction4(dist, key, g, scale);
    const Float4 uz = direction_span4(dist, key, h + i, scale);
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      if (l < n) {
        const float yp = perturb(y[l], lambda, uy.v[l]);
        const float zp = perturb(z[l], lambda, uz.v[l]);
        const float ym = perturb(y[l], -lambda, uy.v[l]);
        const float zm = perturb(z[l], -lambda, uz.v[l]);
        acc[0] = __dadd_rn(acc[0], exact_product(yp, zp));
        acc[1] = __dadd_rn(acc[1], exact_product(ym, zm));
      }
    }
  }
};

// ---- epilogues: what happens with a point's sums ----------------------------------------------

struct StoreValue {
  double* values;
  __device__ void operator()(std::uint64_t p, const double* s) const {
    values[p] = ::zo::detail::example21_value(s[0]);
  }
};

struct StorePairValues {
  double* values;
  __device__ void operator()(std::uint64_t p, const double* s) const {
    values[2 * p] = ::zo::detail::example21_value(s[0]);
    values[2 * p + 1] = ::zo::detail::example21_value(s[1]);
  }
};

struct StoreTrace {
  double* traces;
  __device__ void operator()(std::uint64_t p, const double* s) const {
    traces[p] = __dadd_rn(s[0], s[1]);
  }
};

template <int N>
struct StoreSums {
  double* out;
  __device__ void operator()(std::uint64_t p, const double* s) const {
#pragma unroll
    for (int n = 0; n < N; ++n) out[p * N + n] = s[n];
  }
};

// ---- element-wise kernels -------------------------------------------------------------------

__global__ void gradient_kernel(Points pts, std::uint64_t count, const double* yz, float* grads,
                                std::uint64_t grad_stride) {
  const std::uint64_t groups = (pts.h + 3) / 4;
  const std::uint64_t total = count * groups;
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t t = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       t < total; t += stride) {
    const std::uint64_t p = t / groups;
    const std::uint64_t i0 = 4 * (t % groups);
    const float* x = pts.point(p);
    float* out = grads + p * grad_stride;
    const double s = yz[p];
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const std::uint64_t i = i0 + l;
      if (i < pts.h) {
        out[i] = ::zo::detail::example21_gradient(s, x[pts.h + i]);
        out[pts.h + i] = ::zo::detail::example21_gradient(s, x[i]);
      }
    }
  }
}

__global__ void hvp_kernel(Points pts, Points vecs, std::uint64_t count, const double* sums,
                           float* out_base, std::uint64_t out_stride) {
  const std::uint64_t h = pts.h;
  const std::uint64_t groups = (h + 3) / 4;
  const std::uint64_t total = count * groups;
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t t = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       t < total; t += stride) {
    const std::uint64_t p = t / groups;
    const std::uint64_t i0 = 4 * (t % groups);
    const float* x = pts.point(p);
    const float* v = vecs.point(p);
    float* out = out_base + p * out_stride;
    const double s = sums[3 * p];
    const double c = __dadd_rn(sums[3 * p + 1], sums[3 * p + 2]);  // zᵀa + yᵀb
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const std::uint64_t i = i0 + l;
      if (i < h) {
        out[i] =
            ::zo::detail::example21_hvp(s, c, x[h + i], v[h + i]);   // partner z_i, v_partner b_i
        out[h + i] = ::zo::detail::example21_hvp(s, c, x[i], v[i]);  // partner y_i, v_partner a_i
      }
    }
  }
}

// ---- host helpers -----------------------------------------------------------------------------

/// Throws zo::InvalidArgument unless `ptr` is device (or managed) memory of the current device.
void require_device_pointer(const void* ptr, const char* what) {
  ::zo::require_device_pointer(ptr, std::string("Example21 on device memory: ") + what);
}

bool aligned16(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; }

Points view(const PointBatch& b, std::size_t h) {
  Points p;
  p.data = b.data;
  p.stride = b.stride;
  p.h = h;
  p.vec = aligned16(b.data) && h % 4 == 0 && (b.count <= 1 || b.stride % 4 == 0);
  return p;
}

/// Runs the reduction of `load` over a batch, with its partial sums in stream-ordered scratch.
template <int N, class Loader, class Epilogue>
void reduce_points(std::size_t h, std::uint64_t count, Loader load, Epilogue epilogue,
                   cudaStream_t stream) {
  const ReduceShape shape = reduce_shape((h + 3) / 4);
  DeviceArray<double> partials(reduce_partials<N>(shape, count), StreamView(stream));
  launch_reduce<N>(shape, count, load, epilogue, partials.data(), stream);
}

}  // namespace

void example21_evaluate(const PointBatch& points, std::size_t d, double* values) {
  if (points.count == 0) return;
  require_device_pointer(points.data, "the points");
  require_device_pointer(values, "values");
  const cudaStream_t stream = to_cuda(points.stream);
  reduce_points<1>(d, points.count, YzLoader{view(points, d)}, StoreValue{values}, stream);
}

void example21_gradient(const PointBatch& points, std::size_t d, float* grads,
                        std::size_t grad_stride) {
  if (points.count == 0) return;
  require_device_pointer(points.data, "the points");
  require_device_pointer(grads, "grads");
  ZO_EXPECTS(points.count <= 1 || grad_stride >= 2 * d,
             "Example21::gradient: grad_stride " + std::to_string(grad_stride) +
                 " is smaller than the dimension " + std::to_string(2 * d));
  const cudaStream_t stream = to_cuda(points.stream);
  DeviceArray<double> yz(points.count, points.stream);
  const Points pts = view(points, d);
  reduce_points<1>(d, points.count, YzLoader{pts}, StoreSums<1>{yz.data()}, stream);
  gradient_kernel<<<grid_blocks(points.count * ((d + 3) / 4), kThreads), kThreads, 0, stream>>>(
      pts, points.count, yz.data(), grads, grad_stride);
  ZO_CUDA_CHECK_LAUNCH();
}

void example21_hvp(const PointBatch& points, const PointBatch& vectors, std::size_t d, float* out,
                   std::size_t out_stride) {
  if (points.count == 0) return;
  require_device_pointer(points.data, "the points");
  require_device_pointer(vectors.data, "the vectors");
  require_device_pointer(out, "out");
  ZO_EXPECTS(points.count <= 1 || out_stride >= 2 * d,
             "Example21::hvp: out_stride " + std::to_string(out_stride) +
                 " is smaller than the dimension " + std::to_string(2 * d));
  const cudaStream_t stream = to_cuda(points.stream);
  DeviceArray<double> sums(points.count * 3, points.stream);
  const Points pts = view(points, d);
  const Points vecs = view(vectors, d);
  reduce_points<3>(d, points.count, HvpLoader{pts, vecs}, StoreSums<3>{sums.data()}, stream);
  hvp_kernel<<<grid_blocks(points.count * ((d + 3) / 4), kThreads), kThreads, 0, stream>>>(
      pts, vecs, points.count, sums.data(), out, out_stride);
  ZO_CUDA_CHECK_LAUNCH();
}

void example21_trace(const PointBatch& points, std::size_t d, double* traces) {
  if (points.count == 0) return;
  require_device_pointer(points.data, "the points");
  require_device_pointer(traces, "traces");
  const cudaStream_t stream = to_cuda(points.stream);
  reduce_points<2>(d, points.count, NormsLoader{view(points, d)}, StoreTrace{traces}, stream);
}

void evaluate_fused_pairs(const Objective& objective, const PerturbedPairs& pairs, double* values,
                          cudaStream_t stream) {
  ZO_EXPECTS(objective.structure() == ObjectiveStructure::example21,
             "evaluate_fused_pairs: objective '" + objective.name() + "' is not Example 2.1");
  const auto* e21 = static_cast<const Example21*>(&objective);
  ZO_EXPECTS(pairs.dim == e21->dim() && pairs.ld % 4 == 0 && aligned16(pairs.x),
             "evaluate_fused_pairs: bad layout");
  if (pairs.pairs == 0) return;
  const std::size_t h = e21->half_dim();
  reduce_points<2>(h, pairs.pairs, PairLoader{pairs, h}, StorePairValues{values}, stream);
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

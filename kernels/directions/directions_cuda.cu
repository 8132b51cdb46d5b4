// fill_direction_device: a direction written to device memory, bit-identical to the host's
// fill_direction() (the same direction4() body; the sphere scale from the canonical reduction of
// sphere_scale.cuh).
#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda_check.cuh"
#include "core/cuda_device.hpp"
#include "core/launch.cuh"
#include "directions/sphere_scale.cuh"
#include "zo/direction.hpp"

namespace zo {
namespace detail {
namespace cuda {
namespace {

struct SingleKey {
  DirectionKey key;
  __device__ DirectionKey operator()(std::uint64_t) const { return key; }
};

struct StoreScale {
  float* scale;
  __device__ void operator()(std::uint64_t, float value) const { *scale = value; }
};

/// out[i] = u_i for i < d; `scale` points to the sphere scale (device memory) or is null.
__global__ void fill_direction_kernel(Distribution dist, DirectionKey key, std::uint64_t d,
                                      const float* scale, float* out, bool aligned) {
  const float s = scale ? *scale : 1.0f;
  const std::uint64_t blocks = (d + 3) / 4;
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t b = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       b < blocks; b += stride) {
    const Float4 u = direction4(dist, key, b, s);
    const std::uint64_t first = 4 * b;
    if (aligned && first + 4 <= d) {
      reinterpret_cast<float4*>(out)[b] = make_float4(u.v[0], u.v[1], u.v[2], u.v[3]);
    } else {
#pragma unroll
      for (int l = 0; l < 4; ++l)
        if (first + l < d) out[first + l] = u.v[l];
    }
  }
}

}  // namespace

void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out,
                    StreamView stream_view) {
  require_device();
  const cudaStream_t stream = to_cuda(stream_view);
  const bool sphere = dist == Distribution::sphere;
  const std::uint64_t chunks = sphere ? sphere_chunks(d) : 0;
  // [scale (one float, padded to a double)][chunk partial sums]
  DeviceArray<double> scratch(sphere ? chunks + 1 : 0, stream_view);
  float* scale = nullptr;
  if (sphere) {
    scale = reinterpret_cast<float*>(scratch.data());
    launch_sphere_scales(SingleKey{key}, StoreScale{scale}, 1, d, scratch.data() + 1, stream);
  }
  const bool aligned = reinterpret_cast<std::uintptr_t>(out) % 16 == 0;
  fill_direction_kernel<<<grid_blocks((d + 3) / 4, 256), 256, 0, stream>>>(dist, key, d, scale, out,
                                                                           aligned);
  ZO_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

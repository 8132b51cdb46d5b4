// CUDA runtime queries: whether a device is usable, and which.
#include <cstdio>
#include <string>

#include "cuda_backend.hpp"
#include "cuda_check.cuh"

namespace zo {
namespace detail {
namespace cuda {

bool available() noexcept {
  // cudaGetDeviceCount returns an error (never hangs) when there is no driver or no device.
  static const bool usable = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error state
      return false;
    }
    return count > 0;
  }();
  return usable;
}

std::string device_description() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return std::string("no usable CUDA device (") + cudaGetErrorName(status) + ": " +
           cudaGetErrorString(status) + ")";
  }
  if (count == 0) return "no CUDA device found";
  int device = 0;
  cudaGetDevice(&device);
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) return "CUDA device (unknown)";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %d SMs, %.0f GiB", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

// CUDA runtime calls behind zo/device.hpp (a plain C++ file: it needs the runtime, not nvcc).
#include <cuda_runtime.h>

#include <cmath>
#include <string>

#include "core/cuda_arch.hpp"
#include "core/cuda_backend.hpp"
#include "core/cuda_check.cuh"
#include "core/cuda_device.hpp"
#include "zo/backend.hpp"

namespace zo {
namespace detail {
namespace cuda {

namespace {

#if !defined(ZO_CUDA_ARCHITECTURES)
#define ZO_CUDA_ARCHITECTURES ""
#define ZO_CUDA_ARCHITECTURES_SETTING ""
#endif

/// Whether the current device can run zo's kernels, and one line saying what it is or why not.
struct DeviceStatus {
  bool usable = false;
  std::string description;
};

DeviceStatus query_device() {
  // cudaGetDeviceCount returns an error (never hangs) when there is no driver or no device.
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error state
    return {false, std::string("no usable CUDA device (") + cudaGetErrorName(status) + ": " +
                       cudaGetErrorString(status) + ")"};
  }
  if (count == 0) return {false, "no CUDA device found"};
  int device = 0;
  cudaGetDevice(&device);
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    cudaGetLastError();
    return {true, "CUDA device (unknown)"};
  }
  // A GPU older than every compiled architecture would fail at its first kernel launch
  // (cudaErrorNoKernelImageForDevice): refuse it here, with the reason.
  std::string setting = ZO_CUDA_ARCHITECTURES_SETTING;
  for (char& c : setting) {
    if (c == ',') c = ';';  // the CMake list as it was written ("80-real;90")
  }
  const std::string reason = arch_unsupported_reason(
      prop.name, prop.major, prop.minor, parse_cuda_architectures(ZO_CUDA_ARCHITECTURES), setting);
  if (!reason.empty()) return {false, reason};
  const double gib = static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0);
  return {true, std::string(prop.name) + ", sm_" + std::to_string(prop.major) +
                    std::to_string(prop.minor) + ", " + std::to_string(prop.multiProcessorCount) +
                    " SMs, " + std::to_string(std::llround(gib)) + " GiB"};
}

}  // namespace

bool available() noexcept {
  static const bool usable = [] {
    try {
      return query_device().usable;
    } catch (...) {  // std::bad_alloc building the description
      return false;
    }
  }();
  return usable;
}

std::string device_description() { return query_device().description; }

void require_device() {
  if (!available()) {
    ZO_FAIL(DeviceUnavailable, "no usable CUDA device: " + device_description());
  }
}

namespace {
// Whether the stream-ordered allocator is available (every GPU since CUDA 11.2 on Linux; not on
// some virtualised setups). Decided once, for the device current at the first allocation.
bool memory_pools_supported() noexcept {
  static const bool supported = [] {
    int device = 0, value = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&value, cudaDevAttrMemoryPoolsSupported, device) != cudaSuccess) {
      cudaGetLastError();  // not an error of the caller's: clear it
      return false;
    }
    return value != 0;
  }();
  return supported;
}
}  // namespace

void* device_allocate(std::size_t bytes, StreamView stream) {
  require_device();
  void* ptr = nullptr;
  if (memory_pools_supported()) {
    ZO_CUDA_TRY(cudaMallocAsync(&ptr, bytes, to_cuda(stream)));
  } else {
    ZO_CUDA_TRY(cudaMalloc(&ptr, bytes));
  }
  return ptr;
}

void device_free(void* ptr, StreamView stream) noexcept {
  if (memory_pools_supported()) {
    ZO_CUDA_TRY_NOTHROW(cudaFreeAsync(ptr, to_cuda(stream)));
  } else {
    ZO_CUDA_TRY_NOTHROW(cudaFree(ptr));
  }
}

void copy(void* dst, const void* src, std::size_t bytes, StreamView stream, bool wait) {
  require_device();
  const cudaStream_t s = to_cuda(stream);
  ZO_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
  if (wait) ZO_CUDA_TRY(cudaStreamSynchronize(s));
}

void fill_zero(void* ptr, std::size_t bytes, StreamView stream) {
  require_device();
  ZO_CUDA_TRY(cudaMemsetAsync(ptr, 0, bytes, to_cuda(stream)));
}

PointerFacts pointer_facts(const void* ptr, int* current_device) {
  require_device();
  ZO_CUDA_TRY(cudaGetDevice(current_device));
  PointerFacts facts;
  cudaPointerAttributes attr{};
  const cudaError_t status = cudaPointerGetAttributes(&attr, ptr);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear it: an unknown pointer is the caller's error
    facts.query_failed = true;
    return facts;
  }
  switch (attr.type) {
    case cudaMemoryTypeDevice:
      facts.memory = PointerMemory::device;
      break;
    case cudaMemoryTypeManaged:
      facts.memory = PointerMemory::managed;
      break;
    case cudaMemoryTypeHost:
      facts.memory = PointerMemory::host;
      break;
    default:
      facts.memory = PointerMemory::unregistered;
      break;
  }
  facts.device = attr.device;
  return facts;
}

void* stream_create() {
  require_device();
  cudaStream_t s = nullptr;
  ZO_CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  return s;
}

void stream_destroy(void* stream) noexcept {
  if (stream) ZO_CUDA_TRY_NOTHROW(cudaStreamDestroy(static_cast<cudaStream_t>(stream)));
}

void stream_synchronize(StreamView stream) {
  require_device();
  ZO_CUDA_TRY(cudaStreamSynchronize(to_cuda(stream)));
}

void* event_create() {
  require_device();
  cudaEvent_t e = nullptr;
  ZO_CUDA_TRY(cudaEventCreate(&e));
  return e;
}

void event_destroy(void* event) noexcept {
  ZO_CUDA_TRY_NOTHROW(cudaEventDestroy(static_cast<cudaEvent_t>(event)));
}

void event_record(void* event, StreamView stream) {
  ZO_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(event), to_cuda(stream)));
}

void event_synchronize(void* event) {
  ZO_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

float event_elapsed_ms(void* start, void* stop) {
  ZO_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)));
  float ms = 0.0f;
  ZO_CUDA_TRY(
      cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)));
  return ms;
}

DeviceMemoryInfo memory_info() {
  require_device();
  DeviceMemoryInfo info;
  ZO_CUDA_TRY(cudaMemGetInfo(&info.free_bytes, &info.total_bytes));
  return info;
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

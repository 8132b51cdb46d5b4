// Internal: the CUDA runtime calls behind the public RAII types of zo/device.hpp. Implemented in
// kernels/core/device_cuda.cpp (and kernels/directions/directions_cuda.cu) on CUDA builds;
// cuda_stubs.cpp makes them throw zo::NotCompiled on CPU-only builds (the functions marked noexcept
// do nothing there).
#pragma once

#include <cstddef>
#include <cstdint>

#include "zo/device.hpp"
#include "zo/device_pointer.hpp"

namespace zo {
namespace detail {
namespace cuda {

/// Throws zo::DeviceUnavailable (naming the reason) unless a CUDA device is usable.
void require_device();

/// `bytes` (> 0) of device memory allocated in the order of `stream`: cudaMallocAsync when the
/// device supports memory pools, else cudaMalloc. Throws zo::CudaError (out of memory).
void* device_allocate(std::size_t bytes, StreamView stream);
/// Frees memory of device_allocate in the order of `stream` (cudaFreeAsync, or cudaFree). Never
/// throws: a failure goes to the log sink.
void device_free(void* ptr, StreamView stream) noexcept;
/// cudaMemcpyAsync(cudaMemcpyDefault) on `stream`, then waits for the stream when `wait`.
void copy(void* dst, const void* src, std::size_t bytes, StreamView stream, bool wait);
void fill_zero(void* ptr, std::size_t bytes, StreamView stream);

/// A new non-blocking stream (the cudaStream_t as void*).
void* stream_create();
void stream_destroy(void* stream) noexcept;
void stream_synchronize(StreamView stream);

void* event_create();
void event_destroy(void* event) noexcept;
void event_record(void* event, StreamView stream);
void event_synchronize(void* event);
float event_elapsed_ms(void* start, void* stop);

DeviceMemoryInfo memory_info();

/// What cudaPointerGetAttributes says about `ptr`; `current_device` receives the current device.
/// Clears the error of a failed query (it is the caller's mistake, not a CUDA failure).
PointerFacts pointer_facts(const void* ptr, int* current_device);

/// fill_direction_device (kernels/directions/directions_cuda.cu).
void fill_direction(Distribution dist, DirectionKey key, std::uint64_t d, float* out,
                    StreamView stream);

}  // namespace cuda
}  // namespace detail
}  // namespace zo

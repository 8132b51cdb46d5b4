// Internal CUDA helpers: error checking with file, line and the CUDA error name.
#pragma once

#include <cuda_runtime.h>

#include <string>

#include "zo/error.hpp"
#include "zo/stream_view.hpp"

namespace zo {
namespace detail {
namespace cuda {

/// The cudaStream_t a StreamView holds.
inline cudaStream_t to_cuda(StreamView stream) noexcept {
  return static_cast<cudaStream_t>(stream.handle());
}

}  // namespace cuda
}  // namespace detail
}  // namespace zo

/// Throws zo::CudaError naming the call, file, line and CUDA error when `call` fails.
#define ZO_CUDA_TRY(call)                                                               \
  do {                                                                                  \
    const cudaError_t zo_cuda_status_ = (call);                                         \
    if (zo_cuda_status_ != cudaSuccess) {                                               \
      throw ::zo::CudaError(::zo::detail::located_message(                              \
          __FILE__, __LINE__,                                                           \
          std::string(#call) + " failed: " + cudaGetErrorName(zo_cuda_status_) + " (" + \
              cudaGetErrorString(zo_cuda_status_) + ")"));                              \
    }                                                                                   \
  } while (0)

/// Checks the last kernel launch (call right after every <<<...>>>).
#define ZO_CUDA_CHECK_LAUNCH() ZO_CUDA_TRY(cudaPeekAtLastError())

/// Non-throwing variant for destructors: reports through zo's log sink instead.
#define ZO_CUDA_TRY_NOTHROW(call)                                                 \
  do {                                                                            \
    const cudaError_t zo_cuda_status_ = (call);                                   \
    if (zo_cuda_status_ != cudaSuccess) {                                         \
      ::zo::log_line(::zo::detail::located_message(                               \
          __FILE__, __LINE__,                                                     \
          std::string(#call) + " failed: " + cudaGetErrorName(zo_cuda_status_))); \
    }                                                                             \
  } while (0)

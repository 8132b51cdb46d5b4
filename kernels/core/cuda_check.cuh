// Internal CUDA helpers: error checking with file, line and the CUDA error name, and the
// cudaStream_t of a zo::StreamView.
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

/// Throws zo::CudaError naming the call, file, line and CUDA error when `call` fails. The
/// thread's last-error state is cleared before the throw (cudaGetLastError), so an error that is
/// caught and handled (e.g. an out-of-memory) is never reported again by a later, unrelated check.
#define ZO_CUDA_TRY(call)                                                               \
  do {                                                                                  \
    const cudaError_t zo_cuda_status_ = (call);                                         \
    if (zo_cuda_status_ != cudaSuccess) {                                               \
      cudaGetLastError();                                                               \
      throw ::zo::CudaError(::zo::detail::located_message(                              \
          __FILE__, __LINE__,                                                           \
          std::string(#call) + " failed: " + cudaGetErrorName(zo_cuda_status_) + " (" + \
              cudaGetErrorString(zo_cuda_status_) + ")"));                              \
    }                                                                                   \
  } while (0)

/// Checks the last kernel launch (call right after every <<<...>>>). cudaGetLastError, not
/// cudaPeekAtLastError: it reads and clears the launch error, so a failure is reported once, by
/// the check that follows the failed launch.
#define ZO_CUDA_CHECK_LAUNCH() ZO_CUDA_TRY(cudaGetLastError())

/// Non-throwing variant for destructors: reports through zo's log sink instead (and clears the
/// last-error state like ZO_CUDA_TRY).
#define ZO_CUDA_TRY_NOTHROW(call)                                                 \
  do {                                                                            \
    const cudaError_t zo_cuda_status_ = (call);                                   \
    if (zo_cuda_status_ != cudaSuccess) {                                         \
      cudaGetLastError();                                                         \
      ::zo::log_line(::zo::detail::located_message(                               \
          __FILE__, __LINE__,                                                     \
          std::string(#call) + " failed: " + cudaGetErrorName(zo_cuda_status_))); \
    }                                                                             \
  } while (0)

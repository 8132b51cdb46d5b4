// Internal: MPI return codes as zo::mpi::MpiError (MPI_ERRORS_RETURN is set on the communicators
// zo uses, so a failed call returns instead of aborting the job).
#pragma once

#include <mpi.h>

#include <string>

#include "zo/mpi.hpp"

namespace zo {
namespace mpi {
namespace detail {

inline std::string mpi_error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "error " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace detail
}  // namespace mpi
}  // namespace zo

/// Throws zo::mpi::MpiError naming the call when an MPI call does not return MPI_SUCCESS.
#define ZO_MPI_TRY(call)                                                                    \
  do {                                                                                      \
    const int zo_mpi_rc_ = (call);                                                          \
    if (zo_mpi_rc_ != MPI_SUCCESS)                                                          \
      ZO_FAIL(::zo::mpi::MpiError,                                                          \
              std::string(#call) + ": " + ::zo::mpi::detail::mpi_error_string(zo_mpi_rc_)); \
  } while (0)

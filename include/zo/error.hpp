// Typed exceptions thrown by zo, and the macros that throw them with file and line.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "zo/export.hpp"

namespace zo {

/// Base class of every exception zo throws. `what()` is the message for the user; the source
/// location inside zo that raised it (for bug reports) is location(), kept out of the message.
class ZO_API Error : public std::runtime_error {
 public:
  /// `what` may start with a "file:line: " prefix made by the throwing macros; it is moved from
  /// the message to location().
  explicit Error(const std::string& what);
  ~Error() override;
  /// "file:line" of the throw site inside zo, or empty.
  const std::string& location() const noexcept { return location_; }

 private:
  std::string location_;
};

/// A caller passed an invalid argument (λ ≤ 0, η ≤ 0, zero dimension, mismatched sizes...).
class ZO_API InvalidArgument : public Error {
 public:
  using Error::Error;
  ~InvalidArgument() override;
};

/// The requested feature exists only in builds with CUDA enabled (a CPU-only build keeps the
/// same API and throws this instead of failing to link).
class ZO_API NotCompiled : public Error {
 public:
  using Error::Error;
  ~NotCompiled() override;
};

/// The GPU was requested explicitly but no usable CUDA device/driver is present.
class ZO_API DeviceUnavailable : public Error {
 public:
  using Error::Error;
  ~DeviceUnavailable() override;
};

/// A CUDA runtime or library call failed; the message names the call and the CUDA error.
class ZO_API CudaError : public Error {
 public:
  using Error::Error;
  ~CudaError() override;
};

/// An objective lacks a capability that an algorithm needs (e.g. GD on a value-only objective).
class ZO_API NotSupported : public Error {
 public:
  using Error::Error;
  ~NotSupported() override;
};

/// A data file is malformed; the message names the file, line and column.
class ZO_API DataError : public Error {
 public:
  using Error::Error;
  ~DataError() override;
};

/// The objective threw, or returned NaN/Inf, at a given step. The optimiser state is left at
/// the last completed step, so no work is lost: the caller may inspect, save or resume it.
class ZO_API ObjectiveError : public Error {
 public:
  ObjectiveError(const std::string& what, std::uint64_t step, std::int64_t run);
  ~ObjectiveError() override;
  /// Step (0-based, the step being computed) at which the failure happened.
  std::uint64_t step() const noexcept { return step_; }
  /// Index of the run in its batch, or -1 when not attributable to a single run.
  std::int64_t run() const noexcept { return run_; }

 private:
  std::uint64_t step_;
  std::int64_t run_;
};

namespace detail {
/// Builds "file:line: message" for the error macros.
ZO_API std::string located_message(const char* file, int line, const std::string& message);
}  // namespace detail

}  // namespace zo

/// Throws `zo::InvalidArgument` with file and line when `cond` is false.
#define ZO_EXPECTS(cond, message)                                                   \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      throw ::zo::InvalidArgument(                                                  \
          ::zo::detail::located_message(__FILE__, __LINE__, std::string(message))); \
    }                                                                               \
  } while (0)

/// Throws an exception of type `ExceptionType` (derived from zo::Error) with file and line.
#define ZO_FAIL(ExceptionType, message) \
  throw ExceptionType(::zo::detail::located_message(__FILE__, __LINE__, std::string(message)))

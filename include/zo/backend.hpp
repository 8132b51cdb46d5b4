// Run-time backend selection and library-wide logging.
#pragma once

#include <functional>
#include <string>

#include "zo/export.hpp"

namespace zo {

/// Where computations run.
enum class Backend {
  automatic,  ///< the GPU when a CUDA device is usable, the CPU otherwise
  cpu,        ///< the multithreaded CPU backend (the reference)
  cuda,       ///< the CUDA backend; throws zo::DeviceUnavailable / zo::NotCompiled if unusable
};

/// "auto", "cpu" or "cuda".
ZO_API const char* to_string(Backend backend);

/// Parses "auto", "cpu", "cuda" (or "gpu"); throws zo::InvalidArgument otherwise.
ZO_API Backend parse_backend(const std::string& text);

/// True when this build of libzo contains the CUDA backend.
ZO_API bool cuda_compiled();

/// True when the CUDA backend is compiled in and the CUDA device zo would use (the current
/// device) is usable: a driver, a device, and a compute capability that the GPU code compiled
/// into this libzo can run on (see CMAKE_CUDA_ARCHITECTURES in README.md; a GPU older than every
/// compiled architecture is unavailable here rather than failing at its first kernel launch).
/// Never throws, never hangs when no driver is installed.
ZO_API bool cuda_available();

/// A one-line description of the CUDA device zo would use ("NVIDIA H200, sm_90, 132 SMs,
/// 139 GiB") or the reason none is usable ("no CUDA device found", "Tesla T4 is sm_75, but this
/// libzo was built for sm_90 and newer (CMAKE_CUDA_ARCHITECTURES=90); rebuild with ...").
ZO_API std::string cuda_device_description();

/// Resolves `automatic` to `cuda` or `cpu`, logs the choice in one line, and checks an explicit
/// `cuda` request: throws zo::NotCompiled (CPU-only build) or zo::DeviceUnavailable.
ZO_API Backend resolve_backend(Backend requested);

/// Receives zo's log lines (one line, no trailing newline). The default sink writes to stderr;
/// pass an empty function to silence zo. zo never writes to stdout.
ZO_API void set_log_sink(std::function<void(const std::string&)> sink);

/// Sends one line to the current log sink.
ZO_API void log_line(const std::string& line);

}  // namespace zo

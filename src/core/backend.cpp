#include "zo/backend.hpp"

#include <cstdio>
#include <mutex>

#include "core/cuda_backend.hpp"
#include "zo/error.hpp"

namespace zo {
namespace {
std::mutex& sink_mutex() {
  static std::mutex m;
  return m;
}
std::function<void(const std::string&)>& sink() {
  static std::function<void(const std::string&)> s = [](const std::string& line) {
    std::fprintf(stderr, "zo: %s\n", line.c_str());
  };
  return s;
}
}  // namespace

const char* to_string(Backend backend) {
  switch (backend) {
    case Backend::automatic:
      return "auto";
    case Backend::cpu:
      return "cpu";
    case Backend::cuda:
      return "cuda";
  }
  return "?";
}

Backend parse_backend(const std::string& text) {
  if (text == "auto") return Backend::automatic;
  if (text == "cpu") return Backend::cpu;
  if (text == "cuda" || text == "gpu") return Backend::cuda;
  ZO_FAIL(InvalidArgument, "unknown backend '" + text + "' (expected auto, cpu or cuda)");
}

bool cuda_compiled() {
#if defined(ZO_HAVE_CUDA)
  return true;
#else
  return false;
#endif
}

bool cuda_available() { return detail::cuda::available(); }

std::string cuda_device_description() { return detail::cuda::device_description(); }

Backend resolve_backend(Backend requested) {
  if (requested == Backend::cpu) return Backend::cpu;
  if (requested == Backend::cuda) {
    if (!cuda_compiled()) {
      ZO_FAIL(NotCompiled, "the CUDA backend was requested but this libzo was built without CUDA");
    }
    if (!cuda_available()) {
      ZO_FAIL(DeviceUnavailable, "the CUDA backend was requested but no CUDA device is usable: " +
                                     cuda_device_description());
    }
    return Backend::cuda;
  }
  // automatic: log the decision once per process.
  static std::once_flag logged;
  const bool gpu = cuda_available();
  std::call_once(logged, [gpu] {
    log_line(gpu ? "backend: cuda (" + cuda_device_description() + ")"
                 : "backend: cpu (" + cuda_device_description() + ")");
  });
  return gpu ? Backend::cuda : Backend::cpu;
}

void set_log_sink(std::function<void(const std::string&)> new_sink) {
  std::lock_guard<std::mutex> lock(sink_mutex());
  sink() = std::move(new_sink);
}

void log_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(sink_mutex());
  if (sink()) sink()(line);
}

}  // namespace zo

#include "zo/version.hpp"

#if defined(ZO_HAVE_CUDA)
#include "core/cuda_arch.hpp"
#endif

// Set per copy of libzo by src/CMakeLists.txt (cmake/ZoCpuDispatch.cmake).
#if !defined(ZO_CPU_COPY)
#define ZO_CPU_COPY "generic"
#define ZO_CPU_COPY_FLAGS ""
#endif

#define ZO_STRINGIFY_(x) #x
#define ZO_STRINGIFY(x) ZO_STRINGIFY_(x)

namespace zo {

const char* version() {
  return ZO_STRINGIFY(ZO_VERSION_MAJOR) "." ZO_STRINGIFY(ZO_VERSION_MINOR) "." ZO_STRINGIFY(
      ZO_VERSION_PATCH);
}

std::string build_summary() {
  std::string out = std::string("libzo ") + version() + "; cuda: ";
#if defined(ZO_HAVE_CUDA)
  std::string setting = ZO_CUDA_ARCHITECTURES_SETTING;
  for (char& c : setting) {
    if (c == ',') c = ';';  // the CMake list as it was written
  }
  const std::string support =
      detail::describe_cuda_support(detail::parse_cuda_architectures(ZO_CUDA_ARCHITECTURES));
  out += "compiled for " +
         (support.empty() ? std::string("nvcc's default architecture") : support) +
         " (CMAKE_CUDA_ARCHITECTURES=" + setting + ")";
#else
  out += "not compiled";
#endif
  out += "; cpu: " ZO_CPU_COPY;
  const std::string flags = ZO_CPU_COPY_FLAGS;
  out += flags.empty() ? " (baseline)" : " (" + flags + ")";
  return out;
}

}  // namespace zo

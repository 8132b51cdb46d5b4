#include "zo/error.hpp"

namespace zo {
namespace {

/// The length of a leading "file:line: " prefix (a source file name, a colon, digits, ": "),
/// or 0 when `what` has none.
std::size_t location_prefix(const std::string& what) {
  const auto colon = what.find(": ");
  if (colon == std::string::npos) return 0;
  const auto line_colon = what.rfind(':', colon - 1);
  if (line_colon == std::string::npos || line_colon + 1 >= colon) return 0;
  for (std::size_t i = line_colon + 1; i < colon; ++i)
    if (what[i] < '0' || what[i] > '9') return 0;
  const std::string file = what.substr(0, line_colon);
  for (const char* ext : {".cpp", ".hpp", ".cu", ".cuh", ".h"}) {
    const std::string e(ext);
    if (file.size() > e.size() && file.compare(file.size() - e.size(), e.size(), e) == 0)
      return colon + 2;
  }
  return 0;
}

}  // namespace

Error::Error(const std::string& what)
    : std::runtime_error(what.substr(location_prefix(what))),
      location_(location_prefix(what) ? what.substr(0, location_prefix(what) - 2) : "") {}

Error::~Error() = default;
InvalidArgument::~InvalidArgument() = default;
NotCompiled::~NotCompiled() = default;
DeviceUnavailable::~DeviceUnavailable() = default;
CudaError::~CudaError() = default;
NotSupported::~NotSupported() = default;
DataError::~DataError() = default;

ObjectiveError::ObjectiveError(const std::string& what, std::uint64_t step, std::int64_t run)
    : Error(what), step_(step), run_(run) {}
ObjectiveError::~ObjectiveError() = default;

namespace detail {
std::string located_message(const char* file, int line, const std::string& message) {
  std::string name(file);
  // Keep the path short: from the project's top-level directory on.
  for (const char* top : {"/include/", "/src/", "/kernels/", "/tools/"}) {
    const auto pos = name.rfind(top);
    if (pos != std::string::npos) {
      name = name.substr(pos + 1);
      break;
    }
  }
  return name + ":" + std::to_string(line) + ": " + message;
}
}  // namespace detail

}  // namespace zo

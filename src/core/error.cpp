#include "zo/error.hpp"

namespace zo {

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

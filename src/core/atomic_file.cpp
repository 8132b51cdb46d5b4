// Atomic file output: temporary file beside the destination, fsync, rename.
#include "zo/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "zo/error.hpp"

namespace zo {

namespace fs = std::filesystem;

std::string temporary_path_for(const std::string& path) {
  return path + ".tmp-" + std::to_string(static_cast<long long>(::getpid()));
}

void publish_file(const std::string& from, const std::string& to) {
  // Make the bytes durable before the rename publishes them.
  const int fd = ::open(from.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) {
    fs::remove(from, ec);
    ZO_FAIL(Error, "cannot replace '" + to + "' with '" + from + "': " + ec.message());
  }
}

void write_file_atomically(const std::string& path, const std::string& content) {
  const fs::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  const std::string tmp = temporary_path_for(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) ZO_FAIL(Error, "cannot write '" + tmp + "' (for '" + path + "')");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      ZO_FAIL(Error, "writing '" + path + "' failed (disk full?)");
    }
  }
  publish_file(tmp, path);
}

}  // namespace zo

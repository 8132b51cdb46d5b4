#include "zo/point_file.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "zo/atomic_file.hpp"
#include "zo/error.hpp"

namespace zo {
namespace {

bool is_binary_path(const std::string& path) {
  return path.size() >= 4 && path.compare(path.size() - 4, 4, ".f32") == 0;
}

[[noreturn]] void data_error(const std::string& path, std::size_t line, std::size_t column,
                             const std::string& message) {
  ZO_FAIL(DataError,
          path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message);
}

std::vector<float> read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) ZO_FAIL(DataError, path + ": cannot open the point file: " + std::strerror(errno));
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) ZO_FAIL(DataError, path + ": the point file is empty");
  if (bytes.size() % 4 != 0) {
    ZO_FAIL(DataError, path + ": " + std::to_string(bytes.size()) +
                           " bytes is not a whole number of float32 values (.f32 files hold "
                           "raw little-endian float32)");
  }
  std::vector<float> x(bytes.size() / 4);
  for (std::size_t i = 0; i < x.size(); ++i) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b) {
      u |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[4 * i + b])) << (8 * b);
    }
    std::memcpy(&x[i], &u, sizeof u);
    if (!std::isfinite(x[i])) {
      ZO_FAIL(DataError, path + ": value " + std::to_string(i) + " (byte offset " +
                             std::to_string(4 * i) + ") is not finite");
    }
  }
  return x;
}

std::vector<float> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) ZO_FAIL(DataError, path + ": cannot open the point file: " + std::strerror(errno));
  std::vector<float> x;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::size_t pos = 0;
    while (pos < line.size()) {
      const char c = line[pos];
      if (c == ' ' || c == '\t' || c == ',' || c == '\r') {
        ++pos;
        continue;
      }
      std::size_t end = pos;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != ',' &&
             line[end] != '\r') {
        ++end;
      }
      const std::string token = line.substr(pos, end - pos);
      errno = 0;
      char* stop = nullptr;
      const double value = std::strtod(token.c_str(), &stop);
      if (stop == token.c_str() || *stop != '\0') {
        data_error(path, line_no, pos + 1, "'" + token + "' is not a number");
      }
      const auto rounded = static_cast<float>(value);
      if (!std::isfinite(value) || !std::isfinite(rounded)) {
        data_error(path, line_no, pos + 1, "'" + token + "' is not a finite float32 value");
      }
      x.push_back(rounded);
      pos = end;
    }
  }
  if (x.empty()) ZO_FAIL(DataError, path + ": the point file holds no number");
  return x;
}

}  // namespace

std::vector<float> read_point_file(const std::string& path) {
  return is_binary_path(path) ? read_binary(path) : read_text(path);
}

void write_point_file(const std::string& path, const float* x, std::size_t dim) {
  ZO_EXPECTS(x != nullptr || dim == 0, "write_point_file: x is null");
  std::string content;
  if (is_binary_path(path)) {
    content.reserve(4 * dim);
    for (std::size_t i = 0; i < dim; ++i) {
      std::uint32_t u;
      std::memcpy(&u, &x[i], sizeof u);
      for (int k = 0; k < 4; ++k) content.push_back(static_cast<char>((u >> (8 * k)) & 0xFFu));
    }
  } else {
    content = "# zo point, dim = " + std::to_string(dim) + "\n";
    char buf[32];
    for (std::size_t i = 0; i < dim; ++i) {
      std::snprintf(buf, sizeof buf, "%.9g\n", static_cast<double>(x[i]));
      content += buf;
    }
  }
  write_file_atomically(path, content);
}

}  // namespace zo

#include "zo/feature_matrix.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/resource.h>
#include <unistd.h>
#endif

#include "data/data_format.hpp"
#include "zo/error.hpp"

namespace zo {
namespace {

constexpr std::uint64_t kUnknown = std::numeric_limits<std::uint64_t>::max();

/// The first number in `path` after `key` (e.g. "MemAvailable:" in kB), or kUnknown.
std::uint64_t read_number(const char* path, const std::string& key = "") {
  std::ifstream in(path);
  if (!in) return kUnknown;
  std::string word;
  if (!key.empty()) {
    while (in >> word && word != key) {
    }
    if (!in) return kUnknown;
  }
  std::uint64_t v = 0;
  if (!(in >> v)) return kUnknown;  // also "max" (no cgroup limit)
  return v;
}

std::uint64_t page_size() {
#if defined(__unix__) || defined(__APPLE__)
  const long p = ::sysconf(_SC_PAGESIZE);
  return p > 0 ? static_cast<std::uint64_t>(p) : 4096;
#else
  return 4096;
#endif
}

}  // namespace

void validate(const CsrMatrix& m) {
  ZO_EXPECTS(m.row_offsets.size() == m.rows + 1,
             "CSR matrix: " + std::to_string(m.row_offsets.size()) + " row offsets for " +
                 std::to_string(m.rows) + " rows (expected rows + 1)");
  ZO_EXPECTS(m.row_offsets[0] == 0, "CSR matrix: row_offsets[0] must be 0");
  ZO_EXPECTS(m.col_indices.size() == m.values.size(),
             "CSR matrix: " + std::to_string(m.col_indices.size()) + " column indices but " +
                 std::to_string(m.values.size()) + " values");
  ZO_EXPECTS(static_cast<std::size_t>(m.row_offsets[m.rows]) == m.values.size(),
             "CSR matrix: the last row offset " + std::to_string(m.row_offsets[m.rows]) +
                 " differs from the number of entries " + std::to_string(m.values.size()));
  for (std::size_t i = 0; i < m.rows; ++i) {
    const std::int64_t b = m.row_offsets[i], e = m.row_offsets[i + 1];
    ZO_EXPECTS(b <= e, "CSR matrix: row offsets decrease at row " + std::to_string(i));
    for (std::int64_t k = b; k < e; ++k) {
      const std::int32_t c = m.col_indices[static_cast<std::size_t>(k)];
      ZO_EXPECTS(c >= 0 && static_cast<std::size_t>(c) < m.cols,
                 "CSR matrix: column index " + std::to_string(c) + " in row " + std::to_string(i) +
                     " is outside [0, " + std::to_string(m.cols) + ")");
      ZO_EXPECTS(k == b || m.col_indices[static_cast<std::size_t>(k - 1)] < c,
                 "CSR matrix: column indices of row " + std::to_string(i) +
                     " are not strictly increasing");
      ZO_EXPECTS(std::isfinite(m.values[static_cast<std::size_t>(k)]),
                 "CSR matrix: value in row " + std::to_string(i) + " is not finite");
    }
  }
}

CsrMatrix transpose(const CsrMatrix& m) {
  CsrMatrix t;
  t.rows = m.cols;
  t.cols = m.rows;
  t.row_offsets.assign(t.rows + 1, 0);
  for (std::int32_t c : m.col_indices) t.row_offsets[static_cast<std::size_t>(c) + 1] += 1;
  for (std::size_t j = 0; j < t.rows; ++j) t.row_offsets[j + 1] += t.row_offsets[j];
  t.col_indices.resize(m.nnz());
  t.values.resize(m.nnz());
  std::vector<std::int64_t> next(t.row_offsets.begin(), t.row_offsets.end() - 1);
  for (std::size_t i = 0; i < m.rows; ++i) {
    for (std::int64_t k = m.row_offsets[i]; k < m.row_offsets[i + 1]; ++k) {
      const auto c = static_cast<std::size_t>(m.col_indices[static_cast<std::size_t>(k)]);
      const auto slot = static_cast<std::size_t>(next[c]++);
      t.col_indices[slot] = static_cast<std::int32_t>(i);
      t.values[slot] = m.values[static_cast<std::size_t>(k)];
    }
  }
  return t;
}

DenseMatrix to_dense(const CsrMatrix& m) {
  check_memory(saturating_bytes({m.rows, m.cols, sizeof(float)}),
               "a dense " + detail::group_digits(m.rows) + " x " + detail::group_digits(m.cols) +
                   " matrix of floats");
  DenseMatrix d;
  d.rows = m.rows;
  d.cols = m.cols;
  d.values.assign(m.rows * m.cols, 0.0f);
  for (std::size_t i = 0; i < m.rows; ++i)
    for (std::int64_t k = m.row_offsets[i]; k < m.row_offsets[i + 1]; ++k)
      d.row(i)[m.col_indices[static_cast<std::size_t>(k)]] = m.values[static_cast<std::size_t>(k)];
  return d;
}

CsrMatrix to_csr(const DenseMatrix& d) {
  ZO_EXPECTS(d.values.size() == d.rows * d.cols,
             "dense matrix: " + std::to_string(d.values.size()) + " values for " +
                 std::to_string(d.rows) + " x " + std::to_string(d.cols));
  CsrMatrix m;
  m.rows = d.rows;
  m.cols = d.cols;
  m.row_offsets.assign(d.rows + 1, 0);
  for (std::size_t i = 0; i < d.rows; ++i) {
    for (std::size_t j = 0; j < d.cols; ++j) {
      if (d.row(i)[j] != 0.0f) {
        m.col_indices.push_back(static_cast<std::int32_t>(j));
        m.values.push_back(d.row(i)[j]);
      }
    }
    m.row_offsets[i + 1] = static_cast<std::int64_t>(m.values.size());
  }
  return m;
}

std::uint64_t saturating_bytes(std::initializer_list<std::uint64_t> factors) {
  std::uint64_t product = 1;
  for (const std::uint64_t f : factors) {
    if (f == 0) return 0;
    product = product > kUnknown / f ? kUnknown : product * f;
  }
  return product;
}

std::uint64_t available_memory_bytes() {
  std::uint64_t available = kUnknown;
  const auto cap = [&available](std::uint64_t v) { available = std::min(available, v); };
#if defined(__linux__)
  const std::uint64_t kb = read_number("/proc/meminfo", "MemAvailable:");
  if (kb != kUnknown) cap(kb > kUnknown / 1024 ? kUnknown : kb * 1024);
  // cgroup v2, then v1: the room left under the container's limit.
  std::uint64_t limit = read_number("/sys/fs/cgroup/memory.max");
  std::uint64_t used = read_number("/sys/fs/cgroup/memory.current");
  if (limit == kUnknown) {
    limit = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    used = read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  if (limit != kUnknown && limit < (std::uint64_t{1} << 60))
    cap(used != kUnknown && used < limit ? limit - used : limit);
#endif
#if defined(__unix__) || defined(__APPLE__)
  rlimit rl{};
  if (::getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    std::uint64_t in_use = 0;
#if defined(__linux__)
    const std::uint64_t pages = read_number("/proc/self/statm");
    if (pages != kUnknown) in_use = pages * page_size();
#endif
    const auto limit_as = static_cast<std::uint64_t>(rl.rlim_cur);
    cap(limit_as > in_use ? limit_as - in_use : 0);
  }
#if defined(_SC_PHYS_PAGES)
  if (available == kUnknown) {
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    if (pages > 0) cap(static_cast<std::uint64_t>(pages) * page_size());
  }
#endif
#endif
  return available == kUnknown ? 0 : available;
}

void check_memory(std::uint64_t bytes, const std::string& what) {
  const std::uint64_t available = available_memory_bytes();
  if (available == 0 || bytes <= available) return;
  ZO_FAIL(DataError, what + " needs " + detail::format_bytes(bytes) + " but only " +
                         detail::format_bytes(available) + " of memory are available");
}

}  // namespace zo

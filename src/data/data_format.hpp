// Internal helpers of the data path: numbers in messages, and sets of feature columns.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "zo/feature_matrix.hpp"

namespace zo::detail {

/// 1234567 -> "1,234,567".
inline std::string group_digits(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

/// a + b, saturating at UINT64_MAX (sizes from saturating_bytes()).
inline std::uint64_t add_bytes(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/// "85,899,345,920 bytes (80.0 GiB)" (MiB, GiB or TiB); a saturated size is "more than 2^64 bytes".
inline std::string format_bytes(std::uint64_t bytes) {
  if (bytes == UINT64_MAX) return "more than 2^64 bytes";
  std::string out = group_digits(bytes) + " bytes";
  char buf[48];
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024.0 * 1024.0 * 1024.0) {
    std::snprintf(buf, sizeof buf, " (%.1f TiB)", b / (1024.0 * 1024.0 * 1024.0 * 1024.0));
    out += buf;
  } else if (b >= 1024.0 * 1024.0 * 1024.0) {
    std::snprintf(buf, sizeof buf, " (%.1f GiB)", b / (1024.0 * 1024.0 * 1024.0));
    out += buf;
  } else if (b >= 1024.0 * 1024.0) {
    std::snprintf(buf, sizeof buf, " (%.1f MiB)", b / (1024.0 * 1024.0));
    out += buf;
  }
  return out;
}

/// A label as the shortest decimal that reads back to it ("-1", "2", "0.5", "1e+30"), with a '+'
/// on positive values when `signed_set` (the set it belongs to has negative values: "-1", "+1").
inline std::string format_label(double v, bool signed_set) {
  if (v == 0.0) v = 0.0;  // no "-0"
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string out(buf, r.ptr);
  return signed_set && v > 0.0 ? "+" + out : out;
}

/// The columns of a CSR matrix that hold at least one non-zero value: a bitmap when that is small
/// next to the matrix, else a sorted list (so a width of 2^31 with few entries stays cheap).
class ColumnSet {
 public:
  explicit ColumnSet(const CsrMatrix& m) : cols_(m.cols) {
    if (m.cols <= (std::size_t{1} << 20) || m.cols / 64 <= m.nnz()) {
      bitmap_.assign(m.cols, false);
      for (std::size_t k = 0; k < m.nnz(); ++k)
        if (m.values[k] != 0.0f) bitmap_[static_cast<std::size_t>(m.col_indices[k])] = true;
      dense_ = true;
    } else {
      list_.reserve(m.nnz());
      for (std::size_t k = 0; k < m.nnz(); ++k)
        if (m.values[k] != 0.0f) list_.push_back(m.col_indices[k]);
      std::sort(list_.begin(), list_.end());
      list_.erase(std::unique(list_.begin(), list_.end()), list_.end());
    }
  }

  explicit ColumnSet(const DenseMatrix& m) : cols_(m.cols), dense_(true) {
    bitmap_.assign(m.cols, false);
    for (std::size_t i = 0; i < m.rows; ++i)
      for (std::size_t j = 0; j < m.cols; ++j)
        if (m.row(i)[j] != 0.0f) bitmap_[j] = true;
  }

  /// True when column `c` (0-based) holds a non-zero value.
  bool contains(std::size_t c) const {
    if (c >= cols_) return false;
    if (dense_) return bitmap_[c];
    return std::binary_search(list_.begin(), list_.end(), static_cast<std::int32_t>(c));
  }

  /// Number of columns that hold a non-zero value.
  std::size_t count() const {
    return dense_ ? static_cast<std::size_t>(std::count(bitmap_.begin(), bitmap_.end(), true))
                  : list_.size();
  }

  /// True when every column holds a non-zero value.
  bool all() const { return count() == cols_; }

 private:
  std::size_t cols_;
  bool dense_ = false;
  std::vector<bool> bitmap_;
  std::vector<std::int32_t> list_;
};

}  // namespace zo::detail

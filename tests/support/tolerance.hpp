// The one tolerance helper of zo's tests: |a − b| ≤ atol + rtol·|b|, failing on NaN.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <sstream>

namespace zo_test {

/// True when |actual − expected| ≤ atol + rtol·|expected|; false whenever either is NaN.
inline bool is_close(double actual, double expected, double rtol, double atol) {
  if (std::isnan(actual) || std::isnan(expected)) return false;
  if (std::isinf(actual) || std::isinf(expected)) return actual == expected;
  return std::fabs(actual - expected) <= atol + rtol * std::fabs(expected);
}

/// GoogleTest predicate form of is_close, with a readable failure message.
inline ::testing::AssertionResult IsClose(double actual, double expected, double rtol,
                                          double atol) {
  if (is_close(actual, expected, rtol, atol)) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << "actual " << actual << " vs expected " << expected
     << " (|diff| = " << std::fabs(actual - expected) << ", allowed "
     << atol + rtol * std::fabs(expected) << ")";
  return ::testing::AssertionFailure() << os.str();
}

/// Element-wise IsClose over two arrays; reports the first mismatch.
template <typename A, typename B>
::testing::AssertionResult AllClose(const A* actual, const B* expected, std::size_t n, double rtol,
                                    double atol) {
  for (std::size_t i = 0; i < n; ++i) {
    auto r = IsClose(static_cast<double>(actual[i]), static_cast<double>(expected[i]), rtol, atol);
    if (!r) return ::testing::AssertionFailure() << "at index " << i << ": " << r.message();
  }
  return ::testing::AssertionSuccess();
}

}  // namespace zo_test

/// Skips the current test when no CUDA device is usable (GPU tests only).
#define ZO_SKIP_WITHOUT_GPU()                                                       \
  do {                                                                              \
    if (!::zo::cuda_available())                                                    \
      GTEST_SKIP() << "no usable CUDA device: " << ::zo::cuda_device_description(); \
  } while (0)

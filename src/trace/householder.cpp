// Dense Householder QR for Hutch++ (src/trace/trace.cpp): the orthonormal basis of the sketch.
#include "trace/householder.hpp"

#include <cmath>
#include <cstdint>

namespace zo {
namespace detail {

// Four independent chains the compiler can vectorise, unlike one running sum under
// -ffp-contract=off without fast-math.
double dot4(const double* a, const double* b, std::size_t begin, std::size_t end) {
  double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  std::size_t i = begin;
  for (; i + 4 <= end; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < end; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

std::vector<double> householder_q(std::vector<double> a, std::size_t d, std::size_t n) {
  std::vector<double> beta(n, 0.0);
  for (std::size_t j = 0; j < n; ++j) {
    double* col = a.data() + j * d;
    const double norm_sq = dot4(col, col, j, d);
    double alpha = std::sqrt(norm_sq);
    if (alpha == 0.0) continue;  // identity reflector
    if (col[j] > 0.0) alpha = -alpha;
    for (std::size_t i = 0; i < j; ++i) col[i] = 0.0;
    col[j] -= alpha;  // v = x − αe₁ (no cancellation: α has the sign opposite to x_j)
    const double v_norm_sq = dot4(col, col, j, d);
    beta[j] = v_norm_sq > 0.0 ? 2.0 / v_norm_sq : 0.0;
    const auto rest = static_cast<std::int64_t>(n - j - 1);
#pragma omp parallel for schedule(static)
    for (std::int64_t l = 0; l < rest; ++l) {
      double* other = a.data() + (j + 1 + static_cast<std::size_t>(l)) * d;
      const double f = beta[j] * dot4(col, other, j, d);
      for (std::size_t i = j; i < d; ++i) other[i] -= f * col[i];
    }
  }
  std::vector<double> q(d * n, 0.0);
  const auto cols = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static)
  for (std::int64_t l = 0; l < cols; ++l) {
    double* ql = q.data() + static_cast<std::size_t>(l) * d;
    ql[l] = 1.0;
    for (std::size_t j = n; j-- > 0;) {
      if (beta[j] == 0.0) continue;
      const double* v = a.data() + j * d;
      const double f = beta[j] * dot4(v, ql, j, d);
      for (std::size_t i = j; i < d; ++i) ql[i] -= f * v[i];
    }
  }
  return q;
}

}  // namespace detail
}  // namespace zo

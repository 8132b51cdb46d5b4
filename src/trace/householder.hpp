// Internal: dense Householder QR for Hutch++ (src/trace/householder.cpp), exported for its test.
#pragma once

#include <cstddef>
#include <vector>

#include "zo/export.hpp"

namespace zo {
namespace detail {

/// Σ a_i b_i over [begin, end) with four interleaved partial sums combined in a fixed order:
/// deterministic (no dependence on threads) and vectorisable.
ZO_API double dot4(const double* a, const double* b, std::size_t begin, std::size_t end);

/// Householder QR of the n columns of A (column-major, d × n, n ≤ d): returns Q (d × n) with
/// orthonormal columns, Q = H₀H₁…H_{n−1}[I; 0], so that A = Q R with R = QᵀA upper triangular.
/// Rank-deficient A still yields orthonormal Q. Parallel over columns with OpenMP; the result
/// does not depend on the thread count.
ZO_API std::vector<double> householder_q(std::vector<double> a, std::size_t d, std::size_t n);

}  // namespace detail
}  // namespace zo

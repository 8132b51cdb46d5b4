// Feature matrices of linear models: dense row-major and compressed sparse row (CSR), in float.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "zo/export.hpp"

namespace zo {

/// A dense rows × cols matrix of floats in row-major order: element (i, j) is
/// values[i * cols + j]. Row i holds the features φ_i of sample i.
struct DenseMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<float> values;

  /// Pointer to the first element of row i.
  const float* row(std::size_t i) const { return values.data() + i * cols; }
  /// Pointer to the first element of row i.
  float* row(std::size_t i) { return values.data() + i * cols; }
};

/// A sparse rows × cols matrix in compressed sparse row (CSR) form. The entries of row i are the
/// positions [row_offsets[i], row_offsets[i + 1]) of `col_indices` (0-based, strictly increasing
/// within a row) and `values`. `row_offsets` has rows + 1 entries and starts at 0; offsets are
/// 64-bit so the number of entries may exceed 2^31, column indices are 32-bit.
struct CsrMatrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<std::int64_t> row_offsets{0};
  std::vector<std::int32_t> col_indices;
  std::vector<float> values;

  /// Number of stored entries.
  std::size_t nnz() const { return values.size(); }
};

/// Checks the CSR invariants (offset count and monotonicity, index range, strictly increasing
/// indices within each row, finite values); throws zo::InvalidArgument naming the first
/// violation.
ZO_API void validate(const CsrMatrix& matrix);

/// The transpose of `matrix` in CSR form (that is, `matrix` in compressed sparse column form).
/// Entries of each row of the result are ordered by their row in `matrix`.
ZO_API CsrMatrix transpose(const CsrMatrix& matrix);

/// A dense copy of `matrix`. Checks first that rows × cols floats fit in the available memory
/// (check_memory()).
ZO_API DenseMatrix to_dense(const CsrMatrix& matrix);

/// The sparse form of `matrix`: every non-zero element becomes an entry (zeros are dropped).
ZO_API CsrMatrix to_csr(const DenseMatrix& matrix);

/// The product of `factors` (e.g. rows, cols, sizeof(float)), saturating at UINT64_MAX instead of
/// wrapping around: a size that would overflow is reported as "too large", never as small.
ZO_API std::uint64_t saturating_bytes(std::initializer_list<std::uint64_t> factors);

/// Bytes of memory this process may still allocate, as far as the system tells: on Linux the
/// smallest of MemAvailable (/proc/meminfo), the room left under the cgroup memory limit and
/// RLIMIT_AS / RLIMIT_DATA; elsewhere the physical memory. 0 when nothing is known.
ZO_API std::uint64_t available_memory_bytes();

/// Throws zo::DataError "<what> needs N bytes (X GiB) but only M bytes (Y GiB) of memory are
/// available" when `bytes` exceeds available_memory_bytes() (nothing is checked when that is
/// unknown). Called before the large allocations of the data path (dense matrices, the feature
/// pipeline), so that an oversized data set is a clear error instead of std::bad_alloc or swapping.
ZO_API void check_memory(std::uint64_t bytes, const std::string& what);

}  // namespace zo

// Feature matrices of linear models: dense row-major and compressed sparse row (CSR), in float.
#pragma once

#include <cstddef>
#include <cstdint>
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

/// A dense copy of `matrix`.
ZO_API DenseMatrix to_dense(const CsrMatrix& matrix);

/// The sparse form of `matrix`: every non-zero element becomes an entry (zeros are dropped).
ZO_API CsrMatrix to_csr(const DenseMatrix& matrix);

}  // namespace zo

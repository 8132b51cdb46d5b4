#include "zo/feature_matrix.hpp"

#include <cmath>
#include <string>

#include "zo/error.hpp"

namespace zo {

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

}  // namespace zo

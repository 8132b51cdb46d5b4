// make_data_parallel_linear_model(): a LinearModel's rows split into chunks over the ranks.
#include <string>
#include <variant>
#include <vector>

#include "mpi/mpi_check.hpp"
#include "zo/mpi.hpp"

namespace zo {
namespace mpi {

BinaryDataset row_range(const BinaryDataset& data, std::size_t begin, std::size_t end) {
  ZO_EXPECTS(begin <= end && end <= data.rows(), "row_range: rows out of range");
  BinaryDataset out;
  out.labels.assign(data.labels.begin() + static_cast<std::ptrdiff_t>(begin),
                    data.labels.begin() + static_cast<std::ptrdiff_t>(end));
  if (const auto* dense = std::get_if<DenseMatrix>(&data.features)) {
    DenseMatrix m;
    m.rows = end - begin;
    m.cols = dense->cols;
    m.values.assign(dense->values.begin() + static_cast<std::ptrdiff_t>(begin * dense->cols),
                    dense->values.begin() + static_cast<std::ptrdiff_t>(end * dense->cols));
    out.features = std::move(m);
  } else {
    const auto& csr = std::get<CsrMatrix>(data.features);
    CsrMatrix m;
    m.rows = end - begin;
    m.cols = csr.cols;
    const std::int64_t first = csr.row_offsets[begin];
    m.row_offsets.clear();
    for (std::size_t i = begin; i <= end; ++i) m.row_offsets.push_back(csr.row_offsets[i] - first);
    m.col_indices.assign(csr.col_indices.begin() + first,
                         csr.col_indices.begin() + csr.row_offsets[end]);
    m.values.assign(csr.values.begin() + first, csr.values.begin() + csr.row_offsets[end]);
    out.features = std::move(m);
  }
  return out;
}

std::shared_ptr<DataParallelObjective> make_data_parallel_linear_model(
    LinearLoss loss, const BinaryDataset& train, const BinaryDataset* test, std::size_t chunks,
    MPI_Comm comm, LinearModelOptions options) {
  int size = 1, rank = 0;
  ZO_MPI_TRY(MPI_Comm_size(comm, &size));
  ZO_MPI_TRY(MPI_Comm_rank(comm, &rank));
  const std::size_t n = train.rows(), m = test ? test->rows() : 0;
  ZO_EXPECTS(chunks >= 1 && chunks <= n && (!test || chunks <= m),
             "data-parallel linear model: " + std::to_string(chunks) +
                 " chunks need at least as many train" + (test ? " and test" : "") + " rows (" +
                 std::to_string(n) + (test ? " / " + std::to_string(m) : "") + ")");
  ZO_EXPECTS(static_cast<std::size_t>(size) <= chunks,
             "data-parallel linear model: " + std::to_string(size) + " ranks for " +
                 std::to_string(chunks) + " chunks of rows (use at most one rank per chunk)");
  std::vector<double> train_weight(chunks), test_weight(chunks);
  std::vector<std::shared_ptr<const Objective>> local;
  std::vector<std::size_t> owned;
  for (std::size_t c = 0; c < chunks; ++c) {
    const std::size_t b = c * n / chunks, e = (c + 1) * n / chunks;
    train_weight[c] = static_cast<double>(e - b) / static_cast<double>(n);
    const std::size_t tb = test ? c * m / chunks : 0, te = test ? (c + 1) * m / chunks : 0;
    test_weight[c] = test ? static_cast<double>(te - tb) / static_cast<double>(m) : 0.0;
    if (chunk_owner(c, chunks, size) != rank) continue;
    auto train_part = std::make_shared<const BinaryDataset>(row_range(train, b, e));
    std::shared_ptr<const BinaryDataset> test_part;
    if (test) test_part = std::make_shared<const BinaryDataset>(row_range(*test, tb, te));
    local.push_back(std::make_shared<LinearModel>(loss, train_part, test_part, options));
    owned.push_back(c);
  }
  // Metrics: train_accuracy by the train rows, test_* by the test rows.
  std::vector<std::vector<double>> metric_weights;
  const LinearModel probe(
      loss, std::make_shared<const BinaryDataset>(row_range(train, 0, 1)),
      test ? std::make_shared<const BinaryDataset>(row_range(*test, 0, 1)) : nullptr,
      LinearModelOptions{Backend::cpu});
  for (const auto& name : probe.metric_names())
    metric_weights.push_back(name.rfind("test_", 0) == 0 ? test_weight : train_weight);
  return std::make_shared<DataParallelObjective>(
      std::move(local), std::move(owned), std::move(train_weight), std::move(metric_weights), comm);
}

}  // namespace mpi
}  // namespace zo

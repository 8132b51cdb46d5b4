// DataParallelObjective: f(x) = Σ_c w_c f_c(x) over chunks of data held by different ranks,
// combined in chunk order so that the values do not depend on the number of ranks.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "mpi/mpi_check.hpp"
#include "zo/mpi.hpp"

namespace zo {
namespace mpi {

DataParallelObjective::DataParallelObjective(std::vector<std::shared_ptr<const Objective>> local,
                                             std::vector<std::size_t> local_chunks,
                                             std::vector<double> weights,
                                             std::vector<std::vector<double>> metric_weights,
                                             MPI_Comm comm)
    : local_(std::move(local)),
      local_chunks_(std::move(local_chunks)),
      weights_(std::move(weights)),
      metric_weights_(std::move(metric_weights)),
      comm_(comm) {
  ZO_EXPECTS(local_.size() == local_chunks_.size(),
             "DataParallelObjective: one chunk index per local objective");
  ZO_EXPECTS(!local_.empty(),
             "DataParallelObjective: every rank must own at least one chunk "
             "(fewer ranks, or smaller chunks)");
  ZO_MPI_TRY(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  dim_ = local_[0]->dim();
  metric_names_ = local_[0]->metric_names();
  for (std::size_t k = 0; k < local_.size(); ++k) {
    ZO_EXPECTS(local_[k] && local_[k]->dim() == dim_ && local_[k]->metric_names() == metric_names_,
               "DataParallelObjective: chunk objectives differ in dimension or metrics");
    ZO_EXPECTS(local_chunks_[k] < weights_.size(),
               "DataParallelObjective: chunk index beyond the weights");
    ZO_EXPECTS(k == 0 || local_chunks_[k] > local_chunks_[k - 1],
               "DataParallelObjective: local chunk indices must increase");
  }
  if (metric_weights_.empty()) metric_weights_.assign(metric_names_.size(), weights_);
  ZO_EXPECTS(metric_weights_.size() == metric_names_.size(),
             "DataParallelObjective: one weight vector per metric");
  for (const auto& w : metric_weights_)
    ZO_EXPECTS(w.size() == weights_.size(), "DataParallelObjective: metric weights per chunk");

  // Who holds which chunk: every chunk exactly once over the ranks, the same dim everywhere.
  int size = 1;
  ZO_MPI_TRY(MPI_Comm_size(comm_, &size));
  const int count = static_cast<int>(local_.size());
  chunks_of_rank_.resize(static_cast<std::size_t>(size));
  ZO_MPI_TRY(MPI_Allgather(&count, 1, MPI_INT, chunks_of_rank_.data(), 1, MPI_INT, comm_));
  std::vector<int> offsets(chunks_of_rank_.size());
  int total = 0;
  for (std::size_t r = 0; r < chunks_of_rank_.size(); ++r) {
    offsets[r] = total;
    total += chunks_of_rank_[r];
  }
  std::vector<unsigned long long> mine(local_chunks_.begin(), local_chunks_.end());
  std::vector<unsigned long long> all(static_cast<std::size_t>(total));
  ZO_MPI_TRY(MPI_Allgatherv(mine.data(), count, MPI_UNSIGNED_LONG_LONG, all.data(),
                            chunks_of_rank_.data(), offsets.data(), MPI_UNSIGNED_LONG_LONG, comm_));
  ZO_EXPECTS(static_cast<std::size_t>(total) == weights_.size(),
             "DataParallelObjective: the ranks hold " + std::to_string(total) + " chunks, the " +
                 "weights name " + std::to_string(weights_.size()));
  chunk_order_.assign(weights_.size(), weights_.size());
  for (std::size_t slot = 0; slot < all.size(); ++slot) {
    const auto c = static_cast<std::size_t>(all[slot]);
    ZO_EXPECTS(c < weights_.size() && chunk_order_[c] == weights_.size(),
               "DataParallelObjective: chunk " + std::to_string(c) +
                   " is held twice or is out "
                   "of range");
    chunk_order_[c] = slot;  // chunk c's values are in gathered slot chunk_order_[c]
  }
  unsigned long long dims[2] = {dim_, ~static_cast<unsigned long long>(dim_)};
  ZO_MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, dims, 2, MPI_UNSIGNED_LONG_LONG, MPI_MAX, comm_));
  ZO_EXPECTS(dims[0] == dim_ && ~dims[1] == dim_,
             "DataParallelObjective: the ranks' objectives differ in dimension");
}

DataParallelObjective::~DataParallelObjective() = default;

std::string DataParallelObjective::name() const { return local_[0]->name(); }

bool DataParallelObjective::has_gradient() const { return local_[0]->has_gradient(); }

bool DataParallelObjective::has_exact_trace() const { return local_[0]->has_exact_trace(); }

template <typename WeightOf>
std::vector<double> DataParallelObjective::combine_with(const std::vector<double>& per_chunk,
                                                        std::size_t n, WeightOf weight_of) const {
  const bool by_rank = combine_ == Combine::per_rank;
  // per_rank: this rank's chunks added first (in chunk order), then one value per point.
  std::vector<double> local;
  if (by_rank) {
    local.assign(n, 0.0);
    for (std::size_t k = 0; k < local_chunks_.size(); ++k)
      for (std::size_t i = 0; i < n; ++i)
        local[i] += weight_of(local_chunks_[k], i) * per_chunk[k * n + i];
  }
  const std::vector<double>& mine = by_rank ? local : per_chunk;
  std::vector<int> counts(chunks_of_rank_.size()), offsets(chunks_of_rank_.size());
  int total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    counts[r] = (by_rank ? 1 : chunks_of_rank_[r]) * static_cast<int>(n);
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<double> all(static_cast<std::size_t>(total));
  ZO_MPI_TRY(MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(),
                            counts.data(), offsets.data(), MPI_DOUBLE, comm_));
  bytes_sent_ += mine.size() * sizeof(double);
  ++exchanges_;
  std::vector<double> out(n, 0.0);
  if (by_rank) {
    for (std::size_t r = 0; r < counts.size(); ++r)  // rank order
      for (std::size_t i = 0; i < n; ++i) out[i] += all[r * n + i];
    return out;
  }
  for (std::size_t c = 0; c < weights_.size(); ++c) {  // chunk order: independent of the ranks
    const double* v = &all[chunk_order_[c] * n];
    for (std::size_t i = 0; i < n; ++i) out[i] += weight_of(c, i) * v[i];
  }
  return out;
}

std::vector<double> DataParallelObjective::combine(const std::vector<double>& per_chunk,
                                                   std::size_t n,
                                                   const std::vector<double>& weight) const {
  return combine_with(per_chunk, n, [&weight](std::size_t c, std::size_t) { return weight[c]; });
}

void DataParallelObjective::evaluate(const PointBatch& points, double* values) const {
  check_batch(*this, points);
  const std::size_t n = points.count;
  if (check_every_ > 0 && evaluations_++ % check_every_ == 0) {
    std::vector<float> packed(n * dim_);
    for (std::size_t p = 0; p < n; ++p)
      std::copy(points.point(p), points.point(p) + dim_,
                packed.begin() + static_cast<std::ptrdiff_t>(p * dim_));
    check_replicas(packed.data(), packed.size(), comm_,
                   "evaluation " + std::to_string(evaluations_ - 1) + " of the objective");
    bytes_sent_ += sizeof(std::uint64_t);
  }
  std::vector<double> per_chunk(local_.size() * n);
  for (std::size_t k = 0; k < local_.size(); ++k) local_[k]->evaluate(points, &per_chunk[k * n]);
  const std::vector<double> out = combine(per_chunk, n, weights_);
  std::copy(out.begin(), out.end(), values);
}

void DataParallelObjective::exact_trace(const PointBatch& points, double* traces) const {
  check_batch(*this, points);
  const std::size_t n = points.count;
  std::vector<double> per_chunk(local_.size() * n);
  for (std::size_t k = 0; k < local_.size(); ++k) local_[k]->exact_trace(points, &per_chunk[k * n]);
  const std::vector<double> out = combine(per_chunk, n, weights_);
  std::copy(out.begin(), out.end(), traces);
}

void DataParallelObjective::gradient(const PointBatch& points, float* grads,
                                     std::size_t grad_stride) const {
  check_batch(*this, points);
  const std::size_t n = points.count, d = dim_;
  // Each chunk's float gradient, exchanged as double (exact) and added in chunk order.
  std::vector<float> g(n * d);
  std::vector<double> per_chunk(local_.size() * n * d);
  for (std::size_t k = 0; k < local_.size(); ++k) {
    local_[k]->gradient(points, g.data(), d);
    std::copy(g.begin(), g.end(), per_chunk.begin() + static_cast<std::ptrdiff_t>(k * n * d));
  }
  const std::vector<double> out = combine(per_chunk, n * d, weights_);
  for (std::size_t p = 0; p < n; ++p)
    for (std::size_t i = 0; i < d; ++i)
      grads[p * grad_stride + i] = static_cast<float>(out[p * d + i]);
}

void DataParallelObjective::metrics(const PointBatch& points, double* out) const {
  check_batch(*this, points);
  const std::size_t n = points.count, M = metric_names_.size();
  if (M == 0) return;
  std::vector<double> per_chunk(local_.size() * n * M);
  for (std::size_t k = 0; k < local_.size(); ++k) local_[k]->metrics(points, &per_chunk[k * n * M]);
  // One exchange for all metrics; each metric adds with its own weights.
  const std::vector<double> all =
      combine_with(per_chunk, n * M,
                   [this, M](std::size_t c, std::size_t i) { return metric_weights_[i % M][c]; });
  std::copy(all.begin(), all.end(), out);
}

int chunk_owner(std::size_t chunk, std::size_t chunks, int ranks) {
  ZO_EXPECTS(ranks >= 1 && chunk < chunks, "chunk_owner: chunk out of range");
  // Rank r owns [r·C/N, (r+1)·C/N): the largest r with r·C/N ≤ chunk.
  const auto n = static_cast<std::size_t>(ranks);
  std::size_t r = (chunk * n) / chunks;
  while (r + 1 < n && (r + 1) * chunks / n <= chunk) ++r;
  while (r > 0 && r * chunks / n > chunk) --r;
  return static_cast<int>(r);
}

std::uint64_t parameter_checksum(const float* x, std::size_t n) {
  std::uint64_t h = 1469598103934665603ull;
  const auto* bytes = reinterpret_cast<const unsigned char*>(x);
  for (std::size_t i = 0; i < n * sizeof(float); ++i) {
    h ^= bytes[i];
    h *= 1099511628211ull;
  }
  return h;
}

void check_replicas(const float* x, std::size_t n, MPI_Comm comm, const std::string& what) {
  ZO_MPI_TRY(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN));
  int size = 1;
  ZO_MPI_TRY(MPI_Comm_size(comm, &size));
  unsigned long long mine = parameter_checksum(x, n);
  std::vector<unsigned long long> all(static_cast<std::size_t>(size));
  ZO_MPI_TRY(
      MPI_Allgather(&mine, 1, MPI_UNSIGNED_LONG_LONG, all.data(), 1, MPI_UNSIGNED_LONG_LONG, comm));
  std::string differ;
  for (int r = 1; r < size; ++r)
    if (all[static_cast<std::size_t>(r)] != all[0])
      differ += (differ.empty() ? "" : ", ") + std::to_string(r);
  if (!differ.empty())
    ZO_FAIL(MpiError, "the parameter copies diverged at " + what + ": rank(s) " + differ +
                          " differ from rank 0 (checksums of " + std::to_string(n) +
                          " parameters); a rank evaluated different data or points, or its "
                          "objective is not deterministic");
}

}  // namespace mpi
}  // namespace zo

// The paper's feature pipeline. Every output element is computed by one thread in a fixed order,
// so the result does not depend on the number of OpenMP threads.
#include "zo/feature_pipeline.hpp"

#include <cmath>
#include <string>

#include "core/data_keys.hpp"
#include "data/data_format.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace {

/// Calls visit(k, x_ik) for the stored (for CSR) or non-zero (for dense) features of row i.
template <class Visit>
void for_each_in_row(const BinaryDataset& data, std::size_t i, Visit&& visit) {
  if (const auto* csr = std::get_if<CsrMatrix>(&data.features)) {
    for (std::int64_t k = csr->row_offsets[i]; k < csr->row_offsets[i + 1]; ++k)
      visit(static_cast<std::size_t>(csr->col_indices[static_cast<std::size_t>(k)]),
            csr->values[static_cast<std::size_t>(k)]);
  } else {
    const auto& d = std::get<DenseMatrix>(data.features);
    const float* row = d.row(i);
    for (std::size_t k = 0; k < d.cols; ++k)
      if (row[k] != 0.0f) visit(k, row[k]);
  }
}

/// Column means and 1/std (population; 1 for constant columns) of the raw features, in double.
void column_statistics(const BinaryDataset& data, std::vector<double>* mean,
                       std::vector<double>* inv_std) {
  const std::size_t n = data.rows(), f = data.cols();
  std::vector<double> sum(f, 0.0), sum_sq(f, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for_each_in_row(data, i, [&](std::size_t k, float v) {
      sum[k] += v;
      sum_sq[k] += static_cast<double>(v) * v;
    });
  }
  mean->assign(f, 0.0);
  inv_std->assign(f, 1.0);
  for (std::size_t k = 0; k < f; ++k) {
    const double m = sum[k] / static_cast<double>(n);
    const double var = std::max(0.0, sum_sq[k] / static_cast<double>(n) - m * m);
    (*mean)[k] = m;
    (*inv_std)[k] = var > 0.0 ? 1.0 / std::sqrt(var) : 1.0;
  }
}

/// Means and 1/std of the columns of a dense matrix (two passes, double, parallel over columns).
void dense_column_statistics(const DenseMatrix& d, std::vector<double>* mean,
                             std::vector<double>* inv_std) {
  mean->assign(d.cols, 0.0);
  inv_std->assign(d.cols, 1.0);
  const auto cols = static_cast<std::int64_t>(d.cols);
#pragma omp parallel for schedule(static)
  for (std::int64_t j = 0; j < cols; ++j) {
    double s = 0.0;
    for (std::size_t i = 0; i < d.rows; ++i) s += d.row(i)[j];
    const double m = s / static_cast<double>(d.rows);
    double ss = 0.0;
    for (std::size_t i = 0; i < d.rows; ++i) {
      const double c = d.row(i)[j] - m;
      ss += c * c;
    }
    const double var = ss / static_cast<double>(d.rows);
    (*mean)[static_cast<std::size_t>(j)] = m;
    (*inv_std)[static_cast<std::size_t>(j)] = var > 0.0 ? 1.0 / std::sqrt(var) : 1.0;
  }
}

}  // namespace

FeaturePipeline::FeaturePipeline(const BinaryDataset& train, const PipelineSpec& spec)
    : spec_(spec), raw_dim_(train.cols()) {
  validate(train);
  ZO_EXPECTS(train.rows() >= 1, "feature pipeline: the training set is empty");
  ZO_EXPECTS(raw_dim_ >= 1, "feature pipeline: the training set has no features");
  ZO_EXPECTS(spec_.projection_dim < 0x7FFFFFFF,
             "feature pipeline: projection_dim must be below 2^31, got " +
                 std::to_string(spec_.projection_dim));
  {
    // Everything the fit allocates, before allocating any of it.
    const std::uint64_t n = train.rows(), f = raw_dim_, dim = spec_.projection_dim;
    std::uint64_t bytes = f / 8 + 1;  // seen_
    if (spec_.standardize) bytes = detail::add_bytes(bytes, saturating_bytes({f, 4, 8}));
    if (dim > 0) {
      bytes = detail::add_bytes(bytes, saturating_bytes({f, dim, sizeof(float)}));
      if (spec_.standardize) {
        bytes = detail::add_bytes(bytes, saturating_bytes({n, dim, sizeof(float)}));
        bytes = detail::add_bytes(bytes, saturating_bytes({dim, 3, 8}));
      }
    }
    check_memory(bytes, "the feature pipeline on " + detail::group_digits(n) + " samples x " +
                            detail::group_digits(f) + " raw features" +
                            (dim ? " (D = " + detail::group_digits(dim) + ")" : std::string()));
  }
  {
    std::vector<bool> seen(raw_dim_, false);
    std::size_t count = 0;
    for (std::size_t i = 0; i < train.rows(); ++i) {
      for_each_in_row(train, i, [&](std::size_t k, float v) {
        if (v != 0.0f && !seen[k]) {
          seen[k] = true;
          ++count;
        }
      });
    }
    all_seen_ = count == raw_dim_;
    if (!all_seen_) seen_ = std::move(seen);
  }
  if (spec_.standardize) column_statistics(train, &mean_, &inv_std_);
  if (spec_.projection_dim > 0) {
    projection_.resize(raw_dim_ * spec_.projection_dim);
    fill_direction(Distribution::gaussian, detail::data_key(spec_.seed, kDataSubstreamProjection),
                   projection_.size(), projection_.data());
    if (spec_.standardize) {
      const DenseMatrix z = project(train);
      dense_column_statistics(z, &mean2_, &inv_std2_);
    }
  }
}

std::size_t FeaturePipeline::output_dim() const {
  return (spec_.projection_dim > 0 ? spec_.projection_dim : raw_dim_) + (spec_.bias ? 1 : 0);
}

// z_i = Σ_k s_ik R_k with s_ik = (x_ik − μ_k)/σ_k, computed as Σ_{k: x_ik ≠ 0} x_ik R'_k − c
// where R'_k = R_k/σ_k and c = Σ_k μ_k R'_k: the cost is proportional to the stored entries.
DenseMatrix FeaturePipeline::project(const BinaryDataset& data) const {
  const std::size_t n = data.rows(), dim = spec_.projection_dim;
  std::vector<double> offset(dim, 0.0);
  if (spec_.standardize) {
    for (std::size_t k = 0; k < raw_dim_; ++k) {
      const double mk = mean_[k] * inv_std_[k];
      if (mk == 0.0) continue;
      const float* r = &projection_[k * dim];
      for (std::size_t j = 0; j < dim; ++j) offset[j] += mk * r[j];
    }
  }
  DenseMatrix z;
  z.rows = n;
  z.cols = dim;
  z.values.resize(n * dim);
  const auto rows = static_cast<std::int64_t>(n);
#pragma omp parallel
  {
    std::vector<double> acc(dim);
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < rows; ++i) {
      for (std::size_t j = 0; j < dim; ++j) acc[j] = -offset[j];
      for_each_in_row(data, static_cast<std::size_t>(i), [&](std::size_t k, float v) {
        if (!seen(k)) return;  // never in training: contributes nothing
        const double s = spec_.standardize ? static_cast<double>(v) * inv_std_[k] : v;
        const float* r = &projection_[k * dim];
        for (std::size_t j = 0; j < dim; ++j) acc[j] += s * r[j];
      });
      float* out = z.row(static_cast<std::size_t>(i));
      for (std::size_t j = 0; j < dim; ++j) out[j] = static_cast<float>(acc[j]);
    }
  }
  return z;
}

BinaryDataset FeaturePipeline::transform(const BinaryDataset& data) const {
  validate(data);
  ZO_EXPECTS(data.cols() == raw_dim_,
             "feature pipeline: the data has " + std::to_string(data.cols()) +
                 " features but the pipeline was fitted on " + std::to_string(raw_dim_));
  const std::size_t n = data.rows();
  const std::size_t bias = spec_.bias ? 1 : 0;
  BinaryDataset out;
  out.labels = data.labels;

  if (!spec_.standardize && spec_.projection_dim == 0) {
    // Only the bias: keep the storage format.
    if (const auto* csr = std::get_if<CsrMatrix>(&data.features)) {
      CsrMatrix m;
      m.rows = n;
      m.cols = raw_dim_ + bias;
      m.row_offsets.assign(n + 1, 0);
      m.col_indices.reserve(csr->nnz() + n * bias);
      m.values.reserve(csr->nnz() + n * bias);
      for (std::size_t i = 0; i < n; ++i) {
        if (bias) {
          m.col_indices.push_back(0);
          m.values.push_back(1.0f);
        }
        for (std::int64_t k = csr->row_offsets[i]; k < csr->row_offsets[i + 1]; ++k) {
          if (!seen(static_cast<std::size_t>(csr->col_indices[static_cast<std::size_t>(k)])))
            continue;
          m.col_indices.push_back(csr->col_indices[static_cast<std::size_t>(k)] +
                                  static_cast<std::int32_t>(bias));
          m.values.push_back(csr->values[static_cast<std::size_t>(k)]);
        }
        m.row_offsets[i + 1] = static_cast<std::int64_t>(m.values.size());
      }
      out.features = std::move(m);
      return out;
    }
  }

  const std::size_t body = spec_.projection_dim > 0 ? spec_.projection_dim : raw_dim_;
  check_memory(detail::add_bytes(saturating_bytes({n, body + bias, sizeof(float)}),
                                 saturating_bytes({n, spec_.projection_dim, sizeof(float)})),
               "the feature pipeline's output (" + detail::group_digits(n) + " x " +
                   detail::group_digits(body + bias) + " floats)");
  DenseMatrix result;
  result.rows = n;
  result.cols = body + bias;
  result.values.assign(n * result.cols, 0.0f);
  if (spec_.projection_dim > 0) {
    const DenseMatrix z = project(data);
    const auto rows = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < rows; ++i) {
      const float* zi = z.row(static_cast<std::size_t>(i));
      float* out_row = result.row(static_cast<std::size_t>(i));
      if (bias) out_row[0] = 1.0f;
      for (std::size_t j = 0; j < body; ++j) {
        out_row[bias + j] =
            spec_.standardize ? static_cast<float>((zi[j] - mean2_[j]) * inv_std2_[j]) : zi[j];
      }
    }
  } else {
    // Standardise only.
    const auto rows = static_cast<std::int64_t>(n);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < rows; ++i) {
      float* out_row = result.row(static_cast<std::size_t>(i));
      if (bias) out_row[0] = 1.0f;
      for (std::size_t k = 0; k < raw_dim_; ++k)
        out_row[bias + k] = static_cast<float>(-mean_[k] * inv_std_[k]);
      for_each_in_row(data, static_cast<std::size_t>(i), [&](std::size_t k, float v) {
        if (!seen(k)) return;  // never in training: stays 0
        out_row[bias + k] = static_cast<float>((v - mean_[k]) * inv_std_[k]);
      });
    }
  }
  out.features = std::move(result);
  return out;
}

TrainTestSplit apply_feature_pipeline(const TrainTestSplit& split, const PipelineSpec& spec) {
  const FeaturePipeline pipeline(split.train, spec);
  TrainTestSplit out;
  out.train = pipeline.transform(split.train);
  if (split.test.rows() > 0 || split.test.cols() > 0) out.test = pipeline.transform(split.test);
  return out;
}

}  // namespace zo

// Label mapping, the seeded synthetic generator and the paper's feature pipeline.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <numeric>
#include <vector>

#include "tolerance.hpp"
#include "zo/classification_data.hpp"
#include "zo/error.hpp"
#include "zo/feature_pipeline.hpp"

using zo_test::IsClose;

TEST(BinaryLabels, ThresholdRule) {
  EXPECT_EQ(zo::binary_labels({-1, 1, 0, 1, 2.5, -0.5}), (std::vector<float>{-1, 1, -1, 1, 1, -1}));
  EXPECT_EQ(zo::binary_labels({1, 2, 2, 1}, 1.5), (std::vector<float>{-1, 1, 1, -1}));
  zo::LibsvmData raw = zo::parse_libsvm("0 1:1\n1 2:1\n", "t");
  const zo::BinaryDataset d = zo::make_binary_dataset(std::move(raw));
  EXPECT_EQ(d.labels, (std::vector<float>{-1, 1}));
  EXPECT_TRUE(d.sparse());
  EXPECT_EQ(d.rows(), 2u);
  EXPECT_EQ(d.cols(), 2u);
}

TEST(Synthetic, SeededAndReproducible) {
  zo::SyntheticSpec spec;
  spec.train_rows = 300;
  spec.test_rows = 200;
  spec.features = 17;
  spec.density = 0.5;
  spec.seed = 9;
  const auto a = zo::make_synthetic_classification(spec);
  const auto b = zo::make_synthetic_classification(spec);
  const auto& ma = std::get<zo::CsrMatrix>(a.train.features);
  const auto& mb = std::get<zo::CsrMatrix>(b.train.features);
  EXPECT_EQ(ma.values, mb.values);
  EXPECT_EQ(ma.col_indices, mb.col_indices);
  EXPECT_EQ(a.test.labels, b.test.labels);
  zo::validate(a.train);
  zo::validate(a.test);
  EXPECT_EQ(a.train.rows(), 300u);
  EXPECT_EQ(a.test.rows(), 200u);
  EXPECT_EQ(a.test.cols(), 17u);
  spec.seed = 10;
  const auto c = zo::make_synthetic_classification(spec);
  EXPECT_NE(std::get<zo::CsrMatrix>(c.train.features).values, ma.values);
  // Same data for any thread count (the Philox streams are counter-based).
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  spec.seed = 9;
  const auto d = zo::make_synthetic_classification(spec);
  omp_set_num_threads(saved);
  EXPECT_EQ(std::get<zo::CsrMatrix>(d.train.features).values, ma.values);
}

// Statistics of the generator, each within 5 standard errors: density of the stored entries,
// mean/variance of the values, class balance, and the teacher's accuracy 1 − atan(σ)/π.
TEST(Synthetic, Statistics) {
  zo::SyntheticSpec spec;
  spec.train_rows = 4000;
  spec.test_rows = 0;
  spec.features = 50;
  spec.density = 0.3;
  spec.label_noise = 0.5;
  spec.seed = 4;
  const auto s = zo::make_synthetic_classification(spec);
  const auto& m = std::get<zo::CsrMatrix>(s.train.features);
  const double cells = 4000.0 * 50.0;
  const double density = m.nnz() / cells;
  EXPECT_NEAR(density, 0.3, 5 * std::sqrt(0.3 * 0.7 / cells));
  double sum = 0.0, sum_sq = 0.0;
  for (float v : m.values) {
    sum += v;
    sum_sq += double(v) * v;
  }
  const double k = static_cast<double>(m.nnz());
  EXPECT_NEAR(sum / k, 0.0, 5 * std::sqrt(1.0 / k));
  EXPECT_NEAR(sum_sq / k, 1.0, 5 * std::sqrt(2.0 / k));
  const double positive = std::count(s.train.labels.begin(), s.train.labels.end(), 1.0f) / 4000.0;
  EXPECT_NEAR(positive, 0.5, 5 * std::sqrt(0.25 / 4000));
  // The label noise flips the teacher's sign with probability atan(σ)/π (unit-variance score).
  spec.label_noise = 0.0;
  spec.density = 1.0;
  const auto clean = zo::make_synthetic_classification(spec);
  spec.label_noise = 0.5;
  const auto noisy = zo::make_synthetic_classification(spec);
  double flips = 0.0;
  for (std::size_t i = 0; i < 4000; ++i) flips += clean.train.labels[i] != noisy.train.labels[i];
  const double p = std::atan(0.5) / M_PI;
  EXPECT_NEAR(flips / 4000.0, p, 5 * std::sqrt(p * (1 - p) / 4000.0));
}

TEST(Synthetic, RejectsBadSpecs) {
  zo::SyntheticSpec spec;
  spec.density = 0.0;
  EXPECT_THROW(zo::make_synthetic_classification(spec), zo::InvalidArgument);
  spec.density = 1.0;
  spec.train_rows = 0;
  EXPECT_THROW(zo::make_synthetic_classification(spec), zo::InvalidArgument);
  spec.train_rows = 10;
  spec.label_noise = -1.0;
  EXPECT_THROW(zo::make_synthetic_classification(spec), zo::InvalidArgument);
}

namespace {

/// Column mean and population std of a dense matrix, in double.
void column_moments(const zo::DenseMatrix& m, std::size_t j, double* mean, double* std_dev) {
  double s = 0.0, ss = 0.0;
  for (std::size_t i = 0; i < m.rows; ++i) s += m.row(i)[j];
  *mean = s / m.rows;
  for (std::size_t i = 0; i < m.rows; ++i) ss += (m.row(i)[j] - *mean) * (m.row(i)[j] - *mean);
  *std_dev = std::sqrt(ss / m.rows);
}

zo::TrainTestSplit small_split() {
  zo::SyntheticSpec spec;
  spec.train_rows = 120;
  spec.test_rows = 50;
  spec.features = 9;
  spec.density = 0.4;
  spec.seed = 21;
  return zo::make_synthetic_classification(spec);
}

}  // namespace

// Standardise → project → standardise → bias, checked against a direct float64 computation
// with the same projection matrix (recovered by transforming unit vectors).
TEST(FeaturePipeline, PaperPipelineMatchesADirectComputation) {
  const auto raw = small_split();
  zo::PipelineSpec spec;
  spec.projection_dim = 31;
  spec.seed = 5;
  const zo::FeaturePipeline pipeline(raw.train, spec);
  EXPECT_EQ(pipeline.output_dim(), 32u);
  const auto out = pipeline.transform(raw.train);
  const auto& z = std::get<zo::DenseMatrix>(out.features);
  ASSERT_EQ(z.rows, 120u);
  ASSERT_EQ(z.cols, 32u);
  EXPECT_EQ(out.labels, raw.train.labels);
  for (std::size_t i = 0; i < z.rows; ++i) EXPECT_EQ(z.row(i)[0], 1.0f);  // bias column
  for (std::size_t j = 1; j < z.cols; ++j) {  // train columns standardised
    double mean, sd;
    column_moments(z, j, &mean, &sd);
    EXPECT_NEAR(mean, 0.0, 1e-5) << j;
    EXPECT_NEAR(sd, 1.0, 1e-5) << j;
  }
  // Direct computation: dense raw data, train statistics, R from a standardise-free,
  // bias-free pipeline with the same seed applied to unit rows.
  const zo::DenseMatrix x = zo::to_dense(std::get<zo::CsrMatrix>(raw.train.features));
  zo::PipelineSpec bare = spec;
  bare.standardize = false;
  bare.bias = false;
  zo::BinaryDataset unit;
  zo::DenseMatrix eye;
  eye.rows = eye.cols = 9;
  eye.values.assign(81, 0.0f);
  for (std::size_t k = 0; k < 9; ++k) eye.row(k)[k] = 1.0f;
  unit.features = eye;
  unit.labels.assign(9, 1.0f);
  const auto r =
      std::get<zo::DenseMatrix>(zo::FeaturePipeline(unit, bare).transform(unit).features);
  std::vector<double> mu(9), sigma(9);
  for (std::size_t k = 0; k < 9; ++k) column_moments(x, k, &mu[k], &sigma[k]);
  std::vector<double> proj(120 * 31, 0.0);
  for (std::size_t i = 0; i < 120; ++i)
    for (std::size_t j = 0; j < 31; ++j)
      for (std::size_t k = 0; k < 9; ++k)
        proj[i * 31 + j] += (x.row(i)[k] - mu[k]) / sigma[k] * r.row(k)[j];
  for (std::size_t j = 0; j < 31; ++j) {
    double s = 0.0, ss = 0.0;
    for (std::size_t i = 0; i < 120; ++i) s += proj[i * 31 + j];
    const double m = s / 120;
    for (std::size_t i = 0; i < 120; ++i) ss += (proj[i * 31 + j] - m) * (proj[i * 31 + j] - m);
    const double sd = std::sqrt(ss / 120);
    for (std::size_t i = 0; i < 120; ++i)
      EXPECT_TRUE(IsClose(z.row(i)[j + 1], (proj[i * 31 + j] - m) / sd, 1e-4, 1e-4))
          << i << "," << j;
  }
  // The test set uses the training statistics: its columns are not exactly standardised, and
  // the result is the same whether the input is sparse or dense.
  const auto test_out = pipeline.transform(raw.test);
  zo::BinaryDataset dense_test = raw.test;
  dense_test.features = zo::to_dense(std::get<zo::CsrMatrix>(raw.test.features));
  const auto test_dense_out = pipeline.transform(dense_test);
  const auto& t1 = std::get<zo::DenseMatrix>(test_out.features);
  const auto& t2 = std::get<zo::DenseMatrix>(test_dense_out.features);
  EXPECT_TRUE(zo_test::AllClose(t1.values.data(), t2.values.data(), t1.values.size(), 1e-6, 1e-6));
}

TEST(FeaturePipeline, ProjectionIsSeededAndThreadCountIndependent) {
  const auto raw = small_split();
  zo::PipelineSpec spec;
  spec.projection_dim = 40;
  spec.seed = 3;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto a = zo::apply_feature_pipeline(raw, spec);
  omp_set_num_threads(2);
  const auto b = zo::apply_feature_pipeline(raw, spec);
  omp_set_num_threads(saved);
  EXPECT_EQ(std::get<zo::DenseMatrix>(a.train.features).values,
            std::get<zo::DenseMatrix>(b.train.features).values);
  EXPECT_EQ(std::get<zo::DenseMatrix>(a.test.features).values,
            std::get<zo::DenseMatrix>(b.test.features).values);
  spec.seed = 4;
  const auto c = zo::apply_feature_pipeline(raw, spec);
  EXPECT_NE(std::get<zo::DenseMatrix>(a.train.features).values,
            std::get<zo::DenseMatrix>(c.train.features).values);
}

TEST(FeaturePipeline, PartialPipelines) {
  const auto raw = small_split();
  // Bias only: CSR stays CSR with column 0 = 1 and the other indices shifted by one.
  zo::PipelineSpec bias_only;
  bias_only.standardize = false;
  bias_only.projection_dim = 0;
  const auto b = zo::apply_feature_pipeline(raw, bias_only);
  ASSERT_TRUE(b.train.sparse());
  const auto& m = std::get<zo::CsrMatrix>(b.train.features);
  const auto& r = std::get<zo::CsrMatrix>(raw.train.features);
  EXPECT_EQ(m.cols, 10u);
  EXPECT_EQ(m.nnz(), r.nnz() + 120);
  EXPECT_EQ(m.col_indices[static_cast<std::size_t>(m.row_offsets[5])], 0);
  EXPECT_EQ(m.values[static_cast<std::size_t>(m.row_offsets[5])], 1.0f);
  zo::validate(m);
  // Standardise only: dense, standardised train columns, no projection.
  zo::PipelineSpec std_only;
  std_only.projection_dim = 0;
  std_only.bias = false;
  const auto s = zo::apply_feature_pipeline(raw, std_only);
  const auto& d = std::get<zo::DenseMatrix>(s.train.features);
  EXPECT_EQ(d.cols, 9u);
  for (std::size_t j = 0; j < 9; ++j) {
    double mean, sd;
    column_moments(d, j, &mean, &sd);
    EXPECT_NEAR(mean, 0.0, 1e-6);
    EXPECT_NEAR(sd, 1.0, 1e-5);
  }
  // A constant feature is centred, not scaled (no division by zero).
  zo::BinaryDataset constant;
  zo::DenseMatrix c;
  c.rows = 3;
  c.cols = 2;
  c.values = {2, 1, 2, 2, 2, 3};
  constant.features = c;
  constant.labels = {1, -1, 1};
  const auto cs = zo::FeaturePipeline(constant, std_only).transform(constant);
  const auto& cd = std::get<zo::DenseMatrix>(cs.features);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(cd.row(i)[0], 0.0f);
  // Mismatched feature counts are rejected.
  zo::BinaryDataset other = constant;
  EXPECT_THROW(zo::FeaturePipeline(raw.train, std_only).transform(other), zo::InvalidArgument);
}

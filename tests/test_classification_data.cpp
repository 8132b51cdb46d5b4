// Label mapping, the seeded synthetic generator and the paper's feature pipeline.
#include <gtest/gtest.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include "tolerance.hpp"
#include "zo/classification_data.hpp"
#include "zo/error.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/libsvm.hpp"

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

namespace {

/// The message of the exception of type E that `f` throws ("" if none).
template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

// The two-label rule: any two values; the larger is positive unless named; the mapping is
// described in one line; the classes are counted.
TEST(LabelMapping, TwoLabels) {
  const std::vector<double> raw{2, 4, 4, 2, 2};
  const zo::LabelMapping m = zo::two_label_mapping(raw, "a.svm");
  EXPECT_EQ(m.rule, zo::LabelMapping::Rule::two_labels);
  EXPECT_EQ(m.negative, 2.0);
  EXPECT_EQ(m.positive, 4.0);
  EXPECT_EQ(m.negative_count, 3u);
  EXPECT_EQ(m.positive_count, 2u);
  EXPECT_EQ(m.apply(raw, "a.svm"), (std::vector<float>{-1, 1, 1, -1, -1}));
  EXPECT_EQ(m.describe(), "2 -> negative, 4 -> positive (3 / 2 training samples)");
  // (The threshold rule would have made every sample positive.)
  EXPECT_EQ(zo::binary_labels(raw), (std::vector<float>{1, 1, 1, 1, 1}));
  std::vector<double> pm(4110, 1.0);
  pm.resize(4110 + 2304, -1.0);
  EXPECT_EQ(zo::two_label_mapping(pm, "x").describe(),
            "-1 -> negative, +1 -> positive (2,304 / 4,110 training samples)");
  const auto zero_one = zo::two_label_mapping({1, 0, -0.0}, "x");
  EXPECT_EQ(zero_one.describe(), "0 -> negative, 1 -> positive (2 / 1 training samples)");
  EXPECT_EQ(zero_one.apply({0, 1, -0.0}, "x"), (std::vector<float>{-1, 1, -1}));
}

TEST(LabelMapping, PositiveLabelNamesThePositiveClass) {
  const std::vector<double> raw{2, 4, 4, 2, 2};
  const zo::LabelMapping m = zo::two_label_mapping(raw, "a.svm", 2.0);
  EXPECT_EQ(m.positive, 2.0);
  EXPECT_EQ(m.negative, 4.0);
  EXPECT_EQ(m.positive_count, 3u);
  EXPECT_EQ(m.apply(raw, "a.svm"), (std::vector<float>{1, -1, -1, 1, 1}));
  EXPECT_EQ(m.describe(), "4 -> negative, 2 -> positive (2 / 3 training samples)");
  EXPECT_EQ(zo::two_label_mapping(raw, "a.svm", 4.0).positive, 4.0);
  const std::string msg =
      message_of<zo::InvalidArgument>([&] { zo::two_label_mapping(raw, "a.svm", 3.0); });
  EXPECT_TRUE(contains(msg, "the positive label 3 is not a label of a.svm")) << msg;
  EXPECT_TRUE(contains(msg, "2 (3 samples), 4 (2 samples)")) << msg;
}

// One class, or more than two, is an error that lists the labels found with their counts (at
// most 10, then how many more).
TEST(LabelMapping, OneOrThreeClassesAreErrorsListingTheLabels) {
  std::string msg = message_of<zo::DataError>([] { zo::two_label_mapping({1, 1, 1}, "one.svm"); });
  EXPECT_EQ(msg,
            "one.svm: binary classification needs exactly two distinct labels, found 1: "
            "1 (3 samples)");
  msg = message_of<zo::DataError>([] { zo::two_label_mapping({3, -1, 2, 3}, "three.svm"); });
  EXPECT_EQ(msg,
            "three.svm: binary classification needs exactly two distinct labels, found 3: "
            "-1 (1 sample), +2 (1 sample), +3 (2 samples)");
  std::vector<double> many;
  for (int v = 1; v <= 12; ++v) many.push_back(v);
  msg = message_of<zo::DataError>([&] { zo::two_label_mapping(many, "many.svm"); });
  EXPECT_TRUE(contains(msg, "found 12: 1 (1 sample), 2 (1 sample)")) << msg;
  EXPECT_TRUE(contains(msg, "10 (1 sample) and 2 more")) << msg;
  EXPECT_FALSE(contains(msg, "11 (")) << msg;
  msg = message_of<zo::DataError>([] { zo::two_label_mapping({}, "empty.svm"); });
  EXPECT_TRUE(contains(msg, "found none")) << msg;
}

// A test label that is not one of the two training labels is an error naming the test file.
TEST(LabelMapping, ForeignTestLabelsAreErrors) {
  const zo::LabelMapping m = zo::two_label_mapping({-1, 1}, "a.svm");
  const std::string msg = message_of<zo::DataError>([&] { m.apply({1, 5, -1, 5, 0}, "a.svm.t"); });
  EXPECT_EQ(msg,
            "a.svm.t: 3 samples have labels that the training set does not have: "
            "0 (1 sample), 5 (2 samples) (training labels: -1, +1)");
}

// --label-threshold keeps the old rule when asked for, but a one-class training set is refused.
TEST(LabelMapping, ThresholdRule) {
  const zo::LabelMapping m = zo::threshold_label_mapping({1, 2, 3, 2}, "a.svm", 1.5);
  EXPECT_EQ(m.apply({1, 2, 3, 7, -4}, "a.svm.t"), (std::vector<float>{-1, 1, 1, 1, -1}));
  EXPECT_EQ(m.describe(), "<= 1.5 -> negative, > 1.5 -> positive (1 / 3 training samples)");
  const std::string msg = message_of<zo::DataError>([] {
    zo::threshold_label_mapping({2, 4}, "b.svm", 0.0);
  });
  EXPECT_TRUE(contains(msg, "b.svm: with the label threshold 0 every sample is positive")) << msg;
  EXPECT_TRUE(contains(msg, "labels found: 2 (1 sample), 4 (1 sample)")) << msg;
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

// Scaling statistics come from the training set only: a test value is standardised with the
// training mean and deviation, and a test set's rows do not depend on the other test rows.
TEST(FeaturePipeline, StatisticsComeFromTheTrainingSetOnly) {
  zo::BinaryDataset train;
  zo::DenseMatrix x;
  x.rows = 4;
  x.cols = 2;
  x.values = {1, 5, 2, 6, 3, 7, 4, 9};  // column 0: mean 2.5, sd √1.25; column 1: mean 6.75
  train.features = x;
  train.labels = {1, -1, 1, -1};
  zo::PipelineSpec std_only;
  std_only.projection_dim = 0;
  std_only.bias = false;
  const zo::FeaturePipeline pipeline(train, std_only);
  zo::BinaryDataset test;
  zo::DenseMatrix t;
  t.rows = 2;
  t.cols = 2;
  t.values = {10, 0, 2.5f, 6.75f};
  test.features = t;
  test.labels = {1, -1};
  const auto out = std::get<zo::DenseMatrix>(pipeline.transform(test).features);
  const double sd0 = std::sqrt(1.25),
               sd1 = std::sqrt((1.75 * 1.75 + 0.75 * 0.75 + 0.25 * 0.25 + 2.25 * 2.25) / 4);
  EXPECT_TRUE(IsClose(out.row(0)[0], (10 - 2.5) / sd0, 1e-6, 1e-6));
  EXPECT_TRUE(IsClose(out.row(0)[1], (0 - 6.75) / sd1, 1e-6, 1e-6));
  EXPECT_TRUE(IsClose(out.row(1)[0], 0.0, 0, 1e-6));
  EXPECT_TRUE(IsClose(out.row(1)[1], 0.0, 0, 1e-6));
  // More (and wilder) test rows change nothing for the first two.
  zo::BinaryDataset bigger = test;
  auto& b = std::get<zo::DenseMatrix>(bigger.features);
  b.rows = 4;
  b.values.insert(b.values.end(), {1000, -1000, 1e6f, 3});
  bigger.labels = {1, -1, 1, 1};
  const auto out2 = std::get<zo::DenseMatrix>(pipeline.transform(bigger).features);
  EXPECT_EQ(std::vector<float>(out2.values.begin(), out2.values.begin() + 4), out.values);
  // And the paper pipeline: the test rows' projected, standardised features too.
  zo::PipelineSpec paper;
  paper.projection_dim = 8;
  const zo::FeaturePipeline p2(train, paper);
  const auto a = std::get<zo::DenseMatrix>(p2.transform(test).features);
  const auto c = std::get<zo::DenseMatrix>(p2.transform(bigger).features);
  EXPECT_EQ(std::vector<float>(c.values.begin(), c.values.begin() + a.values.size()), a.values);
}

// A raw feature without a non-zero training value contributes nothing to any transformed set, in
// every configuration (before, its test values passed through unscaled).
TEST(FeaturePipeline, FeaturesNeverSeenInTrainingContributeNothing) {
  zo::BinaryDataset train;
  zo::CsrMatrix m;  // 3 columns; column 1 holds only an explicit zero
  m.rows = 4;
  m.cols = 3;
  m.row_offsets = {0, 2, 3, 5, 6};
  m.col_indices = {0, 2, 0, 1, 2, 0};
  m.values = {1, 2, -1, 0, 3, 0.5f};
  train.features = m;
  train.labels = {1, -1, 1, -1};
  zo::BinaryDataset clean, noisy;
  zo::CsrMatrix t;
  t.rows = 2;
  t.cols = 3;
  t.row_offsets = {0, 1, 2};
  t.col_indices = {0, 2};
  t.values = {2, -1};
  clean.features = t;
  clean.labels = {1, -1};
  t.row_offsets = {0, 2, 4};
  t.col_indices = {0, 1, 1, 2};
  t.values = {2, 1000, -50, -1};
  noisy.features = t;
  noisy.labels = {1, -1};
  for (const auto& [standardize, dim] :
       std::vector<std::pair<bool, std::size_t>>{{true, 0}, {true, 7}, {false, 7}, {false, 0}}) {
    zo::PipelineSpec spec;
    spec.standardize = standardize;
    spec.projection_dim = dim;
    const zo::FeaturePipeline pipeline(train, spec);
    const auto a = pipeline.transform(clean), b = pipeline.transform(noisy);
    if (a.sparse()) {
      const auto& ma = std::get<zo::CsrMatrix>(a.features);
      const auto& mb = std::get<zo::CsrMatrix>(b.features);
      EXPECT_EQ(ma.values, mb.values);
      EXPECT_EQ(ma.col_indices, mb.col_indices);
    } else {
      EXPECT_EQ(std::get<zo::DenseMatrix>(a.features).values,
                std::get<zo::DenseMatrix>(b.features).values)
          << "standardize " << standardize << ", D " << dim;
    }
  }
}

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = testing::TempDir() + "/zo_pair_" + name;
  std::ofstream(path) << text;
  return path;
}

const char* const kTrain =
    "+1 1:1 2:0.5 4:2\n-1 1:-1 2:1.5 4:0.25\n+1 1:2 2:-0.5 4:1\n-1 1:0.5 2:2 4:-1\n"
    "+1 1:1.5 3:0 4:3\n-1 1:-0.5 2:1 4:-2\n";  // feature 3 only as an explicit zero
const char* const kTestClean = "+1 1:1 2:1 4:1\n-1 1:-1 2:2 4:-1\n+1 1:2 4:2\n-1 2:3 4:-2\n";
// The same samples with features the training file never has: 3 (inside its width), 5 and 10^8
// (beyond it).
const char* const kTestNoisy =
    "+1 1:1 2:1 3:50 4:1\n-1 1:-1 2:2 4:-1 5:7\n+1 1:2 4:2 100000000:9\n-1 2:3 3:-20 4:-2\n";

/// Fraction of rows of `d` (dense) with sign(φᵀx) = label.
double accuracy(const zo::BinaryDataset& d, const std::vector<float>& x) {
  const auto& m = std::get<zo::DenseMatrix>(d.features);
  std::size_t right = 0;
  for (std::size_t i = 0; i < m.rows; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < m.cols; ++j) s += double(m.row(i)[j]) * x[j];
    right += (s >= 0.0 ? 1.0f : -1.0f) == d.labels[i];
  }
  return double(right) / m.rows;
}

}  // namespace

// A LIBSVM pair: the test file is read into the training feature space. Features that never
// occur in training (beyond the training width, or a column without a non-zero training value)
// are dropped and counted, so the transformed test set, and any model's accuracy on it, is the
// same as without them; an index of 10^8 in the test file costs nothing.
TEST(LibsvmPair, TestFeaturesNeverSeenInTrainingAreIgnoredAndCounted) {
  const std::string train = write_temp("a.svm", kTrain);
  const std::string clean = write_temp("clean.svm.t", kTestClean);
  const std::string noisy = write_temp("noisy.svm.t", kTestNoisy);
  const zo::LibsvmPair a = zo::read_libsvm_pair(train, clean);
  const auto start = std::chrono::steady_clock::now();
  const zo::LibsvmPair b = zo::read_libsvm_pair(train, noisy);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);  // widening to 10^8 columns took 71 s and 5.6 GB in the pipeline
  ASSERT_TRUE(b.has_test);
  EXPECT_EQ(b.split.train.cols(), 4u);
  EXPECT_EQ(b.split.test.cols(), 4u);  // the training width, not 10^8
  EXPECT_EQ(a.unseen.features, 0u);
  EXPECT_EQ(a.unseen.entries, 0u);
  EXPECT_EQ(b.unseen.features, 3u);  // 3, 5 and 10^8
  EXPECT_EQ(b.unseen.entries, 4u);
  const auto& ta = std::get<zo::CsrMatrix>(a.split.test.features);
  const auto& tb = std::get<zo::CsrMatrix>(b.split.test.features);
  EXPECT_EQ(ta.row_offsets, tb.row_offsets);
  EXPECT_EQ(ta.col_indices, tb.col_indices);
  EXPECT_EQ(ta.values, tb.values);
  EXPECT_EQ(b.split.test.labels, (std::vector<float>{1, -1, 1, -1}));
  EXPECT_EQ(b.labels.describe(), "-1 -> negative, +1 -> positive (3 / 3 training samples)");
  // Through the paper's pipeline: identical test features, so identical accuracy of any model.
  zo::PipelineSpec spec;
  spec.projection_dim = 16;
  const auto pa = zo::apply_feature_pipeline(a.split, spec);
  const auto pb = zo::apply_feature_pipeline(b.split, spec);
  EXPECT_EQ(std::get<zo::DenseMatrix>(pa.test.features).values,
            std::get<zo::DenseMatrix>(pb.test.features).values);
  std::vector<float> x(17);
  for (std::size_t j = 0; j < x.size(); ++j) x[j] = std::sin(1.0f + 3.0f * j);
  EXPECT_EQ(accuracy(pa.test, x), accuracy(pb.test, x));
  std::remove(train.c_str());
  std::remove(clean.c_str());
  std::remove(noisy.c_str());
}

// Labels through a pair: {2, 4} become {negative, positive}; --positive-label; one class, three
// classes and foreign test labels are errors naming the file and listing the labels.
TEST(LibsvmPair, Labels) {
  const std::string train = write_temp("b.svm", "2 1:1\n4 1:2\n4 2:1\n2 2:3\n");
  const std::string test = write_temp("b.svm.t", "4 1:1\n2 2:1\n");
  zo::LibsvmPair p = zo::read_libsvm_pair(train, test);
  EXPECT_EQ(p.split.train.labels, (std::vector<float>{-1, 1, 1, -1}));
  EXPECT_EQ(p.split.test.labels, (std::vector<float>{1, -1}));
  EXPECT_EQ(p.labels.describe(), "2 -> negative, 4 -> positive (2 / 2 training samples)");
  zo::LibsvmPairOptions o;
  o.positive_label = 2.0;
  p = zo::read_libsvm_pair(train, test, o);
  EXPECT_EQ(p.split.train.labels, (std::vector<float>{1, -1, -1, 1}));
  EXPECT_EQ(p.split.test.labels, (std::vector<float>{-1, 1}));
  o.positive_label = 3.0;
  EXPECT_THROW(zo::read_libsvm_pair(train, test, o), zo::InvalidArgument);
  o.positive_label.reset();
  o.label_threshold = 3.0;  // the old rule, when asked for
  p = zo::read_libsvm_pair(train, test, o);
  EXPECT_EQ(p.split.train.labels, (std::vector<float>{-1, 1, 1, -1}));

  const std::string one = write_temp("one.svm", "1 1:1\n1 1:2\n");
  std::string msg = message_of<zo::DataError>([&] { zo::read_libsvm_pair(one, ""); });
  EXPECT_TRUE(contains(msg, one + ": binary classification needs exactly two distinct labels, "
                                  "found 1: 1 (2 samples)"))
      << msg;
  const std::string three = write_temp("three.svm", "1 1:1\n2 1:2\n3 1:1\n3 1:2\n");
  msg = message_of<zo::DataError>([&] { zo::read_libsvm_pair(three, ""); });
  EXPECT_TRUE(contains(msg, "found 3: 1 (1 sample), 2 (1 sample), 3 (2 samples)")) << msg;
  const std::string foreign = write_temp("foreign.svm.t", "4 1:1\n7 1:1\n");
  msg = message_of<zo::DataError>([&] { zo::read_libsvm_pair(train, foreign); });
  EXPECT_TRUE(contains(msg, foreign + ": 1 sample has a label that the training set does not "
                                      "have: 7 (1 sample) (training labels: 2, 4)"))
      << msg;
  for (const auto& path : {train, test, one, three, foreign}) std::remove(path.c_str());
}

// Sizes beyond the available memory are a DataError naming the bytes, raised before allocating
// (a training width of 2^31 − 2 used to end in std::bad_alloc).
TEST(Memory, OversizedDataIsAClearErrorBeforeAllocating) {
  EXPECT_EQ(zo::saturating_bytes({3, 5, 4}), 60u);
  EXPECT_EQ(zo::saturating_bytes({std::uint64_t{1} << 40, std::uint64_t{1} << 40, 4}), UINT64_MAX);
  EXPECT_EQ(zo::saturating_bytes({0, UINT64_MAX}), 0u);
  if (zo::available_memory_bytes() == 0) GTEST_SKIP() << "available memory unknown here";
  EXPECT_NO_THROW(zo::check_memory(1024, "a little"));
  std::string msg = message_of<zo::DataError>([] { zo::check_memory(UINT64_MAX, "everything"); });
  EXPECT_TRUE(contains(msg, "everything needs more than 2^64 bytes but only ")) << msg;
  EXPECT_TRUE(contains(msg, " of memory are available")) << msg;

  zo::BinaryDataset wide;  // 100,000 samples x (2^31 - 2) raw features, no entries stored
  zo::CsrMatrix m;
  m.rows = 100000;
  m.cols = zo::max_libsvm_index;
  m.row_offsets.assign(m.rows + 1, 0);
  wide.features = m;
  wide.labels.assign(m.rows, 1.0f);
  zo::PipelineSpec paper;  // D = 10,000: a 2^31 x 10^4 projection matrix, 86 TB
  msg = message_of<zo::DataError>([&] { zo::FeaturePipeline(wide, paper); });
  EXPECT_TRUE(contains(msg,
                       "the feature pipeline on 100,000 samples x 2,147,483,646 raw "
                       "features (D = 10,000) needs 85,"))
      << msg;
  EXPECT_TRUE(contains(msg, " bytes (")) << msg;
  msg = message_of<zo::DataError>([&] { zo::to_dense(m); });
  EXPECT_TRUE(contains(msg, "a dense 100,000 x 2,147,483,646 matrix of floats needs 858,993,"))
      << msg;
}

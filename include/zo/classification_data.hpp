// Binary classification data sets: features, labels in {−1, +1}, label mapping from LIBSVM
// files, and a seeded synthetic generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "zo/export.hpp"
#include "zo/feature_matrix.hpp"
#include "zo/libsvm.hpp"

namespace zo {

/// A binary classification data set: one row of features per sample (dense or CSR) and its label
/// b_i ∈ {−1, +1}. Losses map the labels as they need ({0, 1} for the logistic loss).
struct BinaryDataset {
  std::variant<DenseMatrix, CsrMatrix> features;
  std::vector<float> labels;

  /// Number of samples.
  std::size_t rows() const {
    return std::visit([](const auto& m) { return m.rows; }, features);
  }
  /// Number of features.
  std::size_t cols() const {
    return std::visit([](const auto& m) { return m.cols; }, features);
  }
  /// True when the features are stored in CSR form.
  bool sparse() const { return std::holds_alternative<CsrMatrix>(features); }
};

/// Checks sizes, finite features and labels in {−1, +1}; throws zo::InvalidArgument naming the
/// first violation.
ZO_API void validate(const BinaryDataset& data);

/// Maps raw labels to {−1, +1}: +1 when label > threshold, −1 otherwise. With the default
/// threshold 0 this maps {−1, +1} and {0, 1} to the classes as written, and real-valued labels by
/// their sign (the rule of the paper's code). For other two-valued label sets pick a threshold
/// between the two values (e.g. 1.5 for {1, 2}).
ZO_API std::vector<float> binary_labels(const std::vector<double>& raw, double threshold = 0.0);

/// A BinaryDataset from a LIBSVM file's contents (features moved, labels mapped as above).
ZO_API BinaryDataset make_binary_dataset(LibsvmData data, double threshold = 0.0);

/// A training set and the set its model is tested on.
struct TrainTestSplit {
  BinaryDataset train;
  BinaryDataset test;
};

/// Parameters of the synthetic binary classification problem (see make_synthetic_classification).
struct SyntheticSpec {
  std::size_t train_rows = 1000;  ///< samples in the training set
  std::size_t test_rows = 1000;   ///< held-out samples
  std::size_t features = 100;     ///< raw features per sample
  double density = 1.0;           ///< probability that a feature is present (0 < density ≤ 1)
  double label_noise = 0.5;       ///< σ of the Gaussian noise added to the teacher's score
  std::uint64_t seed = 0;
};

/// A seeded synthetic problem with a linear teacher: w* ~ N(0, I); each feature of each sample is
/// present with probability `density` and then N(0, 1); the label is the sign of
/// w*ᵀφ / (‖w*‖·√density) + σ·ε with ε ~ N(0, 1). The noiseless score has unit variance, so σ
/// alone sets the accuracy of the best linear classifier: 1 − atan(σ)/π for dense data (0.85 for
/// σ = 0.5). The first train_rows samples form the training set, the rest the held-out test set.
/// Features are returned in CSR form. All randomness comes from zo's counter-based Philox
/// substreams (key = seed; zo/substreams.hpp), so the data is identical on every machine and for
/// any thread count.
ZO_API TrainTestSplit make_synthetic_classification(const SyntheticSpec& spec);

}  // namespace zo

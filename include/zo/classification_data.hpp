// Binary classification data sets: features, labels in {−1, +1}, label mapping from LIBSVM
// files, a LIBSVM train/test pair read into one feature space, and a seeded synthetic generator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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

/// The threshold rule: +1 when label > threshold, −1 otherwise, for any labels (real-valued ones
/// by their sign with the default 0, the rule of the paper's code). It never complains, so it can
/// hide a wrong label set ({2, 4} all positive): files go through LabelMapping instead.
ZO_API std::vector<float> binary_labels(const std::vector<double>& raw, double threshold = 0.0);

/// A BinaryDataset from a LIBSVM file's contents (features moved, labels by the threshold rule).
ZO_API BinaryDataset make_binary_dataset(LibsvmData data, double threshold = 0.0);

/// How the raw labels of a file become the classes −1 (negative) and +1 (positive).
struct ZO_API LabelMapping {
  enum class Rule {
    two_labels,  ///< exactly two distinct labels: `negative` → −1, `positive` → +1, others refused
    threshold,  ///< label > `threshold` → +1, else −1 (binary_labels())
  };
  Rule rule = Rule::two_labels;
  double negative = -1.0;          ///< two_labels: the raw label of the negative class
  double positive = 1.0;           ///< two_labels: the raw label of the positive class
  double threshold = 0.0;          ///< threshold: the threshold
  std::size_t negative_count = 0;  ///< samples of the set the mapping was made on, per class
  std::size_t positive_count = 0;

  /// The classes of `raw` (−1/+1). Two-label rule: a label that is neither `negative` nor
  /// `positive` is a zo::DataError naming `source` and listing the foreign labels with counts.
  std::vector<float> apply(const std::vector<double>& raw, const std::string& source) const;

  /// One line: "-1 -> negative, +1 -> positive (2,304 / 4,110 training samples)" or
  /// "<= 0 -> negative, > 0 -> positive (...)".
  std::string describe() const;
};

/// The two-label rule on the labels of a training set: exactly two distinct values; `positive`
/// names the positive one (default: the larger). Throws zo::DataError naming `source` when there
/// is one label or more than two (listing them in increasing order with their sample counts, at
/// most 10 and "... and N more"), and zo::InvalidArgument when `positive` is not one of the two.
ZO_API LabelMapping two_label_mapping(const std::vector<double>& raw, const std::string& source,
                                      std::optional<double> positive = std::nullopt);

/// The threshold rule on the labels of a training set; throws zo::DataError naming `source` (and
/// listing the labels) when every sample falls in the same class.
ZO_API LabelMapping threshold_label_mapping(const std::vector<double>& raw,
                                            const std::string& source, double threshold);

/// The distinct labels of `raw` in increasing order with their counts, as
/// "2 (3 samples), 4 (1 sample)"; at most `max_listed`, then "and N more".
ZO_API std::string describe_labels(const std::vector<double>& raw, std::size_t max_listed = 10);

/// What drop_unseen_features() removed from a test set.
struct UnseenFeatures {
  std::size_t features = 0;  ///< distinct feature indices with a non-zero value
  std::size_t entries = 0;   ///< stored entries removed (explicit zeros included)
};

/// Removes from `test` every entry whose column holds no non-zero value in `train` (same number
/// of columns): a feature never seen in training has no statistics and no trained weight, so it
/// contributes nothing. Throws zo::InvalidArgument when the column counts differ.
ZO_API UnseenFeatures drop_unseen_features(const CsrMatrix& train, CsrMatrix& test);

/// A training set and the set its model is tested on.
struct TrainTestSplit {
  BinaryDataset train;
  BinaryDataset test;
};

/// Options of read_libsvm_pair().
struct LibsvmPairOptions {
  /// 0: the training file's largest index sets the feature space. Otherwise the feature count of
  /// both files (an index above it is an error in either file).
  std::size_t num_features = 0;
  /// Two-label rule (the default): the positive label (default: the larger of the two).
  std::optional<double> positive_label;
  /// When set: the threshold rule (label > threshold → +1) instead of the two-label rule.
  std::optional<double> label_threshold;
};

/// A LIBSVM training file and its test file in the training set's feature space.
struct LibsvmPair {
  TrainTestSplit split;   ///< CSR features, labels −1/+1; test empty without a test file
  LabelMapping labels;    ///< made on the training labels, applied to both files
  UnseenFeatures unseen;  ///< test features that never occur (non-zero) in training: dropped
  bool has_test = false;
};

/// Reads a training file and (unless `test_path` is empty) its test file. The training file sets
/// the feature space: the test file is read with that many columns, an index beyond it is dropped
/// (so memory follows the training width, not the test file's largest index), and so is a column
/// that has no non-zero value in training; `unseen` counts both. Labels: the two-label rule (or
/// the threshold rule when options.label_threshold is set) fitted on the training labels; a test
/// label that is not one of the two training labels is an error. Throws zo::DataError naming the
/// file (file:line:column for malformed text) and zo::InvalidArgument for a positive label that
/// is not a training label. A file without samples is a DataError.
ZO_API LibsvmPair read_libsvm_pair(const std::string& train_path, const std::string& test_path,
                                   const LibsvmPairOptions& options = {});

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

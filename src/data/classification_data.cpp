#include "zo/classification_data.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "core/data_keys.hpp"
#include "data/data_format.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/libsvm.hpp"

namespace zo {

void validate(const BinaryDataset& data) {
  if (const auto* csr = std::get_if<CsrMatrix>(&data.features)) {
    validate(*csr);
  } else {
    const auto& d = std::get<DenseMatrix>(data.features);
    ZO_EXPECTS(d.values.size() == d.rows * d.cols,
               "dense features: " + std::to_string(d.values.size()) + " values for " +
                   std::to_string(d.rows) + " x " + std::to_string(d.cols));
    for (std::size_t k = 0; k < d.values.size(); ++k)
      ZO_EXPECTS(std::isfinite(d.values[k]),
                 "dense features: value in row " + std::to_string(k / d.cols) + " is not finite");
  }
  ZO_EXPECTS(data.labels.size() == data.rows(), std::to_string(data.labels.size()) +
                                                    " labels for " + std::to_string(data.rows()) +
                                                    " rows of features");
  for (std::size_t i = 0; i < data.labels.size(); ++i)
    ZO_EXPECTS(data.labels[i] == 1.0f || data.labels[i] == -1.0f,
               "label " + std::to_string(i) + " is " + std::to_string(data.labels[i]) +
                   " (binary labels must be -1 or +1; see zo::binary_labels)");
}

std::vector<float> binary_labels(const std::vector<double>& raw, double threshold) {
  ZO_EXPECTS(std::isfinite(threshold), "binary_labels: the threshold must be finite");
  std::vector<float> out(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) out[i] = raw[i] > threshold ? 1.0f : -1.0f;
  return out;
}

BinaryDataset make_binary_dataset(LibsvmData data, double threshold) {
  BinaryDataset out;
  out.labels = binary_labels(data.labels, threshold);
  out.features = std::move(data.features);
  return out;
}

namespace {

/// The distinct values of `raw` in increasing order with their counts.
std::vector<std::pair<double, std::size_t>> label_counts(const std::vector<double>& raw) {
  std::vector<std::pair<double, std::size_t>> out;
  // Fast path: at most two distinct values (the usual case) need no sort.
  for (const double v : raw) {
    auto it = std::find_if(out.begin(), out.end(), [v](const auto& e) { return e.first == v; });
    if (it != out.end()) {
      ++it->second;
    } else if (out.size() < 2) {
      out.push_back({v, 1});
    } else {
      out.clear();
      break;
    }
  }
  if (out.empty() && !raw.empty()) {
    std::vector<double> sorted = raw;
    std::sort(sorted.begin(), sorted.end());
    for (const double v : sorted) {
      if (!out.empty() && out.back().first == v) {
        ++out.back().second;
      } else {
        out.push_back({v, 1});
      }
    }
  }
  std::sort(out.begin(), out.end());
  for (auto& e : out)
    if (e.first == 0.0) e.first = 0.0;  // -0 and 0 are one label, written "0"
  return out;
}

std::string list_labels(const std::vector<std::pair<double, std::size_t>>& counts,
                        std::size_t max_listed) {
  const bool signed_set = !counts.empty() && counts.front().first < 0.0;
  std::string out;
  for (std::size_t i = 0; i < counts.size() && i < max_listed; ++i) {
    if (i) out += ", ";
    out += detail::format_label(counts[i].first, signed_set) + " (" +
           detail::group_digits(counts[i].second) +
           (counts[i].second == 1 ? " sample)" : " samples)");
  }
  if (counts.size() > max_listed)
    out += " and " + detail::group_digits(counts.size() - max_listed) + " more";
  return out;
}

}  // namespace

std::string describe_labels(const std::vector<double>& raw, std::size_t max_listed) {
  return list_labels(label_counts(raw), max_listed);
}

LabelMapping two_label_mapping(const std::vector<double>& raw, const std::string& source,
                               std::optional<double> positive) {
  const auto counts = label_counts(raw);
  if (counts.size() != 2) {
    throw DataError(source + ": binary classification needs exactly two distinct labels, found " +
                    (counts.empty()
                         ? std::string("none (no samples)")
                         : std::to_string(counts.size()) + ": " + list_labels(counts, 10)));
  }
  LabelMapping m;
  m.rule = LabelMapping::Rule::two_labels;
  m.negative = counts[0].first;
  m.positive = counts[1].first;
  m.negative_count = counts[0].second;
  m.positive_count = counts[1].second;
  if (positive) {
    const bool signed_set = m.negative < 0.0;
    ZO_EXPECTS(std::isfinite(*positive),
               "the positive label must be a finite number, got " + std::to_string(*positive));
    if (*positive == m.negative) {
      std::swap(m.negative, m.positive);
      std::swap(m.negative_count, m.positive_count);
    } else if (*positive != m.positive) {
      throw InvalidArgument("the positive label " + detail::format_label(*positive, signed_set) +
                            " is not a label of " + source +
                            " (labels: " + list_labels(counts, 10) + ")");
    }
  }
  return m;
}

LabelMapping threshold_label_mapping(const std::vector<double>& raw, const std::string& source,
                                     double threshold) {
  ZO_EXPECTS(std::isfinite(threshold), "the label threshold must be finite");
  LabelMapping m;
  m.rule = LabelMapping::Rule::threshold;
  m.threshold = threshold;
  for (const double v : raw) ++(v > threshold ? m.positive_count : m.negative_count);
  if (m.positive_count == 0 || m.negative_count == 0) {
    throw DataError(source + ": with the label threshold " +
                    detail::format_label(threshold, false) + " every sample is " +
                    (m.positive_count == 0 ? "negative" : "positive") +
                    " (binary classification needs both classes); labels found: " +
                    (raw.empty() ? std::string("none (no samples)") : describe_labels(raw)));
  }
  return m;
}

std::vector<float> LabelMapping::apply(const std::vector<double>& raw,
                                       const std::string& source) const {
  if (rule == Rule::threshold) return binary_labels(raw, threshold);
  std::vector<float> out(raw.size());
  std::vector<double> foreign;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == positive) {
      out[i] = 1.0f;
    } else if (raw[i] == negative) {
      out[i] = -1.0f;
    } else {
      foreign.push_back(raw[i]);
    }
  }
  if (!foreign.empty()) {
    const bool signed_set = std::min(negative, positive) < 0.0;
    throw DataError(source + ": " + detail::group_digits(foreign.size()) +
                    (foreign.size() == 1 ? " sample has a label" : " samples have labels") +
                    " that the training set does not have: " + describe_labels(foreign) +
                    " (training labels: " + detail::format_label(negative, signed_set) + ", " +
                    detail::format_label(positive, signed_set) + ")");
  }
  return out;
}

std::string LabelMapping::describe() const {
  const std::string counts = " (" + detail::group_digits(negative_count) + " / " +
                             detail::group_digits(positive_count) + " training samples)";
  if (rule == Rule::threshold) {
    const std::string t = detail::format_label(threshold, false);
    return "<= " + t + " -> negative, > " + t + " -> positive" + counts;
  }
  const bool signed_set = std::min(negative, positive) < 0.0;
  return detail::format_label(negative, signed_set) + " -> negative, " +
         detail::format_label(positive, signed_set) + " -> positive" + counts;
}

UnseenFeatures drop_unseen_features(const CsrMatrix& train, CsrMatrix& test) {
  ZO_EXPECTS(train.cols == test.cols,
             "drop_unseen_features: the test set has " + std::to_string(test.cols) +
                 " columns, the training set " + std::to_string(train.cols));
  const detail::ColumnSet seen(train);
  UnseenFeatures out;
  if (seen.all()) return out;
  std::vector<std::int32_t> unseen;
  std::size_t w = 0;
  for (std::size_t i = 0; i < test.rows; ++i) {
    const auto b = static_cast<std::size_t>(test.row_offsets[i]);
    const auto e = static_cast<std::size_t>(test.row_offsets[i + 1]);
    test.row_offsets[i] = static_cast<std::int64_t>(w);
    for (std::size_t k = b; k < e; ++k) {
      const std::int32_t c = test.col_indices[k];
      if (seen.contains(static_cast<std::size_t>(c))) {
        test.col_indices[w] = c;
        test.values[w] = test.values[k];
        ++w;
      } else {
        ++out.entries;
        if (test.values[k] != 0.0f) unseen.push_back(c);
      }
    }
  }
  test.row_offsets[test.rows] = static_cast<std::int64_t>(w);
  test.col_indices.resize(w);
  test.values.resize(w);
  std::sort(unseen.begin(), unseen.end());
  out.features =
      static_cast<std::size_t>(std::unique(unseen.begin(), unseen.end()) - unseen.begin());
  return out;
}

LibsvmPair read_libsvm_pair(const std::string& train_path, const std::string& test_path,
                            const LibsvmPairOptions& options) {
  LibsvmOptions train_options;
  train_options.num_features = options.num_features;
  LibsvmData train = read_libsvm(train_path, train_options);  // DataError: file:line:column
  if (train.features.rows == 0) throw DataError(train_path + ": the training file has no samples");
  if (train.features.cols == 0)
    throw DataError(train_path + ": the training file has no features (no <index>:<value>)");
  LibsvmPair out;
  out.labels = options.label_threshold
                   ? threshold_label_mapping(train.labels, train_path, *options.label_threshold)
                   : two_label_mapping(train.labels, train_path, options.positive_label);
  if (!test_path.empty()) {
    // The test file in the training feature space: nothing beyond the training width is stored.
    LibsvmOptions test_options;
    test_options.num_features = train.features.cols;
    test_options.drop_extra_features = options.num_features == 0;
    LibsvmData test = read_libsvm(test_path, test_options);
    if (test.features.rows == 0) throw DataError(test_path + ": the test file has no samples");
    out.split.test.labels = out.labels.apply(test.labels, test_path);
    out.unseen = drop_unseen_features(train.features, test.features);
    out.unseen.features += test.dropped_features.size();
    out.unseen.entries += test.dropped_entries;
    out.split.test.features = std::move(test.features);
    out.has_test = true;
  }
  out.split.train.labels = out.labels.apply(train.labels, train_path);
  out.split.train.features = std::move(train.features);
  return out;
}

TrainTestSplit make_synthetic_classification(const SyntheticSpec& spec) {
  ZO_EXPECTS(spec.train_rows >= 1, "synthetic data: train_rows must be at least 1");
  ZO_EXPECTS(spec.features >= 1, "synthetic data: features must be at least 1");
  ZO_EXPECTS(spec.features <= 0x7FFFFFFF, "synthetic data: features must be below 2^31");
  ZO_EXPECTS(std::isfinite(spec.density) && spec.density > 0.0 && spec.density <= 1.0,
             "synthetic data: density must be in (0, 1], got " + std::to_string(spec.density));
  ZO_EXPECTS(std::isfinite(spec.label_noise) && spec.label_noise >= 0.0,
             "synthetic data: label_noise must be a finite number >= 0, got " +
                 std::to_string(spec.label_noise));
  const std::size_t n = spec.train_rows + spec.test_rows;
  const std::size_t f = spec.features;

  std::vector<float> teacher(f), values(n * f), noise(n);
  fill_direction(Distribution::gaussian, detail::data_key(spec.seed, kDataSubstreamTeacher), f,
                 teacher.data());
  fill_direction(Distribution::gaussian, detail::data_key(spec.seed, kDataSubstreamFeatures), n * f,
                 values.data());
  fill_direction(Distribution::gaussian, detail::data_key(spec.seed, kDataSubstreamLabelNoise), n,
                 noise.data());
  const DirectionKey presence = detail::data_key(spec.seed, kDataSubstreamPresence);
  double teacher_norm2 = 0.0;
  for (float w : teacher) teacher_norm2 += static_cast<double>(w) * w;
  // Unit variance of the noiseless score given the teacher: the noise level σ alone sets the
  // Bayes accuracy (1 − atan(σ)/π for dense data).
  const double score_scale = 1.0 / std::sqrt(teacher_norm2 * spec.density);

  auto build = [&](std::size_t first, std::size_t count) {
    CsrMatrix m;
    m.rows = count;
    m.cols = f;
    m.row_offsets.assign(count + 1, 0);
    std::vector<float> labels(count);
    for (std::size_t r = 0; r < count; ++r) {
      const std::size_t i = first + r;
      double score = 0.0;
      for (std::size_t k = 0; k < f; ++k) {
        const std::uint64_t idx = static_cast<std::uint64_t>(i) * f + k;
        if (spec.density < 1.0 && detail::uniform_at(presence, idx) >= spec.density) continue;
        const float v = values[idx];
        m.col_indices.push_back(static_cast<std::int32_t>(k));
        m.values.push_back(v);
        score += static_cast<double>(v) * static_cast<double>(teacher[k]);
      }
      m.row_offsets[r + 1] = static_cast<std::int64_t>(m.values.size());
      score = score * score_scale + spec.label_noise * static_cast<double>(noise[i]);
      labels[r] = score > 0.0 ? 1.0f : -1.0f;
    }
    BinaryDataset d;
    d.features = std::move(m);
    d.labels = std::move(labels);
    return d;
  };
  TrainTestSplit out;
  out.train = build(0, spec.train_rows);
  out.test = build(spec.train_rows, spec.test_rows);
  return out;
}

}  // namespace zo

#include "zo/classification_data.hpp"

#include <cmath>
#include <string>

#include "core/data_keys.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

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

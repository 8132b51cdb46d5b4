// The feature pipeline of the paper's linear experiments: standardise with training statistics,
// project with a seeded N(0, 1) matrix to D features, standardise again, prepend a bias column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zo/classification_data.hpp"
#include "zo/export.hpp"

namespace zo {

/// Which steps of the pipeline run.
struct PipelineSpec {
  /// Standardise each raw feature with the training mean and population standard deviation
  /// (constant features are only centred), and — after a projection — each projected feature too.
  bool standardize = true;
  /// D: multiply by a random raw_features × D matrix with N(0, 1) entries (0: no projection).
  std::size_t projection_dim = 10000;
  /// Prepend a constant-1 column (the bias), so a model has projection_dim + 1 parameters.
  bool bias = true;
  /// Seed of the projection matrix (a Philox substream; the same on every machine).
  std::uint64_t seed = 0;
};

/// A pipeline fitted on a training set; transform() applies the same statistics and projection to
/// any data set with the same raw features. Every statistic comes from the training set only.
///
/// A raw feature with no non-zero value in the training set has no statistics and no trained
/// weight: transform() drops it from every set (a test value there contributes nothing), in every
/// configuration of the pipeline.
///
/// Before allocating, the constructor and transform() check the memory they need (statistics,
/// projection matrix, dense output) against the memory available (zo::check_memory): too little
/// is a zo::DataError naming the bytes needed.
///
/// The output is dense when the pipeline standardises or projects (standardising fills in the
/// zeros of sparse data); with only the bias step, CSR input stays CSR. Projection cost is
/// rows × raw features × D multiply-adds (OpenMP over rows, deterministic for any thread count).
class ZO_API FeaturePipeline {
 public:
  /// Fits the statistics (and draws the projection) on `train`.
  FeaturePipeline(const BinaryDataset& train, const PipelineSpec& spec);

  /// The transformed copy of `data` (labels unchanged). Throws zo::InvalidArgument when `data`
  /// has a different number of raw features than the training set.
  BinaryDataset transform(const BinaryDataset& data) const;

  /// Number of features after the pipeline.
  std::size_t output_dim() const;

  /// The steps this pipeline runs.
  const PipelineSpec& spec() const { return spec_; }

 private:
  PipelineSpec spec_;
  std::size_t raw_dim_ = 0;
  bool all_seen_ = true;                  // every raw column has a non-zero training value
  std::vector<bool> seen_;                // else: which ones do (raw_dim entries)
  std::vector<double> mean_, inv_std_;    // raw standardisation
  std::vector<float> projection_;         // raw_dim × D, row-major
  std::vector<double> mean2_, inv_std2_;  // projected standardisation

  DenseMatrix project(const BinaryDataset& data) const;
  bool seen(std::size_t k) const { return all_seen_ || seen_[k]; }
};

/// Fits the pipeline on split.train and transforms both sets.
ZO_API TrainTestSplit apply_feature_pipeline(const TrainTestSplit& split, const PipelineSpec& spec);

}  // namespace zo

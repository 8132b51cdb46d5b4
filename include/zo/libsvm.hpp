// Reading and writing the LIBSVM / svmlight text format.
//
// One sample per line:   <label> [qid:<q>] <index>:<value> <index>:<value> ... [# comment]
//
// Rules (every violation is a zo::DataError "file:line:column: what", nothing is skipped):
//  - fields are separated by spaces or tabs; a line ends with LF or CRLF (the last line may lack
//    it); blank lines and lines holding only a comment ("# ...") are not samples;
//  - the label is a finite real number (e.g. -1, +1, 0, 1, 2.5, 1e3);
//  - an optional qid:<q> (a non-negative integer) may follow the label;
//  - indices are 1-based decimal integers (0, negative, or > 2^31 − 2 = max_libsvm_index is an
//    error: column k − 1 and a bias column then still fit a 32-bit index), in any order, each at
//    most once per line; with a fixed feature count, at most that count (or, with
//    LibsvmOptions::drop_extra_features, larger indices are dropped and counted);
//  - values are finite decimal real numbers within float range (NaN, Inf, hexadecimal floats,
//    and numbers that overflow a float are errors; numbers that underflow become 0 or a
//    subnormal); explicit zeros are kept;
//  - a '#' after a complete field starts a comment that runs to the end of the line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "zo/export.hpp"
#include "zo/feature_matrix.hpp"

namespace zo {

/// The largest feature index the reader accepts: 2^31 − 2, so that every column (k − 1) and a
/// bias column after the last one fit a 32-bit index. A larger index is a DataError naming
/// file:line:column, raised before anything is allocated for it.
inline constexpr std::size_t max_libsvm_index = 2147483646;

/// Options of the LIBSVM reader.
struct LibsvmOptions {
  /// Number of features. 0: the largest index that occurs. Otherwise every index must be at most
  /// this (an error names the offending token) and the matrix has exactly this many columns, so
  /// that a training file and its test file agree. At most max_libsvm_index.
  std::size_t num_features = 0;
  /// With num_features > 0: an index above num_features is not an error but dropped (its value is
  /// still checked), counted in LibsvmData::dropped_entries and, when its value is non-zero,
  /// listed in LibsvmData::dropped_features. This reads a test file into the feature space of its
  /// training set: memory follows num_features, not the file's largest index.
  bool drop_extra_features = false;
};

/// The contents of a LIBSVM file: one row per sample, feature index k in column k − 1.
struct LibsvmData {
  CsrMatrix features;              ///< rows = samples; entries sorted by index within a row
  std::vector<double> labels;      ///< the labels as written (see LabelMapping for the classes)
  std::vector<std::int64_t> qids;  ///< empty when no line has qid:, else one per row (−1: none)
  /// With LibsvmOptions::drop_extra_features: the entries dropped (index > num_features) ...
  std::size_t dropped_entries = 0;
  /// ... and the distinct indices (1-based, increasing) of those with a non-zero value.
  std::vector<std::int64_t> dropped_features;
};

/// Reads a LIBSVM file with one read of the whole file. Throws zo::DataError naming the file,
/// line and column of the first malformed token, or the reason the file cannot be read.
ZO_API LibsvmData read_libsvm(const std::string& path, const LibsvmOptions& options = {});

/// Parses LIBSVM text held in memory; `source_name` names it in error messages.
ZO_API LibsvmData parse_libsvm(std::string_view text, const std::string& source_name,
                               const LibsvmOptions& options = {});

/// Writes `features` and `labels` in LIBSVM format (shortest round-trip decimal forms, so that
/// read_libsvm() returns the same floats). Throws zo::DataError when the file cannot be written.
ZO_API void write_libsvm(const std::string& path, const CsrMatrix& features,
                         const std::vector<double>& labels);

}  // namespace zo

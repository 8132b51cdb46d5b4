// The data options shared by `zo linear`, `zo sweep` and `zo trace`: a LIBSVM train/test pair or
// seeded synthetic data, through the paper's feature pipeline. One declaration, one loader.
#pragma once

#include <string>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "zo/feature_pipeline.hpp"

namespace zo_cli {

/// Declares --train, --test, --features, --positive-label, --label-threshold, --n-train, --n-test,
/// --raw-features, --density, --label-noise, --data-seed, --pipeline and --dim. `scope` prefixes
/// the help texts (e.g. "svm/logistic: " where the command also has other problems).
void add_linear_data_options(ArgParser& p, const std::string& scope);

/// Data after the feature pipeline, and a one-line description of where it came from
/// ("synthetic (1000 train / 1000 test samples, 50 raw features, data seed 0); pipeline paper
/// (D = 1000)").
struct LinearData {
  zo::TrainTestSplit split;
  std::string description;
};

/// Validates the options and loads the data. Files: --test defaults to <train>.t; with
/// `need_test` false (only the training set is used) a missing test file is not an error and
/// the test set is a copy of the training set. Files go through zo::read_libsvm_pair: the test
/// file in the training feature space (unseen test features dropped, with a warning through
/// zo::log_line), exactly two training labels (the mapping printed on stderr unless --quiet) or
/// the threshold rule when --label-threshold is given. Throws UsageError naming the option, or
/// zo::DataError (file:line:column for a malformed file, the labels found for a label set that
/// is not binary, the bytes needed for data too large for the memory).
LinearData load_linear_data(const ArgParser& p, const std::string& command, bool need_test);

/// The data files the options name (training and test file; empty for synthetic data), for
/// check_distinct_paths().
std::vector<NamedPath> linear_data_inputs(const ArgParser& p);

/// Checks the data options without loading anything (so option errors come before slow work).
void check_linear_data_options(const ArgParser& p, const std::string& command);

}  // namespace zo_cli

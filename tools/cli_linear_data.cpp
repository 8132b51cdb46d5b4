#include "cli_linear_data.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "cli_common.hpp"
#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/error.hpp"
#include "zo/libsvm.hpp"

namespace zo_cli {
namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string test_path_of(const ArgParser& p) {
  return p.str("test").empty() ? p.str("train") + ".t" : p.str("test");
}

zo::TrainTestSplit load_files(const ArgParser& p, const std::string& command, bool need_test,
                              std::string* description) {
  const std::string train_path = p.str("train");
  const std::string test_path = test_path_of(p);
  check_input(train_path, "--train", command);
  if (p.given("test")) check_input(test_path, "--test", command);
  const bool has_test = file_exists(test_path);
  if (!has_test && (need_test || p.given("test"))) {
    throw UsageError(p.given("test")
                         ? "zo " + command + ": --test: no such file '" + test_path + "'"
                         : "zo " + command + ": --test: not given and '" + test_path +
                               "' does not exist (pass the test file with --test)");
  }
  zo::LibsvmPairOptions options;
  options.num_features = static_cast<std::size_t>(p.integer("features", 0));
  if (p.given("label-threshold")) options.label_threshold = p.number("label-threshold");
  if (p.given("positive-label")) options.positive_label = p.number("positive-label");
  // The training file sets the feature space and the label mapping; the test file is read into
  // them. DataError: file:line:column, a label set that is not binary, a foreign test label.
  zo::LibsvmPair pair;
  try {
    pair = zo::read_libsvm_pair(train_path, has_test ? test_path : std::string(), options);
  } catch (const zo::InvalidArgument& e) {  // a --positive-label that is not a training label
    throw UsageError("zo " + command + ": --positive-label: " + e.what());
  }
  if (!p.has_flag("quiet"))
    std::fprintf(stderr, "zo %s: labels: %s\n", command.c_str(), pair.labels.describe().c_str());
  if (pair.unseen.features > 0 || pair.unseen.entries > 0) {  // a warning: "zo: N features ..."
    zo::log_line(std::to_string(pair.unseen.features) +
                 (pair.unseen.features == 1 ? " feature" : " features") + " of the test file '" +
                 test_path + "' never occur in training; they are ignored (" +
                 std::to_string(pair.unseen.entries) +
                 (pair.unseen.entries == 1 ? " entry" : " entries") + " dropped)");
  }
  zo::TrainTestSplit split = std::move(pair.split);
  if (!has_test) split.test = split.train;  // only the training set is used
  *description =
      train_path + " (" + std::to_string(split.train.rows()) + " samples)" +
      (has_test ? " / " + test_path + " (" + std::to_string(split.test.rows()) + " samples)" : "") +
      ", " + std::to_string(split.train.cols()) + " raw features";
  return split;
}

zo::TrainTestSplit make_synthetic(const ArgParser& p, bool need_test, std::string* description) {
  zo::SyntheticSpec spec;
  spec.train_rows = static_cast<std::size_t>(p.integer("n-train", 1));
  spec.test_rows = need_test ? static_cast<std::size_t>(p.integer("n-test", 1)) : 1;
  spec.features = static_cast<std::size_t>(p.integer("raw-features", 1));
  spec.density = p.positive("density");
  spec.label_noise = p.number("label-noise");
  spec.seed = static_cast<std::uint64_t>(p.integer("data-seed", 0));
  *description = "synthetic (" +
                 (need_test ? std::to_string(spec.train_rows) + " train / " +
                                  std::to_string(spec.test_rows) + " test samples"
                            : std::to_string(spec.train_rows) + " samples") +
                 ", " + std::to_string(spec.features) + " raw features, data seed " +
                 std::to_string(spec.seed) + ")";
  zo::TrainTestSplit split = zo::make_synthetic_classification(spec);
  if (!need_test) split.test = split.train;
  return split;
}

}  // namespace

void add_linear_data_options(ArgParser& p, const std::string& scope) {
  p.option("train", "", scope + "LIBSVM training file (default: synthetic data)");
  p.option("test", "", scope + "LIBSVM test file (default: <train>.t)");
  p.option("features", "0", scope + "raw feature count of the files (0: the largest index)");
  p.option("positive-label", "",
           scope + "the label of the positive class (default: the larger of the two labels)");
  p.option("label-threshold", "",
           scope +
               "old rule instead of two labels: labels > threshold are positive, others "
               "negative");
  p.option("n-train", "1000", scope + "synthetic: training samples");
  p.option("n-test", "1000", scope + "synthetic: held-out test samples");
  p.option("raw-features", "50", scope + "synthetic: raw features");
  p.option("density", "1", scope + "synthetic: fraction of raw features present");
  p.option("label-noise", "0.5",
           scope + "synthetic: noise on the teacher's score (Bayes accuracy 1-atan(s)/pi)");
  p.option("data-seed", "0", scope + "seed of the synthetic data and of the projection matrix");
  p.option("pipeline", "paper",
           scope + "paper (standardise, project, standardise, bias), standardize, none");
  p.option(
      "dim", "auto",
      scope + "projection dimension D (auto: 10000 for files as in the paper, 1000 synthetic)");
}

std::vector<NamedPath> linear_data_inputs(const ArgParser& p) {
  if (!p.given("train")) return {};
  return {{"--train", p.str("train")}, {"--test", test_path_of(p)}};
}

void check_linear_data_options(const ArgParser& p, const std::string& command) {
  if (p.given("train") && p.str("train").empty())
    throw UsageError("zo " + command + ": --train: empty file name");
  if (!p.given("train") && p.given("test"))
    throw UsageError("zo " + command + ": --test: needs --train");
  if (p.integer("features", 0) > static_cast<long long>(zo::max_libsvm_index))
    throw UsageError("zo " + command + ": --features: at most " +
                     std::to_string(zo::max_libsvm_index));
  for (const char* option : {"positive-label", "label-threshold"}) {
    if (!p.given(option)) continue;
    p.number(option);
    if (!p.given("train"))
      throw UsageError("zo " + command + ": --" + option +
                       ": needs --train (synthetic labels are already -1/+1)");
  }
  if (p.given("positive-label") && p.given("label-threshold"))
    throw UsageError("zo " + command +
                     ": --positive-label and --label-threshold exclude each other (two labels, "
                     "or the threshold rule)");
  p.integer("n-train", 1);
  p.integer("n-test", 1);
  p.integer("raw-features", 1);
  p.integer("data-seed", 0);
  if (p.positive("density") > 1.0)
    throw UsageError("zo " + command + ": --density: must be in (0, 1] (got " + p.str("density") +
                     ")");
  if (p.number("label-noise") < 0.0)
    throw UsageError("zo " + command + ": --label-noise: must be >= 0 (got " +
                     p.str("label-noise") + ")");
  const std::string pipeline = p.str("pipeline");
  if (pipeline != "paper" && pipeline != "standardize" && pipeline != "none")
    throw UsageError("zo " + command + ": --pipeline: unknown pipeline '" + pipeline +
                     "' (expected paper, standardize or none)");
  if (p.str("dim") != "auto") p.integer("dim", 1);
}

LinearData load_linear_data(const ArgParser& p, const std::string& command, bool need_test) {
  check_linear_data_options(p, command);
  LinearData out;
  const bool from_files = p.given("train");
  const zo::TrainTestSplit raw = from_files ? load_files(p, command, need_test, &out.description)
                                            : make_synthetic(p, need_test, &out.description);
  const std::string pipeline = p.str("pipeline");
  zo::PipelineSpec spec;
  spec.seed = static_cast<std::uint64_t>(p.integer("data-seed", 0));
  if (pipeline == "paper") {
    spec.projection_dim = p.str("dim") == "auto" ? (from_files ? 10000 : 1000)
                                                 : static_cast<std::size_t>(p.integer("dim", 1));
  } else {
    spec.projection_dim = 0;
    spec.standardize = pipeline == "standardize";
  }
  out.split = zo::apply_feature_pipeline(raw, spec);
  out.description +=
      "; pipeline " + pipeline +
      (spec.projection_dim ? " (D = " + std::to_string(spec.projection_dim) + ")" : std::string());
  return out;
}

}  // namespace zo_cli

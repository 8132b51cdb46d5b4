#include "cli_linear_data.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "cli_common.hpp"
#include "zo/classification_data.hpp"
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
  zo::LibsvmOptions options;
  options.num_features = static_cast<std::size_t>(p.integer("features", 0));
  zo::LibsvmData train = zo::read_libsvm(train_path, options);  // DataError: file:line:column
  if (train.features.rows == 0)
    throw UsageError("zo " + command + ": --train: '" + train_path + "' has no samples");
  const double threshold = p.number("label-threshold");
  zo::TrainTestSplit split;
  if (has_test) {
    zo::LibsvmData test = zo::read_libsvm(test_path, options);
    if (test.features.rows == 0)
      throw UsageError("zo " + command + ": --test: '" + test_path + "' has no samples");
    // Without --features, both files get the larger of the two highest indices.
    const std::size_t cols = std::max(train.features.cols, test.features.cols);
    train.features.cols = test.features.cols = cols;
    split.test = zo::make_binary_dataset(std::move(test), threshold);
  }
  split.train = zo::make_binary_dataset(std::move(train), threshold);
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
  p.option("label-threshold", "0", scope + "labels > threshold are the positive class");
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
  if (p.integer("features", 0) > 0x7FFFFFFF)
    throw UsageError("zo " + command + ": --features: at most 2147483647");
  p.number("label-threshold");
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

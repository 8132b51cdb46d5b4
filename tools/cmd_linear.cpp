// `zo linear`: Figure 2 of the paper — GD vs ZO for the squared-hinge SVM and logistic regression
// on random features, on a LIBSVM train/test pair or on seeded synthetic data.
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "cli_linear_data.hpp"
#include "commands.hpp"
#include "zo/classification_data.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/libsvm.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

namespace zo_cli {
namespace {

struct Problem {
  std::shared_ptr<const zo::BinaryDataset> train, test;
  std::string description;
};

Problem load_problem(const ArgParser& p) {
  LinearData data = load_linear_data(p, "linear", /*need_test=*/true);
  Problem problem;
  problem.train = std::make_shared<const zo::BinaryDataset>(std::move(data.split.train));
  problem.test = std::make_shared<const zo::BinaryDataset>(std::move(data.split.test));
  problem.description =
      data.description + " -> " + std::to_string(problem.train->cols()) + " parameters";
  return problem;
}

/// GD and ZO settings of one loss.
struct LossSetup {
  zo::LinearLoss loss;
  double zo_eta, zo_lambda, gd_eta;
};

}  // namespace

int cmd_linear(const std::vector<std::string>& args) {
  ArgParser p(
      "linear",
      "Reproduces Figure 2 of Zhang et al. (2025): gradient descent vs zeroth-order SGD for the\n"
      "squared-hinge SVM and logistic regression, full batch, on random features (standardise,\n"
      "N(0,1) projection to D features, standardise, bias). Data: a LIBSVM train file and its\n"
      "test file (--train a5a --test a5a.t), or seeded synthetic data (the default). GD and ZO\n"
      "start from the same point 0.1*N(0,I). Writes a CSV (loss, method, lambda, eta, seed,\n"
      "iteration, train/test loss, Hessian trace and accuracy) at log-spaced iterations and a PNG\n"
      "with train loss, train trace, test trace and test accuracy per loss.");
  add_linear_data_options(p, "");
  p.option("losses", "svm,logistic", "which of svm, logistic");
  p.option("methods", "gd,zo", "which of gd, zo");
  p.option("iters", "10000", "iterations T");
  p.option("seed", "0", "seed of the initial point and of the ZO directions");
  p.option("init-scale", "0.1", "initial point x0 = scale * N(0, I)");
  p.option("svm-eta", "1e-4", "SVM: ZO step size");
  p.option("svm-lambda", "0.05", "SVM: ZO smoothing radius");
  p.option("svm-gd-eta", "", "SVM: GD step size (default: --svm-eta, as in the paper's code)");
  p.option("logistic-eta", "0.01", "logistic: ZO step size");
  p.option("logistic-lambda", "0.1", "logistic: ZO smoothing radius");
  p.option("logistic-gd-eta", "", "logistic: GD step size (default: --logistic-eta)");
  p.option("engine", "generic",
           "generic (every run evaluates f(x +/- lambda*u) on the perturbed points) or margins "
           "(ZO runs use the kept margins Ax: one product per step with the direction only)");
  p.option("log-points", "100", "number of log-spaced iterations to record");
  p.option("backend", "auto", "auto, cpu or cuda");
  p.option("out", "out/linear.csv", "CSV output; the PNG goes next to it (.png)");
  p.flag("no-plot", "write the CSV only");
  p.flag("quiet", "no progress output");
  if (!p.parse(args)) return 0;

  // Validate every option before any work starts.
  const auto iters = static_cast<std::uint64_t>(p.integer("iters", 0));
  if (iters > zo::kMaxStep + 1) throw UsageError("zo linear: --iters: at most 4294967295");
  const auto seed = static_cast<std::uint64_t>(p.integer("seed", 0));
  const auto log_points = static_cast<std::size_t>(p.integer("log-points", 1));
  const double init_scale = p.number("init-scale");
  if (!(init_scale >= 0.0))
    throw UsageError("zo linear: --init-scale: must be >= 0 (got " + p.str("init-scale") + ")");
  check_linear_data_options(p, "linear");
  const std::string engine = p.str("engine");
  if (engine != "generic" && engine != "runbatch" && engine != "margins")
    throw UsageError("zo linear: --engine: unknown engine '" + engine +
                     "' (expected generic or margins)");
  zo::Backend backend;
  try {
    backend = zo::parse_backend(p.str("backend"));
  } catch (const zo::Error&) {
    throw UsageError("zo linear: --backend: unknown backend '" + p.str("backend") +
                     "' (expected auto, cpu or cuda)");
  }
  bool run_gd = false, run_zo = false;
  for (const auto& m : p.list("methods")) {
    if (m == "gd") {
      run_gd = true;
    } else if (m == "zo") {
      run_zo = true;
    } else {
      throw UsageError("zo linear: --methods: unknown method '" + m + "' (expected gd or zo)");
    }
  }
  std::vector<LossSetup> setups;
  for (const auto& l : p.list("losses")) {
    if (l == "svm") {
      const double eta = p.positive("svm-eta");
      setups.push_back({zo::LinearLoss::squared_hinge, eta, p.positive("svm-lambda"),
                        p.given("svm-gd-eta") ? p.positive("svm-gd-eta") : eta});
    } else if (l == "logistic") {
      const double eta = p.positive("logistic-eta");
      setups.push_back({zo::LinearLoss::logistic, eta, p.positive("logistic-lambda"),
                        p.given("logistic-gd-eta") ? p.positive("logistic-gd-eta") : eta});
    } else {
      throw UsageError("zo linear: --losses: unknown loss '" + l + "' (expected svm or logistic)");
    }
  }
  const std::string csv_path = p.str("out");
  std::ofstream csv = open_output(csv_path, "out", "linear");
  csv << "loss,method,lambda,eta,seed,iteration,train_loss,train_trace,train_accuracy,test_loss,"
         "test_trace,test_accuracy\n";

  // An unusable explicit --backend cuda fails before the data is loaded.
  if (backend == zo::Backend::cuda) zo::resolve_backend(backend);
  const Problem problem = load_problem(p);
  if (!p.has_flag("quiet")) std::fprintf(stderr, "zo linear: %s\n", problem.description.c_str());
  zo::LinearModelOptions model_options;
  model_options.backend = backend;
  const std::size_t dim = problem.train->cols();
  std::vector<float> x0(dim);
  zo::gaussian_fill(seed, 0, x0.data(), dim);
  for (float& v : x0) v = static_cast<float>(init_scale * v);

  struct Final {
    std::string label;
    zo::LinearMeasurement train, test;
  };
  std::vector<Final> finals;
  const auto schedule = log_schedule(iters, log_points);
  const std::size_t runs_per_loss = (run_gd ? 1 : 0) + (run_zo ? 1 : 0);
  Progress progress("zo linear", iters * setups.size() * runs_per_loss, p.has_flag("quiet"));
  std::uint64_t done_before = 0;
  zo::Backend used = zo::Backend::cpu;
  for (const LossSetup& setup : setups) {
    const zo::LinearModel model(setup.loss, problem.train, problem.test, model_options);
    used = model.backend();
    std::vector<zo::RunSpec> specs;
    if (run_gd) {
      zo::RunSpec s;
      s.method = zo::Method::gd;
      s.eta = static_cast<float>(setup.gd_eta);
      s.seed = seed;
      specs.push_back(s);
    }
    if (run_zo) {
      zo::RunSpec s;
      s.method = zo::Method::zo;
      s.eta = static_cast<float>(setup.zo_eta);
      s.lambda = static_cast<float>(setup.zo_lambda);
      s.seed = seed;
      specs.push_back(s);
    }
    // The runs: everything through the generic engine, or ZO through the margins engine (GD
    // stays on the generic one).
    const bool margins = engine == "margins" && run_zo;
    std::vector<zo::RunSpec> batch_specs;
    for (const auto& s : specs)
      if (!(margins && s.method == zo::Method::zo)) batch_specs.push_back(s);
    std::vector<float> x0_all;
    for (std::size_t k = 0; k < batch_specs.size(); ++k)
      x0_all.insert(x0_all.end(), x0.begin(), x0.end());
    zo::BatchOptions options;
    options.backend = backend;
    std::unique_ptr<zo::RunBatch> batch;
    if (!batch_specs.empty())
      batch = std::make_unique<zo::RunBatch>(model, batch_specs, x0_all.data(), options);
    std::unique_ptr<zo::RunBatch> fast;
    if (margins) {
      zo::BatchOptions margins_options;
      margins_options.backend = backend;
      margins_options.engine = zo::Engine::margins;
      fast = std::make_unique<zo::RunBatch>(model, std::vector<zo::RunSpec>{specs.back()},
                                            x0.data(), margins_options);
    }

    std::vector<float> points(specs.size() * dim);
    std::uint64_t at = 0;
    for (std::uint64_t it : schedule) {
      if (batch) batch->run(it - at);
      if (fast) fast->run(it - at);
      at = it;
      if (batch) batch->copy_points(points.data());
      if (fast) fast->copy_points(points.data() + (specs.size() - 1) * dim);
      zo::PointBatch pts;
      pts.data = points.data();
      pts.count = specs.size();
      pts.dim = dim;
      pts.stride = dim;
      const auto train = model.measure(zo::DataSplit::train, pts);
      const auto test = model.measure(zo::DataSplit::test, pts);
      for (std::size_t k = 0; k < specs.size(); ++k) {
        const auto& s = specs[k];
        csv << zo::to_string(setup.loss) << ',' << zo::to_string(s.method) << ','
            << (s.method == zo::Method::zo ? fmt(s.lambda) : "0") << ',' << fmt(s.eta) << ','
            << s.seed << ',' << it << ',' << fmt(train[k].loss) << ',' << fmt(train[k].trace) << ','
            << fmt(train[k].accuracy) << ',' << fmt(test[k].loss) << ',' << fmt(test[k].trace)
            << ',' << fmt(test[k].accuracy) << '\n';
        if (it == iters) {
          finals.push_back({std::string(zo::to_string(setup.loss)) + " " + zo::to_string(s.method),
                            train[k], test[k]});
        }
      }
      progress.update(done_before + it * specs.size());
    }
    done_before += iters * specs.size();
  }
  csv.close();
  if (!csv) throw zo::Error("zo linear: writing '" + csv_path + "' failed");
  progress.finish(std::to_string(setups.size() * runs_per_loss) + " runs x " +
                  std::to_string(iters) + " iterations on " + zo::to_string(used));
  std::printf("%-14s %12s %12s %12s %10s %10s\n", "run", "train loss", "train trace", "test trace",
              "train acc", "test acc");
  for (const auto& f : finals) {
    std::printf("%-14s %12.5g %12.5g %12.5g %10.4f %10.4f\n", f.label.c_str(), f.train.loss,
                f.train.trace, f.test.trace, f.train.accuracy, f.test.accuracy);
  }
  std::printf("wrote %s\n", csv_path.c_str());
  if (!p.has_flag("no-plot")) {
    const std::string png = with_extension(csv_path, ".png");
    if (run_plot_script("plot_linear.py", {csv_path, png})) std::printf("wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace zo_cli

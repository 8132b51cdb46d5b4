// `zo linear`: Figure 2 of the paper — GD vs ZO for the squared-hinge SVM and logistic regression
// on random features, on a LIBSVM train/test pair or on seeded synthetic data.
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "cli_linear_data.hpp"
#include "cli_mpi.hpp"
#include "commands.hpp"
#include "grid_driver.hpp"
#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/libsvm.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"
#include "zo/sweep.hpp"

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
  add_divergence_option(p);
  p.option("out", "out/linear.csv", "CSV output; the PNG goes next to it (.png)");
  p.flag("no-plot", "write the CSV only");
  p.flag("quiet", "no progress output");
  if (!p.parse(args)) return 0;
  if (p.has_flag("quiet")) zo::set_log_sink({});  // errors only

  // Validate every option before any work starts.
  const auto iters = static_cast<std::uint64_t>(p.integer("iters", 0));
  if (iters > zo::kMaxStep + 1) throw UsageError("zo linear: --iters: at most 4294967295");
  const auto seed = p.unsigned_integer("seed");
  const auto log_points = static_cast<std::size_t>(p.integer("log-points", 1));
  const double init_scale = p.number("init-scale");
  if (!(init_scale >= 0.0))
    throw UsageError("zo linear: --init-scale: must be >= 0 (got " + p.str("init-scale") + ")");
  check_linear_data_options(p, "linear");
  const std::string engine = p.str("engine");
  if (engine != "generic" && engine != "runbatch" && engine != "margins")
    throw UsageError("zo linear: --engine: unknown engine '" + engine +
                     "' (expected generic or margins)");
  const zo::Backend backend = p.parsed("backend", zo::parse_backend);
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
      const double eta = p.positive_float("svm-eta");
      setups.push_back({zo::LinearLoss::squared_hinge, eta, p.positive_float("svm-lambda"),
                        p.given("svm-gd-eta") ? p.positive_float("svm-gd-eta") : eta});
    } else if (l == "logistic") {
      const double eta = p.positive_float("logistic-eta");
      setups.push_back({zo::LinearLoss::logistic, eta, p.positive_float("logistic-lambda"),
                        p.given("logistic-gd-eta") ? p.positive_float("logistic-gd-eta") : eta});
    } else {
      throw UsageError("zo linear: --losses: unknown loss '" + l + "' (expected svm or logistic)");
    }
  }
  const std::string csv_path = p.str("out");
  check_output(csv_path, "out", "linear");
  const std::string png = p.has_flag("no-plot") ? "" : with_extension(csv_path, ".png");
  check_distinct_paths("linear", {{"--out", csv_path}, {"figure", png}}, linear_data_inputs(p));

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

  // One job per loss: GD and ZO from the same point, written as one table.
  std::vector<GridJob> jobs;
  for (const LossSetup& setup : setups) {
    GridJob job;
    job.objective =
        std::make_shared<zo::LinearModel>(setup.loss, problem.train, problem.test, model_options);
    // Under mpirun: the training rows split over the ranks, 2q values exchanged per step.
    if (mpi_active())
      job.objective =
          data_parallel_linear_model(setup.loss, *problem.train, *problem.test, model_options);
    job.label = zo::to_string(setup.loss);
    zo::SweepSpec& spec = job.spec;
    spec.seeds = {seed};
    spec.steps = iters;
    spec.log_iterations = log_schedule(iters, log_points);
    spec.initial_point = x0;
    spec.backend = backend;
    spec.engine = engine == "margins" ? zo::Engine::margins : zo::Engine::generic;
    if (run_gd) {
      zo::SweepConfig c;
      c.method = zo::Method::gd;
      c.lambda = 0.0f;
      c.eta = static_cast<float>(setup.gd_eta);
      spec.configs.push_back(c);
    }
    if (run_zo) {
      zo::SweepConfig c;
      c.method = zo::Method::zo;
      c.eta = static_cast<float>(setup.zo_eta);
      c.lambda = static_cast<float>(setup.zo_lambda);
      spec.configs.push_back(c);
    }
    spec.batch_size = spec.configs.size();  // one batch: the table lists every run per iteration
    apply_divergence_option(p, spec);
    jobs.push_back(std::move(job));
  }

  GridOutput output;
  output.command = "linear";
  output.table_path = csv_path;
  output.quiet = p.has_flag("quiet");
  output.replicated = true;  // under MPI: data-parallel, every rank runs every job
  output.header = [](const GridJob&, const zo::Sweep&) {
    return std::string(
        "loss,method,lambda,eta,seed,iteration,train_loss,train_trace,train_accuracy,test_loss,"
        "test_trace,test_accuracy,status");
  };
  // The model's metrics are train_accuracy, test_loss, test_trace, test_accuracy.
  output.rows = [](const GridJob& job, const zo::Sweep& sweep, const zo::SweepRows& rows) {
    std::ostringstream out;
    for (std::size_t i : by_iteration(rows)) {
      const zo::RunSpec s = sweep.run_spec(rows.run[i]);
      const double* m = &rows.metrics[i * rows.metric_count];
      out << job.label << ',' << zo::to_string(s.method) << ','
          << (s.method == zo::Method::zo ? fmt(s.lambda) : "0") << ',' << fmt(s.eta) << ','
          << s.seed << ',' << rows.iteration[i] << ',' << fmt(rows.loss[i]) << ','
          << fmt(rows.trace[i]) << ',' << fmt(m[0]) << ',' << fmt(m[1]) << ',' << fmt(m[2]) << ','
          << fmt(m[3]) << ',' << (rows.diverged[i] ? "diverged" : "ok") << '\n';
    }
    return out.str();
  };
  output.finish_line = [&](const GridResult& result) {
    std::size_t runs = 0;
    for (const auto& sweep : result.sweeps) runs += sweep->num_runs();
    return std::to_string(runs) + " runs x " + std::to_string(iters) + " iterations on " +
           zo::to_string(result.sweeps[0]->backend()) + ", " + std::to_string(result.diverged) +
           " diverged";
  };
  const GridResult result = run_grid(jobs, output);
  if (result.interrupted) return result.exit_code;
  if (mpi_rank() != 0) return 0;  // under MPI, rank 0 reports and draws the figure

  std::printf("%-14s %12s %12s %12s %10s %10s\n", "run", "train loss", "train trace", "test trace",
              "train acc", "test acc");
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const zo::Sweep& sweep = *result.sweeps[j];
    const zo::SweepRows& f = sweep.finals();
    for (std::size_t i = 0; i < f.size(); ++i) {
      const double* m = &f.metrics[i * f.metric_count];
      const std::string label =
          jobs[j].label + " " + zo::to_string(sweep.run_spec(f.run[i]).method);
      std::printf(
          "%-14s %12.5g %12.5g %12.5g %10.4f %10.4f%s\n", label.c_str(), f.loss[i], f.trace[i],
          m[2], m[0], m[3],
          f.diverged[i] ? ("  diverged at step " + std::to_string(f.diverged_at[i])).c_str() : "");
    }
  }
  std::printf("wrote %s\n", csv_path.c_str());
  if (!png.empty()) {
    if (run_plot_script("plot_linear.py", {csv_path}, png)) std::printf("wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace zo_cli

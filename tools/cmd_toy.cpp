// `zo toy`: Figure 1 of the paper — GD, ZO with several λ, and ZO with λ→0 on Example 2.1.
#include <chrono>
#include <cstdio>
#include <vector>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace zo_cli {

int cmd_toy(const std::vector<std::string>& args) {
  ArgParser p(
      "toy",
      "Reproduces Figure 1 of Zhang et al. (2025): minimises h(y,z) = (y'z - 1)^2/2 with GD,\n"
      "ZO-SGD (two-point estimator) for each lambda, and ZO with lambda->0, all from the same\n"
      "initial point y, z ~ N(0, I). Writes a CSV (method, lambda, eta, q, seed, iteration,\n"
      "loss, trace, B) at log-spaced iterations and a two-panel PNG (loss and Hessian trace).");
  p.option("d", "100", "dimension of y and of z (2d parameters)");
  p.option("iters", "100000", "iterations T");
  p.option("seed", "0", "seed of the initial point and of the ZO directions");
  p.option("gd-eta", "0.01", "GD step size");
  p.option("zo-eta", "0.001", "ZO step size (also used by ZO with lambda->0)");
  p.option("lambdas", "0.1,0.05,0.01", "comma-separated smoothing radii lambda of the ZO runs");
  p.option("methods", "gd,zo,zo0", "which of gd, zo, zo0 (ZO with lambda->0) to run");
  p.option("q", "1", "directions averaged per ZO step");
  p.option("distribution", "gaussian", "direction distribution: gaussian, rademacher or sphere");
  p.option("log-points", "200", "number of log-spaced iterations to record");
  p.option("backend", "auto", "auto, cpu or cuda");
  p.option("out", "out/toy.csv", "CSV output; the PNG goes next to it (.png)");
  p.flag("no-plot", "write the CSV only");
  p.flag("quiet", "no progress output");
  if (!p.parse(args)) return 0;

  const auto d = static_cast<std::size_t>(p.integer("d", 1));
  const auto iters = static_cast<std::uint64_t>(p.integer("iters", 0));
  const auto seed = static_cast<std::uint64_t>(p.integer("seed", 0));
  const double gd_eta = p.positive("gd-eta");
  const double zo_eta = p.positive("zo-eta");
  const auto q = static_cast<std::uint32_t>(p.integer("q", 1));
  const auto log_points = static_cast<std::size_t>(p.integer("log-points", 1));
  if (iters > zo::kMaxStep + 1) throw UsageError("zo toy: --iters: at most 4294967295");
  zo::Distribution dist;
  zo::Backend backend;
  try {
    dist = zo::parse_distribution(p.str("distribution"));
  } catch (const zo::Error&) {
    throw UsageError("zo toy: --distribution: unknown distribution '" + p.str("distribution") +
                     "' (expected gaussian, rademacher or sphere)");
  }
  try {
    backend = zo::parse_backend(p.str("backend"));
  } catch (const zo::Error&) {
    throw UsageError("zo toy: --backend: unknown backend '" + p.str("backend") +
                     "' (expected auto, cpu or cuda)");
  }

  std::vector<zo::RunSpec> runs;
  for (const auto& m : p.list("methods")) {
    zo::Method method;
    try {
      method = zo::parse_method(m);
    } catch (const zo::Error&) {
      throw UsageError("zo toy: --methods: unknown method '" + m + "' (expected gd, zo or zo0)");
    }
    zo::RunSpec s;
    s.method = method;
    s.seed = seed;
    s.q = q;
    s.distribution = dist;
    if (method == zo::Method::gd) {
      s.eta = static_cast<float>(gd_eta);
      s.lambda = 0.0f;
      runs.push_back(s);
    } else if (method == zo::Method::zo_limit) {
      s.eta = static_cast<float>(zo_eta);
      s.lambda = 0.0f;
      runs.push_back(s);
    } else {
      s.eta = static_cast<float>(zo_eta);
      for (double lambda : p.positive_list("lambdas")) {
        s.lambda = static_cast<float>(lambda);
        runs.push_back(s);
      }
    }
  }

  const std::string csv_path = p.str("out");
  std::ofstream csv = open_output(csv_path, "out", "toy");
  csv << "method,lambda,eta,q,seed,iteration,loss,trace,B\n";

  const zo::Example21 objective(d);
  std::vector<float> x0(objective.dim());
  zo::gaussian_fill(seed, 0, x0.data(), x0.size());
  std::vector<float> x0_all;
  for (std::size_t k = 0; k < runs.size(); ++k) x0_all.insert(x0_all.end(), x0.begin(), x0.end());

  zo::BatchOptions options;
  options.backend = backend;
  zo::RunBatch batch(objective, runs, x0_all.data(), options);
  const std::size_t K = runs.size();
  std::vector<double> loss(K), trace(K), balance(K);
  Progress progress("zo toy", iters, p.has_flag("quiet"));
  for (std::uint64_t it : log_schedule(iters, log_points)) {
    batch.run(it - batch.next_step());
    batch.measure(loss.data(), trace.data(), balance.data());
    for (std::size_t k = 0; k < K; ++k) {
      const auto& s = runs[k];
      csv << zo::to_string(s.method) << ',' << fmt(s.lambda) << ',' << fmt(s.eta) << ',' << s.q
          << ',' << s.seed << ',' << it << ',' << fmt(loss[k]) << ',' << fmt(trace[k]) << ','
          << fmt(balance[k]) << '\n';
    }
    progress.update(it);
  }
  csv.close();
  if (!csv) throw zo::Error("zo toy: writing '" + csv_path + "' failed");
  std::string summary = std::to_string(K) + " runs x " + std::to_string(iters) + " iterations on " +
                        zo::to_string(batch.backend()) + "; final trace:";
  for (std::size_t k = 0; k < K; ++k) {
    summary += " " + std::string(zo::to_string(runs[k].method));
    if (runs[k].method == zo::Method::zo) summary += "(" + fmt(runs[k].lambda) + ")";
    summary += "=" + fmt(trace[k]);
  }
  progress.finish(summary);
  std::printf("wrote %s\n", csv_path.c_str());
  if (!p.has_flag("no-plot")) {
    const std::string png = with_extension(csv_path, ".png");
    if (run_plot_script("plot_toy.py", {csv_path, png})) std::printf("wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace zo_cli

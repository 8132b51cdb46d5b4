// `zo toy`: Figure 1 of the paper — GD, ZO with several λ, and ZO with λ→0 on Example 2.1.
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "commands.hpp"
#include "grid_driver.hpp"
#include "zo/backend.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"
#include "zo/sweep.hpp"

namespace zo_cli {

int cmd_toy(const std::vector<std::string>& args) {
  ArgParser p(
      "toy",
      "Reproduces Figure 1 of Zhang et al. (2025): minimises h(y,z) = (y'z - 1)^2/2 with GD,\n"
      "ZO-SGD (two-point estimator) for each lambda, and ZO with lambda->0, all from the same\n"
      "initial point y, z ~ N(0, I). Writes a CSV (method, lambda, eta, q, seed, iteration,\n"
      "loss, trace, B, status) at log-spaced iterations and a two-panel PNG (loss and Hessian "
      "trace).");
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
  p.option("engine", "generic",
           "generic (the reference trajectories of this command's tables) or fused (Example 2.1 "
           "on chip: faster, equal to rounding), or auto");
  p.option("init", "",
           "start point file (text, or raw float32 .f32; 2d values y then z, the format of zo "
           "trace --save-point); default: y, z ~ N(0, I) from --seed");
  add_divergence_option(p);
  p.option("out", "out/toy.csv", "CSV output; the PNG goes next to it (.png)");
  p.flag("no-plot", "write the CSV only");
  p.flag("quiet", "no progress output");
  if (!p.parse(args)) return 0;
  if (p.has_flag("quiet")) zo::set_log_sink({});  // errors only

  const auto d = static_cast<std::size_t>(p.integer("d", 1));
  const auto iters = static_cast<std::uint64_t>(p.integer("iters", 0));
  const auto seed = p.unsigned_integer("seed");
  const double gd_eta = p.positive_float("gd-eta");
  const double zo_eta = p.positive_float("zo-eta");
  const auto q = static_cast<std::uint32_t>(p.integer("q", 1));
  const auto log_points = static_cast<std::size_t>(p.integer("log-points", 1));
  if (iters > zo::kMaxStep + 1) throw UsageError("zo toy: --iters: at most 4294967295");
  const zo::Distribution dist = p.parsed("distribution", zo::parse_distribution);
  const zo::Backend backend = p.parsed("backend", zo::parse_backend);
  const zo::Engine engine = p.parsed("engine", zo::parse_engine);

  // The grid: one seed, every run from the same initial point y, z ~ N(0, I) of that seed.
  GridJob job;
  job.objective = std::make_shared<zo::Example21>(d);
  zo::SweepSpec& spec = job.spec;
  spec.seeds = {seed};
  spec.steps = iters;
  spec.log_iterations = log_schedule(iters, log_points);
  spec.backend = backend;
  spec.engine = engine;
  for (const auto& m : p.list("methods")) {
    zo::SweepConfig c;
    c.method = p.parsed("methods", m, zo::parse_method);
    c.q = q;
    c.distribution = dist;
    c.lambda = 0.0f;
    c.eta = static_cast<float>(c.method == zo::Method::gd ? gd_eta : zo_eta);
    if (c.method != zo::Method::zo) {
      spec.configs.push_back(c);
      continue;
    }
    for (float lambda : p.positive_float_list("lambdas")) {
      c.lambda = static_cast<float>(lambda);
      spec.configs.push_back(c);
    }
  }
  spec.batch_size = spec.configs.size();  // one batch: the table lists every run per iteration
  apply_divergence_option(p, spec);
  if (!p.str("init").empty()) spec.initial_point = read_initial_point(p, "toy", 2 * d);

  // The runs' iterates and one step's perturbed points, and the logged rows.
  const double runs = static_cast<double>(spec.configs.size());
  check_memory("toy", "--d", runs * 2.0 * static_cast<double>(d) * 4.0 * (3.0 + 2.0 * q),
               std::to_string(spec.configs.size()) + " runs of dimension 2d");
  check_memory("toy", "--log-points", runs * static_cast<double>(spec.log_iterations.size()) * 96.0,
               "the logged rows");
  const std::string csv_path = p.str("out");
  check_output(csv_path, "out", "toy");
  const std::string png = p.has_flag("no-plot") ? "" : with_extension(csv_path, ".png");
  check_distinct_paths("toy", {{"--out", csv_path}, {"figure", png}}, {{"--init", p.str("init")}});
  GridOutput output;
  output.command = "toy";
  output.table_path = csv_path;
  output.quiet = p.has_flag("quiet");
  output.header = [](const GridJob&, const zo::Sweep&) {
    return std::string("method,lambda,eta,q,seed,iteration,loss,trace,B,status");
  };
  output.rows = [](const GridJob&, const zo::Sweep& sweep, const zo::SweepRows& rows) {
    std::ostringstream out;
    for (std::size_t i : by_iteration(rows)) {
      const zo::RunSpec s = sweep.run_spec(rows.run[i]);
      out << zo::to_string(s.method) << ',' << fmt(s.lambda) << ',' << fmt(s.eta) << ',' << s.q
          << ',' << s.seed << ',' << rows.iteration[i] << ',' << fmt(rows.loss[i]) << ','
          << fmt(rows.trace[i]) << ',' << fmt(rows.metrics[i * rows.metric_count]) << ','
          << (rows.diverged[i] ? "diverged" : "ok") << '\n';
    }
    return out.str();
  };
  output.finish_line = [&](const GridResult& result) {
    const zo::Sweep& sweep = *result.sweeps[0];
    const zo::SweepRows& finals = sweep.finals();
    std::string summary = std::to_string(sweep.num_runs()) + " runs x " + std::to_string(iters) +
                          " iterations on " + zo::to_string(sweep.backend()) + "; final trace:";
    for (std::size_t i = 0; i < finals.size(); ++i) {
      const zo::RunSpec s = sweep.run_spec(finals.run[i]);
      summary += " " + std::string(zo::to_string(s.method));
      if (s.method == zo::Method::zo) summary += "(" + fmt(s.lambda) + ")";
      summary += "=" + fmt(finals.trace[i]);
      if (finals.diverged[i])
        summary += " (diverged at step " + std::to_string(finals.diverged_at[i]) + ")";
    }
    return summary;
  };
  std::vector<GridJob> jobs{job};
  const GridResult result = run_grid(jobs, output);
  if (result.interrupted) return result.exit_code;
  std::printf("wrote %s\n", csv_path.c_str());
  if (!png.empty()) {
    if (run_plot_script("plot_toy.py", {csv_path}, png)) std::printf("wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace zo_cli

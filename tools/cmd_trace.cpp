// `zo trace`: estimates tr ∇²f(x) of a built-in objective at a saved or seeded point with the
// estimators of zo/trace.hpp, next to the exact trace where one exists.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "cli_linear_data.hpp"
#include "commands.hpp"
#include "zo/atomic_file.hpp"
#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/libsvm.hpp"
#include "zo/linear_model.hpp"
#include "zo/point_file.hpp"
#include "zo/run_batch.hpp"
#include "zo/trace.hpp"

namespace zo_cli {
namespace {

struct Row {
  zo::TraceEstimate estimate;
  double seconds = 0.0;
};

std::string json_number(double v) { return std::isfinite(v) ? fmt(v) : "null"; }

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

int cmd_trace(const std::vector<std::string>& args) {
  ArgParser p("trace",
              "Estimates the trace of the Hessian of a built-in objective at a point, with error\n"
              "bars, by each requested estimator (see docs/trace.md):\n"
              "  exact       the closed form (when the objective has one)\n"
              "  hutchinson  (1/m) sum v'Hv over Rademacher probes, Hessian-vector products\n"
              "  hutch++     Hutch++ (Meyer et al. 2021): deflates the top of the spectrum\n"
              "  zo          (f(x+eps v) + f(x-eps v) - 2 f(x)) / eps^2, values only\n"
              "  sharpness   (2/delta^2)(mean f(x+delta u) - f(x)), the paper's estimate\n"
              "The point is read from --point FILE (text: numbers separated by spaces/commas,\n"
              "'#' comments; or raw float32 with extension .f32) or drawn from --point-seed\n"
              "(N(0,1) coordinates times --point-scale, the initial point of `zo toy`).");
  p.option("objective", "example21",
           "objective: example21 (h(y,z) = (y'z - 1)^2/2), logistic or svm (squared hinge)");
  p.option("d", "100", "example21: dimension of y and of z (2d parameters)");
  add_linear_data_options(p, "logistic/svm: ");
  p.option("point", "", "point file (text, or raw float32 .f32); default: a seeded random point");
  p.option("point-seed", "0", "seed of the random point when --point is not given");
  p.option("point-scale", "auto",
           "scale of the random point's N(0,1) coordinates (auto: 1 for example21, 0.1 for the\n"
           "linear models, the paper's initialisation)");
  p.option("save-point", "", "write the point used to this file (text, or .f32)");
  p.option("estimator", "all",
           "comma-separated estimators: exact, hutchinson, hutch++, zo, sharpness, or all");
  p.option("probes", "100", "probes m per estimate (hutch++: Hessian-vector products, >= 3)");
  p.option("seed", "0", "seed of the probes");
  p.option("epsilon", "auto", "finite-difference step (zo, sharpness, gradient differences)");
  p.option("value-precision", "auto",
           "relative precision of the objective's values, sets the default epsilon\n"
           "(auto: 2^-24, values computed from float32 data)");
  p.option("distribution", "auto", "probe distribution: auto, gaussian or rademacher");
  p.option("hessian", "auto", "Hessian-vector products: auto, hvp or gradient (differences)");
  p.option("backend", "auto", "auto, cpu or cuda");
  p.option("out", "", "also write the results as CSV (.csv) or JSON (.json)");
  if (!p.parse(args)) return 0;
  {
    std::vector<NamedPath> inputs = linear_data_inputs(p);
    inputs.push_back({"--point", p.str("point")});
    if (!p.str("out").empty()) check_output(p.str("out"), "out", "trace");
    if (!p.str("save-point").empty()) check_output(p.str("save-point"), "save-point", "trace");
    check_distinct_paths("trace", {{"--out", p.str("out")}, {"--save-point", p.str("save-point")}},
                         inputs);
  }

  // Objective.
  std::unique_ptr<zo::Objective> objective;
  std::string description;
  const std::string kind = p.str("objective");
  if (kind == "example21") {
    const auto d = static_cast<std::size_t>(p.integer("d", 1));
    objective = std::make_unique<zo::Example21>(d);
    description =
        "example21 (d = " + std::to_string(d) + ", " + std::to_string(2 * d) + " parameters)";
  } else if (kind == "logistic" || kind == "svm") {
    LinearData loaded = load_linear_data(p, "trace", /*need_test=*/false);
    const std::string data_text = loaded.description;
    auto data = std::make_shared<const zo::BinaryDataset>(std::move(loaded.split.train));
    zo::LinearModelOptions options;
    try {
      options.backend = zo::parse_backend(p.str("backend"));
    } catch (const zo::Error&) {
      throw UsageError("zo trace: --backend: unknown backend '" + p.str("backend") +
                       "' (expected auto, cpu or cuda)");
    }
    const zo::LinearLoss loss = zo::parse_linear_loss(kind);
    objective = std::make_unique<zo::LinearModel>(loss, data, nullptr, options);
    description = std::string(kind) + " on " + data_text + " (" + std::to_string(objective->dim()) +
                  " parameters)";
  } else {
    throw UsageError("zo trace: --objective: unknown objective '" + kind +
                     "' (expected example21, logistic or svm)");
  }
  const bool linear = kind != "example21";
  const std::size_t dim = objective->dim();

  // Options.
  zo::TraceOptions options;
  try {
    options.backend = zo::parse_backend(p.str("backend"));
  } catch (const zo::Error&) {
    throw UsageError("zo trace: --backend: unknown backend '" + p.str("backend") +
                     "' (expected auto, cpu or cuda)");
  }
  if (p.str("epsilon") != "auto") options.epsilon = p.positive("epsilon");
  if (p.str("value-precision") != "auto") options.value_precision = p.positive("value-precision");
  if (!(options.value_precision < 1.0)) {
    throw UsageError("zo trace: --value-precision: must be < 1 (got " + p.str("value-precision") +
                     ")");
  }
  const std::string dist = p.str("distribution");
  if (dist != "auto") {
    if (dist != "gaussian" && dist != "rademacher") {
      throw UsageError("zo trace: --distribution: '" + dist +
                       "' (expected auto, gaussian or rademacher)");
    }
    options.automatic_distribution = false;
    options.distribution = zo::parse_distribution(dist);
  }
  const std::string hessian = p.str("hessian");
  if (hessian == "hvp") {
    options.hessian = zo::HessianSource::hvp;
  } else if (hessian == "gradient") {
    options.hessian = zo::HessianSource::gradient;
  } else if (hessian != "auto") {
    throw UsageError("zo trace: --hessian: '" + hessian + "' (expected auto, hvp or gradient)");
  }
  const long long probes_ll = p.integer("probes", 1);
  if (probes_ll > 0xFFFFFFFFll) throw UsageError("zo trace: --probes: at most 4294967295");
  const auto probes = static_cast<std::uint32_t>(probes_ll);
  const auto seed = p.unsigned_integer("seed");
  // The estimators build up to three perturbed points per probe (float32, dim each).
  check_memory("trace", "--probes",
               3.0 * 4.0 * static_cast<double>(probes) * static_cast<double>(objective->dim()),
               std::to_string(probes) + " probes of dimension " + std::to_string(objective->dim()));

  std::vector<zo::TraceEstimator> estimators;
  for (const std::string& name : p.list("estimator")) {
    if (name == "all") {
      if (objective->has_exact_trace()) estimators.push_back(zo::TraceEstimator::exact);
      if (objective->has_hvp() || objective->has_gradient()) {
        estimators.push_back(zo::TraceEstimator::hutchinson);
        estimators.push_back(zo::TraceEstimator::hutchpp);
      }
      estimators.push_back(zo::TraceEstimator::zo);
      estimators.push_back(zo::TraceEstimator::sharpness);
      continue;
    }
    try {
      estimators.push_back(zo::parse_trace_estimator(name));
    } catch (const zo::Error&) {
      throw UsageError("zo trace: --estimator: unknown estimator '" + name +
                       "' (expected exact, hutchinson, hutch++, zo, sharpness or all)");
    }
  }
  for (zo::TraceEstimator e : estimators) {
    if (e == zo::TraceEstimator::hutchpp && probes < 3) {
      throw UsageError("zo trace: --probes: hutch++ needs at least 3 (got " +
                       std::to_string(probes) + ")");
    }
  }

  // Point.
  std::vector<float> x;
  std::string point_text;
  if (p.given("point")) {
    check_input(p.str("point"), "--point", "trace");
    x = zo::read_point_file(p.str("point"));  // zo::DataError names file:line:column
    if (x.size() != dim) {
      throw zo::DataError(p.str("point") + ": holds " + std::to_string(x.size()) +
                          " values, but objective " + description + " needs " +
                          std::to_string(dim));
    }
    point_text = p.str("point");
  } else {
    const auto point_seed = p.unsigned_integer("point-seed");
    const double scale =
        p.str("point-scale") == "auto" ? (linear ? 0.1 : 1.0) : p.number("point-scale");
    x.resize(dim);
    zo::gaussian_fill(point_seed, 0, x.data(), dim);
    for (float& v : x) v = static_cast<float>(v * scale);
    point_text = "random (seed " + std::to_string(point_seed) + ", scale " + fmt(scale) + ")";
  }
  if (p.given("save-point")) {
    zo::write_point_file(p.str("save-point"), x.data(), dim);
  }
  std::ostringstream out_file;
  const std::string out_path = p.str("out");
  const bool json = out_path.size() >= 5 && out_path.compare(out_path.size() - 5, 5, ".json") == 0;

  std::printf("objective: %s\npoint:     %s\n", description.c_str(), point_text.c_str());
  double exact = std::nan("");
  if (objective->has_exact_trace()) {
    zo::TraceOptions host = options;
    host.backend = zo::Backend::cpu;
    exact = zo::trace_exact(*objective, x.data(), host).estimate;
  }
  std::vector<Row> rows;
  for (zo::TraceEstimator e : estimators) {
    const auto start = std::chrono::steady_clock::now();
    Row row;
    row.estimate = zo::estimate_trace(e, *objective, x.data(), probes, seed, options);
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::string line = zo::to_string(row.estimate);
    if (e != zo::TraceEstimator::exact && std::isfinite(exact) && row.estimate.std_error > 0.0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "  [%+.1f SE from exact]",
                    (row.estimate.estimate - exact) / row.estimate.std_error);
      line += buf;
    }
    std::printf("%-11s %s\n", zo::to_string(e), line.c_str());
    if (row.estimate.rounding_error > std::fabs(row.estimate.estimate) ||
        (row.estimate.std_error > 0 && row.estimate.rounding_error > row.estimate.std_error)) {
      std::fprintf(stderr,
                   "zo trace: warning: %s: the float32 rounding error bound (%.3g) exceeds the %s; "
                   "the estimate is not reliable: use a larger --epsilon\n",
                   zo::to_string(e), row.estimate.rounding_error,
                   row.estimate.rounding_error > std::fabs(row.estimate.estimate)
                       ? "estimate"
                       : "standard error");
    }
    rows.push_back(row);
  }
  if (!out_path.empty()) {
    const char* fields[] = {"objective",
                            "dim",
                            "point",
                            "estimator",
                            "probes",
                            "seed",
                            "epsilon",
                            "estimate",
                            "std_error",
                            "exact",
                            "value_evaluations",
                            "gradient_evaluations",
                            "hvp_evaluations",
                            "rounding_error",
                            "backend",
                            "seconds"};
    if (json)
      out_file << "[\n";
    else {
      for (std::size_t i = 0; i < sizeof fields / sizeof *fields; ++i)
        out_file << (i ? "," : "") << fields[i];
      out_file << '\n';
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const zo::TraceEstimate& t = rows[r].estimate;
      const std::vector<std::string> values = {
          json ? json_string(objective->name()) : objective->name(),
          std::to_string(dim),
          json ? json_string(point_text) : "\"" + point_text + "\"",
          json ? json_string(zo::to_string(t.estimator)) : zo::to_string(t.estimator),
          std::to_string(t.probes),
          std::to_string(seed),
          json ? json_number(t.epsilon) : fmt(t.epsilon),
          json ? json_number(t.estimate) : fmt(t.estimate),
          json ? json_number(t.std_error) : fmt(t.std_error),
          json ? json_number(exact) : fmt(exact),
          std::to_string(t.value_evaluations),
          std::to_string(t.gradient_evaluations),
          std::to_string(t.hvp_evaluations),
          json ? json_number(t.rounding_error) : fmt(t.rounding_error),
          json ? json_string(zo::to_string(t.backend)) : zo::to_string(t.backend),
          json ? json_number(rows[r].seconds) : fmt(rows[r].seconds)};
      if (json) {
        out_file << "  {";
        for (std::size_t i = 0; i < values.size(); ++i)
          out_file << (i ? ", " : "") << "\"" << fields[i] << "\": " << values[i];
        out_file << (r + 1 < rows.size() ? "},\n" : "}\n");
      } else {
        for (std::size_t i = 0; i < values.size(); ++i) out_file << (i ? "," : "") << values[i];
        out_file << '\n';
      }
    }
    if (json) out_file << "]\n";
    zo::write_file_atomically(out_path, out_file.str());
    std::printf("wrote %s\n", out_path.c_str());
  }
  return 0;
}

}  // namespace zo_cli

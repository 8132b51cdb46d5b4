// `zo sweep`: a grid of runs (seeds × λ × η × q × method) on one problem, advanced together in
// batches, written as one long CSV table plus a per-configuration summary, checkpointed,
// resumable, and drawn as a banded figure.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_args.hpp"
#include "cli_common.hpp"
#include "cli_linear_data.hpp"
#include "cli_mpi.hpp"
#include "commands.hpp"
#include "grid_driver.hpp"
#include "zo/atomic_file.hpp"
#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/libsvm.hpp"
#include "zo/linear_model.hpp"
#include "zo/sweep.hpp"

#if defined(ZO_HAVE_NLOHMANN_JSON)
#include <nlohmann/json.hpp>
#endif

namespace zo_cli {
namespace {

/// Options that are flags (no value) — a JSON `true` turns them on.
const std::set<std::string> kFlags = {"resume", "overwrite", "no-plot", "parquet", "quiet"};

/// Reads a JSON config file into `--name value` arguments (the command line is appended after
/// them, so explicit options win). Keys are the long option names; values may be strings,
/// numbers, booleans (flags) or arrays (joined with commas).
std::vector<std::string> config_arguments(const std::string& path) {
#if defined(ZO_HAVE_NLOHMANN_JSON)
  check_input(path, "--config", "sweep");
  std::ifstream in(path);
  if (!in) throw UsageError("zo sweep: --config: cannot read '" + path + "'");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    throw UsageError("zo sweep: --config: '" + path + "' is not valid JSON: " + e.what());
  }
  if (!doc.is_object()) throw UsageError("zo sweep: --config: '" + path + "' must hold an object");
  auto scalar = [&](const std::string& key, const nlohmann::json& v) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
    if (v.is_number_float()) return v.dump();  // shortest round-trip form, e.g. 0.05
    throw UsageError("zo sweep: --config: key '" + key + "' has an unsupported value " + v.dump());
  };
  std::vector<std::string> args;
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    const auto& v = item.value();
    if (key == "config") throw UsageError("zo sweep: --config: a config file cannot name another");
    if (kFlags.count(key)) {
      if (!v.is_boolean())
        throw UsageError("zo sweep: --config: key '" + key + "' is a flag: use true or false");
      if (v.get<bool>()) args.push_back("--" + key);
      continue;
    }
    std::string text;
    if (v.is_array()) {
      for (std::size_t i = 0; i < v.size(); ++i) text += (i ? "," : "") + scalar(key, v[i]);
    } else {
      text = scalar(key, v);
    }
    args.push_back("--" + key + "=" + text);
  }
  return args;
#else
  throw UsageError("zo sweep: --config '" + path +
                   "': this zo was built without JSON support (install nlohmann-json3-dev and "
                   "reconfigure); pass the options on the command line instead");
#endif
}

/// The most seeds one sweep takes (its tables and finals grow with configs x seeds).
constexpr std::size_t kMaxSeeds = 10000000;

std::vector<float> float_list(const ArgParser& p, const std::string& name) {
  std::vector<float> out;
  for (float v : p.positive_float_list(name)) out.push_back(v);
  return out;
}

template <typename T, typename Parse>
T parse_or_usage(const std::string& option, const std::string& text, Parse parse) {
  try {
    return parse(text);
  } catch (const zo::Error& e) {
    throw UsageError("zo sweep: --" + option + ": " + e.what());
  }
}

/// The problem of the sweep and its default initial scale.
struct Problem {
  std::shared_ptr<const zo::Objective> objective;
  float init_scale = 1.0f;
  std::string description;
};

Problem make_problem(const ArgParser& p, zo::Backend backend) {
  const std::string name = p.str("problem");
  Problem out;
  if (name == "example21") {
    out.objective = std::make_unique<zo::Example21>(static_cast<std::size_t>(p.integer("d", 1)));
    out.init_scale = 1.0f;  // y, z ~ N(0, I), as in Figure 1
    return out;
  }
  if (name == "svm" || name == "logistic") {
    LinearData loaded = load_linear_data(p, "sweep", /*need_test=*/true);
    zo::TrainTestSplit& data = loaded.split;
    const std::string& description = loaded.description;
    zo::LinearModelOptions options;
    options.backend = backend;
    out.objective = std::make_unique<zo::LinearModel>(
        zo::parse_linear_loss(name),
        std::make_shared<const zo::BinaryDataset>(std::move(data.train)),
        std::make_shared<const zo::BinaryDataset>(std::move(data.test)), options);
    out.init_scale = 0.1f;  // x0 = 0.1 N(0, I), as in Figure 2
    out.description =
        name + " on " + description + ", " + std::to_string(out.objective->dim()) + " parameters";
    return out;
  }
  throw UsageError("zo sweep: --problem: unknown problem '" + name +
                   "' (expected example21, svm or logistic)");
}

std::string with_suffix(const std::string& path, const std::string& suffix,
                        const std::string& extension) {
  const std::string stem = with_extension(path, "");
  return stem + suffix + extension;
}

}  // namespace

int cmd_sweep(const std::vector<std::string>& args) {
  ArgParser p(
      "sweep",
      "Runs a grid of ZO / GD / ZO(lambda->0) runs over seeds, lambdas, step sizes and q on\n"
      "one problem. All runs advance together in memory-bounded batches (GPU or CPU) and are\n"
      "logged into one long CSV (run, config, seed, method, lambda, eta, q, iteration, loss,\n"
      "trace, problem metrics, status), a summary CSV per configuration (final mean +- SE\n"
      "over seeds) and a banded PNG. Checkpoints let Ctrl-C / --resume continue to results\n"
      "byte-identical to an uninterrupted sweep. Options may come from a JSON file\n"
      "(--config; keys are option names; the command line overrides it).");
  p.option("config", "", "JSON file with any of these options (keys without the dashes)");
  p.option("problem", "example21",
           "example21 (h(y,z) = (y'z - 1)^2/2), svm or logistic (linear models, Figure 2)");
  p.option("d", "100", "example21: dimension of y and of z (2d parameters)");
  add_linear_data_options(p, "svm/logistic: ");
  p.option("seeds", "0:10", "seeds: comma list and/or ranges a:b (b exclusive)");
  p.option("methods", "gd,zo,zo0", "methods: gd, zo, zo0 (ZO with lambda->0)");
  p.option("lambdas", "0.1,0.05,0.01", "smoothing radii of the zo runs");
  p.option("etas", "", "step sizes of every method (default: per-method lists below)");
  p.option("gd-etas", "0.01", "step sizes of gd runs (when --etas is not given)");
  p.option("zo-etas", "0.001", "step sizes of zo runs (when --etas is not given)");
  p.option("zo0-etas", "0.001", "step sizes of zo0 runs (when --etas is not given)");
  p.option("qs", "1", "directions per step (zo and zo0)");
  p.option("distribution", "gaussian", "direction distribution: gaussian, rademacher or sphere");
  p.option("steps", "100000", "iterations T of every run");
  p.option("log-points", "100", "log-spaced logged iterations (plus 0 and T)");
  p.option("log-every", "0", "log every N iterations instead of log-spaced (0 = log-spaced)");
  p.option("init-scale", "",
           "initial point scale: x0 = s * N(0, I) per seed (default per problem)");
  p.option("init", "",
           "start point file for every run (text, or raw float32 .f32, the format of zo trace "
           "--save-point); default: init-scale * N(0, I) drawn from each seed");
  p.option("backend", "auto", "auto, cpu or cuda");
  p.option("engine", "auto",
           "auto, fused (Example 2.1 on chip), generic (any problem) or margins (svm/logistic, zo "
           "runs only)");
  p.option("batch-size", "0", "runs advanced together (0 = automatic, memory-bounded)");
  add_divergence_option(p);
  p.option("out", "out/sweep.csv",
           "long table; the summary (_summary.csv), checkpoint (.ckpt), PNG and Parquet go beside");
  p.option("checkpoint-seconds", "60", "write a checkpoint at least this often (0 = off)");
  p.option("checkpoint-steps", "0", "... and every N steps of a batch (0 = off)");
  p.option("trace-estimator", "exact",
           "trace column: exact (closed form), or an estimate: hutchinson, zo, sharpness, hutch++");
  p.option("trace-probes", "16", "probes per trace estimate");
  p.option("trace-seed", "0", "seed of the trace probes (the same at every logged iteration)");
  p.option("band", "se", "figure bands: se (mean +- standard error) or quantile (10-90%)");
  p.option("stop-after-steps", "0",
           "testing: behave as if Ctrl-C came once N run-steps are done (0 = off)");
  p.flag("resume", "continue from the checkpoint beside --out (if any)");
  p.flag("overwrite", "start over even if a checkpoint of an unfinished sweep exists beside --out");
  p.flag("no-plot", "do not draw the PNG");
  p.flag("parquet", "also write the table as Parquet (needs python3 with pyarrow)");
  p.flag("quiet", "no progress output");

  // A config file supplies defaults; explicit command-line options override it.
  {
    ArgParser first = p;
    if (!first.parse(args)) return 0;
    if (!first.str("config").empty()) {
      std::vector<std::string> merged = config_arguments(first.str("config"));
      merged.insert(merged.end(), args.begin(), args.end());
      if (!p.parse(merged)) return 0;
    } else {
      p.parse(args);
    }
  }

  if (p.has_flag("quiet")) zo::set_log_sink({});  // errors only
  zo::SweepSpec spec;
  spec.backend = parse_or_usage<zo::Backend>(
      "backend", p.str("backend"), [](const std::string& t) { return zo::parse_backend(t); });
  Problem problem = make_problem(p, spec.backend);
  spec.seeds = p.unsigned_list("seeds", kMaxSeeds);
  spec.steps = static_cast<std::uint64_t>(p.integer("steps", 0));
  if (spec.steps > zo::kMaxStep + 1) throw UsageError("zo sweep: --steps: at most 4294967295");
  const auto distribution = parse_or_usage<zo::Distribution>(
      "distribution", p.str("distribution"),
      [](const std::string& t) { return zo::parse_distribution(t); });
  std::vector<std::uint32_t> qs;
  for (long long q : p.integer_list("qs", 1)) {
    if (std::find(qs.begin(), qs.end(), static_cast<std::uint32_t>(q)) != qs.end())
      throw UsageError("zo sweep: --qs: " + std::to_string(q) + " appears twice (give each once)");
    qs.push_back(static_cast<std::uint32_t>(q));
  }
  {
    const auto methods = p.list("methods");
    for (std::size_t i = 0; i < methods.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (methods[i] == methods[j])
          throw UsageError("zo sweep: --methods: " + methods[i] +
                           " appears twice (give each once)");
  }
  const bool common_etas = p.given("etas") && !p.str("etas").empty();
  for (const auto& m : p.list("methods")) {
    const zo::Method method = parse_or_usage<zo::Method>(
        "methods", m, [](const std::string& t) { return zo::parse_method(t); });
    const std::string eta_option =
        common_etas && !p.given(std::string(zo::to_string(method)) + "-etas")
            ? "etas"
            : std::string(zo::to_string(method)) + "-etas";
    const auto configs = zo::sweep_grid({method}, float_list(p, "lambdas"),
                                        float_list(p, eta_option), qs, distribution);
    spec.configs.insert(spec.configs.end(), configs.begin(), configs.end());
  }
  const auto log_every = static_cast<std::uint64_t>(p.integer("log-every", 0));
  if (log_every > 0) {
    for (std::uint64_t t = 0; t <= spec.steps; t += log_every) spec.log_iterations.push_back(t);
  } else {
    spec.log_iterations =
        log_schedule(spec.steps, static_cast<std::size_t>(p.integer("log-points", 1)));
  }
  spec.init_scale =
      p.str("init-scale").empty() ? problem.init_scale : static_cast<float>(p.number("init-scale"));
  if (!(spec.init_scale >= 0.0f))
    throw UsageError("zo sweep: --init-scale: must be >= 0 (got " + p.str("init-scale") + ")");
  spec.batch_size = static_cast<std::size_t>(p.integer("batch-size", 0));
  apply_divergence_option(p, spec);
  {
    // At least one run's iterate and step points must fit; the sweep sizes its batches itself.
    std::uint32_t q_max = 1;
    for (const auto& c : spec.configs) q_max = std::max(q_max, c.q);
    const double dim = static_cast<double>(problem.objective->dim());
    const double batch = spec.batch_size ? static_cast<double>(spec.batch_size) : 1.0;
    check_memory("sweep", p.given("d") ? "--d" : "--batch-size",
                 batch * dim * 4.0 * (3.0 + 2.0 * q_max), "a batch of runs");
    check_memory("sweep", "--seeds",
                 96.0 * static_cast<double>(spec.configs.size() * spec.seeds.size()),
                 "the final row of every run");
  }
  if (!p.str("init").empty()) {
    if (p.given("init-scale"))
      throw UsageError("zo sweep: --init-scale: not used with --init (the file is the start)");
    spec.initial_point = read_initial_point(p, "sweep", problem.objective->dim());
  }
  spec.trace_estimator = parse_or_usage<zo::TraceEstimator>(
      "trace-estimator", p.str("trace-estimator"),
      [](const std::string& t) { return zo::parse_trace_estimator(t); });
  spec.trace_probes = static_cast<std::uint32_t>(p.integer("trace-probes", 1));
  spec.trace_seed = static_cast<std::uint64_t>(p.integer("trace-seed", 0));
  spec.engine = parse_or_usage<zo::Engine>(
      "engine", p.str("engine"), [](const std::string& t) { return zo::parse_engine(t); });
  const std::string band = p.str("band");
  if (band != "se" && band != "quantile")
    throw UsageError("zo sweep: --band: expected se or quantile, got '" + band + "'");

  GridOutput output;
  output.command = "sweep";
  output.table_path = p.str("out");
  output.summary_path = with_suffix(output.table_path, "_summary", ".csv");
  output.checkpoint_path = with_extension(output.table_path, ".ckpt");
  output.checkpoint_seconds = p.number("checkpoint-seconds");
  output.checkpoint_steps = static_cast<std::uint64_t>(p.integer("checkpoint-steps", 0));
  output.resume = p.has_flag("resume");
  if (output.checkpoint_seconds < 0)
    throw UsageError("zo sweep: --checkpoint-seconds: must be >= 0 (got " +
                     p.str("checkpoint-seconds") + ")");
  check_output(output.table_path, "out", "sweep");
  std::vector<NamedPath> inputs = linear_data_inputs(p);
  inputs.push_back({"--config", p.str("config")});
  inputs.push_back({"--init", p.str("init")});
  const std::string png = p.has_flag("no-plot") ? "" : with_extension(output.table_path, ".png");
  const std::string parquet =
      p.has_flag("parquet") ? with_extension(output.table_path, ".parquet") : "";
  check_distinct_paths("sweep",
                       {{"--out", output.table_path},
                        {"summary", output.summary_path},
                        {"checkpoint", output.checkpoint_path},
                        {"figure", png},
                        {"Parquet file", parquet}},
                       inputs);
  // A checkpoint is unfinished work: never discard it silently.
  if (!output.resume && std::filesystem::exists(output.checkpoint_path)) {
    if (!p.has_flag("overwrite")) {
      throw UsageError("zo sweep: a checkpoint of an unfinished sweep exists at '" +
                       output.checkpoint_path +
                       "': continue it with --resume, or start over with --overwrite");
    }
    std::filesystem::remove(output.checkpoint_path);
    std::filesystem::remove(zo::sweep_part_path(output.table_path));
  }

  if (!p.has_flag("quiet") && !problem.description.empty())
    std::fprintf(stderr, "zo sweep: %s\n", problem.description.c_str());
  std::vector<GridJob> jobs(1);
  jobs[0].objective = std::move(problem.objective);
  jobs[0].spec = spec;
  output.quiet = p.has_flag("quiet");
  output.stop_after = static_cast<std::uint64_t>(p.integer("stop-after-steps", 0));
  output.overwrite = p.has_flag("overwrite");
  const GridResult result = run_grid(jobs, output);
  if (result.interrupted && result.exit_code == 1) return 1;  // a sharded sweep's lost ranks
  if (result.interrupted && mpi_active()) return result.exit_code;
  if (mpi_rank() != 0) return 0;  // under MPI, rank 0 writes every file and reports
  if (result.interrupted) {
    std::fprintf(stderr,
                 "zo sweep: stopped at a step boundary; checkpoint written to %s. Continue with "
                 "the same options plus --resume.\n",
                 output.checkpoint_path.c_str());
    return result.exit_code;
  }
  std::printf("wrote %s\nwrote %s\n", output.table_path.c_str(), output.summary_path.c_str());
  if (!parquet.empty()) {
    const std::string tmp = zo::temporary_path_for(parquet);
    const std::string cmd = "python3 '" + scripts_dir() + "/sweep_to_parquet.py' '" +
                            output.table_path + "' '" + parquet + "'";
    if (std::system(("python3 '" + scripts_dir() + "/sweep_to_parquet.py' '" + output.table_path +
                     "' '" + tmp + "'")
                        .c_str()) == 0) {
      zo::publish_file(tmp, parquet);
      std::printf("wrote %s\n", parquet.c_str());
    } else {
      std::fprintf(stderr,
                   "zo sweep: Parquet not written (needs python3 with pyarrow: python3 -m pip "
                   "install pyarrow); the CSV is complete. Command:\n  %s\n",
                   cmd.c_str());
    }
  }
  if (!png.empty()) {
    if (run_plot_script("plot_sweep.py",
                        {output.table_path, "--summary", output.summary_path, "--band", band}, png))
      std::printf("wrote %s\n", png.c_str());
  }
  return 0;
}

}  // namespace zo_cli

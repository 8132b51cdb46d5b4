// RunBatch front end: validation, engine and backend selection, and the step loop shared by the
// engines that advance one step at a time.
#include "zo/run_batch.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <string>

#include "batch/example21_fused_math.hpp"
#include "batch/run_batch_engine.hpp"
#include "core/enum_names.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/linear_model.hpp"

namespace zo {

namespace {

const detail::EnumName<Method> kMethodNames[] = {
    {Method::zo, "zo"},
    {Method::gd, "gd"},
    {Method::zo_limit, "zo0"},
    {Method::zo_limit, "zo-limit"},
    {Method::zo_limit, "zo_limit"},
};

const detail::EnumName<Distribution> kDistributionNames[] = {
    {Distribution::gaussian, "gaussian"},
    {Distribution::rademacher, "rademacher"},
    {Distribution::sphere, "sphere"},
    {Distribution::gaussian, "normal"},
};

const detail::EnumName<Engine> kEngineNames[] = {
    {Engine::automatic, "auto"},   {Engine::generic, "generic"},     {Engine::fused, "fused"},
    {Engine::margins, "margins"},  {Engine::automatic, "automatic"}, {Engine::generic, "batched"},
    {Engine::generic, "runbatch"}, {Engine::fused, "persistent"},
};

}  // namespace

const char* to_string(Method method) { return detail::enum_to_string(kMethodNames, method); }

Method parse_method(const std::string& text) {
  return detail::enum_parse(kMethodNames, text, "method");
}

const char* to_string(Distribution distribution) {
  return detail::enum_to_string(kDistributionNames, distribution);
}

Distribution parse_distribution(const std::string& text) {
  return detail::enum_parse(kDistributionNames, text, "distribution");
}

const char* to_string(Engine engine) { return detail::enum_to_string(kEngineNames, engine); }

Engine parse_engine(const std::string& text) {
  return detail::enum_parse(kEngineNames, text, "engine");
}

void validate(const RunSpec& spec) {
  ZO_EXPECTS(std::isfinite(spec.eta) && spec.eta > 0.0f,
             "eta (step size) must be a finite number > 0, got " + std::to_string(spec.eta));
  if (spec.method == Method::zo) {
    ZO_EXPECTS(std::isfinite(spec.lambda) && spec.lambda > 0.0f,
               "lambda (smoothing radius) must be a finite number > 0, got " +
                   std::to_string(spec.lambda));
  }
  ZO_EXPECTS(spec.q >= 1, "q (directions per step) must be at least 1");
  ZO_EXPECTS(static_cast<std::uint32_t>(spec.distribution) <= 2, "unknown distribution");
}

namespace {

/// Why `engine` cannot run these runs with these options; empty when it can.
std::string engine_obstacle(Engine engine, const Objective& objective,
                            const std::vector<RunSpec>& runs, const BatchOptions& options) {
  switch (engine) {
    case Engine::automatic:
    case Engine::generic:
      return {};
    case Engine::fused: {
      if (objective.structure() != ObjectiveStructure::example21)
        return "the objective '" + objective.name() + "' is not Example 2.1";
      const std::size_t half = objective.dim() / 2;
      if (half > detail::kFusedMaxHalfDim)
        return "d = " + std::to_string(half) + " > " + std::to_string(detail::kFusedMaxHalfDim);
      if (options.on_non_finite != NonFinitePolicy::mark_diverged)
        return "it marks runs with non-finite values diverged (NonFinitePolicy::mark_diverged) "
               "and supports no other policy";
      for (std::size_t k = 0; k < runs.size(); ++k) {
        if (runs[k].q > detail::kFusedMaxQ)
          return "run " + std::to_string(k) + " has q = " + std::to_string(runs[k].q) + " > " +
                 std::to_string(detail::kFusedMaxQ);
        if (runs[k].distribution == Distribution::sphere)
          return "run " + std::to_string(k) + " uses sphere directions";
      }
      return {};
    }
    case Engine::margins: {
      if (objective.structure() != ObjectiveStructure::linear_model)
        return "the objective '" + objective.name() + "' is not a linear model";
      for (std::size_t k = 0; k < runs.size(); ++k) {
        if (runs[k].method == Method::zo_limit)
          return "run " + std::to_string(k) + " has method " + to_string(runs[k].method) +
                 " (only zo and gd runs are supported)";
      }
      if (options.margins_refresh_every < 1) return "margins_refresh_every is 0";
      return {};
    }
  }
  return "unknown engine";
}

}  // namespace

Engine select_engine(const Objective& objective, const std::vector<RunSpec>& runs,
                     const BatchOptions& options) {
  if (options.engine == Engine::automatic) {
    if (engine_obstacle(Engine::fused, objective, runs, options).empty()) return Engine::fused;
    // Linear models on the CPU: one product A·u per direction instead of two with x ± λu. On the
    // GPU the generic engine keeps the points on the device (the margins engine stages them).
    if (objective.structure() == ObjectiveStructure::linear_model &&
        static_cast<const LinearModel&>(objective).backend() == Backend::cpu &&
        (options.backend == Backend::cpu ||
         (options.backend == Backend::automatic &&
          resolve_backend(Backend::automatic) == Backend::cpu)) &&
        engine_obstacle(Engine::margins, objective, runs, options).empty()) {
      return Engine::margins;
    }
    return Engine::generic;
  }
  const std::string why = engine_obstacle(options.engine, objective, runs, options);
  if (!why.empty()) {
    ZO_FAIL(InvalidArgument, std::string("the ") + to_string(options.engine) +
                                 " engine cannot run this batch: " + why);
  }
  return options.engine;
}

namespace detail {

BatchEngine::BatchEngine(const Objective& objective, std::vector<RunSpec> runs,
                         const BatchOptions& options)
    : next_step(options.start_step),
      objective_(objective),
      runs_(std::move(runs)),
      statuses_(runs_.size()),
      policy_(options.on_non_finite) {}

BatchEngine::~BatchEngine() = default;

void BatchEngine::step(std::uint64_t) {
  ZO_FAIL(Error, "internal: this engine advances whole ranges of steps only");
}

void BatchEngine::advance(std::uint64_t steps) {
  const auto start = std::chrono::steady_clock::now();
  begin_run();
  for (std::uint64_t i = 0; i < steps; ++i) {
    const std::uint64_t s = next_step;
    try {
      step(s);
    } catch (const ObjectiveError&) {
      throw;  // already names the step and the run
    } catch (const std::exception& e) {
      // Typically the objective threw. Nothing was updated for this step.
      throw ObjectiveError("step " + std::to_string(s) + " failed: " + e.what(), s, -1);
    } catch (...) {
      throw ObjectiveError("step " + std::to_string(s) +
                               " failed: the objective threw an exception that is not a "
                               "std::exception",
                           s, -1);
    }
    next_step = s + 1;
  }
  end_run();
  last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void BatchEngine::advance_logged(std::uint64_t steps, const std::vector<std::uint64_t>& log_its,
                                 double* values) {
  const std::uint64_t end = next_step + steps;
  const std::size_t K = runs_.size();
  const std::size_t M = objective_.metric_names().size();
  const std::size_t width = 2 + M;
  std::vector<double> loss(K), trace(K), metrics(K * M);
  double seconds = 0.0;
  for (std::size_t i = 0; i < log_its.size(); ++i) {
    advance(log_its[i] - next_step);
    seconds += last_seconds;
    measure(loss.data(), trace.data(), M ? metrics.data() : nullptr);
    for (std::size_t k = 0; k < K; ++k) {
      double* row = values + (i * K + k) * width;
      row[0] = loss[k];
      row[1] = trace[k];
      for (std::size_t m = 0; m < M; ++m) row[2 + m] = metrics[k * M + m];
    }
  }
  advance(end - next_step);
  last_seconds += seconds;
}

bool BatchEngine::reject_non_finite(std::size_t k, std::uint64_t step, const char* what) {
  switch (policy_) {
    case NonFinitePolicy::error:
      throw ObjectiveError(std::string(what) + " is not finite at step " + std::to_string(step) +
                               " of run " + std::to_string(k) +
                               " (no run was updated for this step)",
                           step, static_cast<std::int64_t>(k));
    case NonFinitePolicy::skip:
      statuses_[k].skipped_steps += 1;
      return true;
    case NonFinitePolicy::mark_diverged:
      statuses_[k].diverged = true;
      statuses_[k].diverged_at = step;
      return true;
  }
  return true;
}

PointBatch host_points(const float* data, std::size_t count, std::size_t dim) {
  return PointBatch{data, count, dim, dim, MemorySpace::host, StreamView{}};
}

void BatchEngine::measure_host(const float* x, double* loss, double* trace, double* metrics) const {
  const std::size_t K = runs_.size();
  const PointBatch all = host_points(x, K, objective_.dim());
  if (loss) objective_.evaluate(all, loss);
  if (trace) {
    if (objective_.has_exact_trace()) {
      objective_.exact_trace(all, trace);
    } else {
      std::fill(trace, trace + K, std::numeric_limits<double>::quiet_NaN());
    }
  }
  if (metrics && !objective_.metric_names().empty()) objective_.metrics(all, metrics);
}

}  // namespace detail

RunBatch::RunBatch(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
                   BatchOptions options) {
  ZO_EXPECTS(!runs.empty(), "RunBatch needs at least one run");
  ZO_EXPECTS(objective.dim() >= 1, "objective dimension must be at least 1");
  ZO_EXPECTS(x0 != nullptr, "RunBatch: x0 is null");
  ZO_EXPECTS(options.start_step <= kMaxStep, "start_step exceeds the largest step index 2^32-2");
  ZO_EXPECTS(
      options.gpu_group == 0 || options.gpu_group == 4 || options.gpu_group == 8 ||
          options.gpu_group == 16 || options.gpu_group == 32,
      "RunBatch: gpu_group must be 0, 4, 8, 16 or 32, got " + std::to_string(options.gpu_group));
  bool needs_gradient = false;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    try {
      validate(runs[k]);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("run " + std::to_string(k) + ": " + e.what());
    }
    needs_gradient = needs_gradient || runs[k].method != Method::zo;
  }
  if (needs_gradient && !objective.has_gradient()) {
    ZO_FAIL(NotSupported,
            "objective '" + objective.name() + "' has no gradient, which methods gd and zo0 need");
  }
  const Engine engine = select_engine(objective, runs, options);
  const Backend backend = resolve_backend(options.backend);
  switch (engine) {
    case Engine::fused:
      impl_ = backend == Backend::cuda
                  ? detail::make_cuda_fused_example21(objective, std::move(runs), x0, options)
                  : detail::make_cpu_fused_example21(objective, std::move(runs), x0, options);
      break;
    case Engine::margins:
      impl_ = detail::make_linear_margins(objective, std::move(runs), x0, options);
      break;
    default:
      impl_ = backend == Backend::cuda
                  ? detail::make_cuda_run_batch(objective, std::move(runs), x0, options)
                  : detail::make_cpu_run_batch(objective, std::move(runs), x0, options);
  }
}

RunBatch::~RunBatch() = default;
RunBatch::RunBatch(RunBatch&&) noexcept = default;
RunBatch& RunBatch::operator=(RunBatch&&) noexcept = default;

std::size_t RunBatch::size() const { return impl_->runs().size(); }
std::size_t RunBatch::dim() const { return impl_->objective().dim(); }
std::uint64_t RunBatch::next_step() const { return impl_->next_step; }
Backend RunBatch::backend() const { return impl_->backend(); }
Engine RunBatch::engine() const { return impl_->kind(); }
unsigned RunBatch::gpu_group() const { return impl_->gpu_group(); }
const std::vector<RunSpec>& RunBatch::runs() const { return impl_->runs(); }
std::vector<RunStatus> RunBatch::statuses() const { return impl_->statuses(); }
double RunBatch::last_run_seconds() const { return impl_->last_seconds; }

void RunBatch::run(std::uint64_t steps) {
  ZO_EXPECTS(impl_->next_step + steps <= kMaxStep + 1,
             "step index would exceed 2^32-2: directions are keyed by a 32-bit step");
  impl_->advance(steps);
}

void RunBatch::run(std::uint64_t steps, const std::vector<std::uint64_t>& log_iterations,
                   double* values) {
  const std::uint64_t begin = impl_->next_step;
  ZO_EXPECTS(begin + steps <= kMaxStep + 1,
             "step index would exceed 2^32-2: directions are keyed by a 32-bit step");
  for (std::size_t i = 0; i < log_iterations.size(); ++i) {
    const std::uint64_t t = log_iterations[i];
    ZO_EXPECTS(t >= begin && t <= begin + steps,
               "RunBatch::run: logged iteration " + std::to_string(t) + " is outside [" +
                   std::to_string(begin) + ", " + std::to_string(begin + steps) + "]");
    ZO_EXPECTS(i == 0 || t > log_iterations[i - 1],
               "RunBatch::run: logged iterations must be sorted and unique");
  }
  ZO_EXPECTS(log_iterations.empty() || values != nullptr,
             "RunBatch::run: values is null but iterations are logged");
  impl_->advance_logged(steps, log_iterations, values);
}

void RunBatch::copy_points(float* x_host) const { impl_->copy_points(x_host); }

void RunBatch::restore(const float* x_host, std::uint64_t next_step,
                       const std::vector<RunStatus>& status) {
  ZO_EXPECTS(status.size() == size(), "restore: " + std::to_string(status.size()) +
                                          " statuses for " + std::to_string(size()) + " runs");
  ZO_EXPECTS(next_step <= kMaxStep + 1, "restore: step index exceeds 2^32-2");
  impl_->statuses() = status;
  impl_->next_step = next_step;
  impl_->set_points(x_host);
}

void RunBatch::measure(double* loss, double* trace, double* metrics) const {
  impl_->measure(loss, trace, metrics);
}

bool exceeds_divergence_bound(const DivergenceBound& bound, double loss, double start_loss,
                              double best_loss, double norm, double start_norm) {
  if (!std::isfinite(loss)) return true;
  if (bound.loss_factor > 0 && std::isfinite(start_loss) && std::isfinite(best_loss) &&
      loss > bound.loss_factor *
                 std::max({std::fabs(start_loss), std::fabs(best_loss), bound.loss_floor}))
    return true;
  if (bound.norm_factor > 0 &&
      (!std::isfinite(norm) || norm > bound.norm_factor * std::max(start_norm, 1.0)))
    return true;
  return false;
}

namespace {

double norm_of(const float* x, std::size_t n) {
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return std::sqrt(sum);
}

}  // namespace

double minimize(const Objective& objective, float* x, const RunSpec& spec, std::uint64_t steps,
                BatchOptions options, RunStatus* status) {
  RunBatch batch(objective, {spec}, x, options);
  double start = 0.0;
  batch.measure(&start);
  const double start_norm = norm_of(x, objective.dim());
  batch.run(steps);
  batch.copy_points(x);
  double loss = 0.0;
  batch.measure(&loss);
  RunStatus st = batch.statuses()[0];
  const double norm = norm_of(x, objective.dim());
  if (!st.diverged &&
      exceeds_divergence_bound(DivergenceBound{}, loss, start, start, norm, start_norm)) {
    st.diverged = true;
    st.diverged_at = steps > 0 ? batch.next_step() - 1 : 0;
    if (options.on_non_finite == NonFinitePolicy::error) {
      throw ObjectiveError("the run diverged: f went from " + std::to_string(start) + " to " +
                               std::to_string(loss) + " and |x| from " +
                               std::to_string(start_norm) + " to " + std::to_string(norm) + " in " +
                               std::to_string(steps) +
                               " steps (bound: 1e4 x the start; lower the step size eta)",
                           st.diverged_at, 0);
    }
  }
  if (status) *status = st;
  return loss;
}

void gaussian_fill(std::uint64_t seed, std::uint32_t substream, float* x, std::size_t count) {
  fill_direction(Distribution::gaussian, DirectionKey{seed, kInitStep, substream}, count, x);
}

namespace detail {
std::vector<double> kept_margins(const RunBatch& batch) { return batch.impl_->kept_margins(); }
}  // namespace detail

}  // namespace zo

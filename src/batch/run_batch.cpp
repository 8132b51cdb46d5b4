// RunBatch front end: validation, backend dispatch, and the step loop shared by all backends.
#include "zo/run_batch.hpp"

#include <cmath>
#include <exception>
#include <string>

#include "batch/run_batch_engine.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {

const char* to_string(Method method) {
  switch (method) {
    case Method::zo:
      return "zo";
    case Method::gd:
      return "gd";
    case Method::zo_limit:
      return "zo0";
  }
  return "?";
}

Method parse_method(const std::string& text) {
  if (text == "zo") return Method::zo;
  if (text == "gd") return Method::gd;
  if (text == "zo0" || text == "zo-limit" || text == "zo_limit") return Method::zo_limit;
  ZO_FAIL(InvalidArgument, "unknown method '" + text + "' (expected zo, gd or zo0)");
}

const char* to_string(Distribution distribution) {
  switch (distribution) {
    case Distribution::gaussian:
      return "gaussian";
    case Distribution::rademacher:
      return "rademacher";
    case Distribution::sphere:
      return "sphere";
  }
  return "?";
}

Distribution parse_distribution(const std::string& text) {
  if (text == "gaussian" || text == "normal") return Distribution::gaussian;
  if (text == "rademacher") return Distribution::rademacher;
  if (text == "sphere") return Distribution::sphere;
  ZO_FAIL(InvalidArgument,
          "unknown distribution '" + text + "' (expected gaussian, rademacher or sphere)");
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

namespace detail {

RunBatchImpl::RunBatchImpl(const Objective& objective, std::vector<RunSpec> runs,
                           const BatchOptions& options)
    : next_step(options.start_step),
      objective_(objective),
      runs_(std::move(runs)),
      statuses_(runs_.size()),
      policy_(options.on_non_finite) {}

RunBatchImpl::~RunBatchImpl() = default;

bool RunBatchImpl::reject_non_finite(std::size_t k, std::uint64_t step, const char* what) {
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

}  // namespace detail

RunBatch::RunBatch(const Objective& objective, std::vector<RunSpec> runs, const float* x0,
                   BatchOptions options) {
  ZO_EXPECTS(!runs.empty(), "RunBatch needs at least one run");
  ZO_EXPECTS(objective.dim() >= 1, "objective dimension must be at least 1");
  ZO_EXPECTS(x0 != nullptr, "RunBatch: x0 is null");
  ZO_EXPECTS(options.start_step <= kMaxStep, "start_step exceeds the largest step index 2^32-2");
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
  const Backend backend = resolve_backend(options.backend);
  impl_ = backend == Backend::cuda
              ? detail::make_cuda_run_batch(objective, std::move(runs), x0, options)
              : detail::make_cpu_run_batch(objective, std::move(runs), x0, options);
}

RunBatch::~RunBatch() = default;
RunBatch::RunBatch(RunBatch&&) noexcept = default;
RunBatch& RunBatch::operator=(RunBatch&&) noexcept = default;

std::size_t RunBatch::size() const { return impl_->runs().size(); }
std::size_t RunBatch::dim() const { return impl_->objective().dim(); }
std::uint64_t RunBatch::next_step() const { return impl_->next_step; }
Backend RunBatch::backend() const { return impl_->backend(); }
const std::vector<RunSpec>& RunBatch::runs() const { return impl_->runs(); }
std::vector<RunStatus> RunBatch::statuses() const { return impl_->statuses(); }

void RunBatch::run(std::uint64_t steps) {
  ZO_EXPECTS(impl_->next_step + steps <= kMaxStep + 1,
             "step index would exceed 2^32-2: directions are keyed by a 32-bit step");
  impl_->begin_run();
  for (std::uint64_t i = 0; i < steps; ++i) {
    const std::uint64_t step = impl_->next_step;
    try {
      impl_->step(step);
    } catch (const ObjectiveError&) {
      throw;  // already names the step and the run
    } catch (const std::exception& e) {
      // Typically the objective threw. Nothing was updated for this step.
      throw ObjectiveError("step " + std::to_string(step) + " failed: " + e.what(), step, -1);
    }
    impl_->next_step = step + 1;
  }
  impl_->end_run();
}

void RunBatch::copy_points(float* x_host) const { impl_->copy_points(x_host); }

void RunBatch::restore(const float* x_host, std::uint64_t next_step,
                       const std::vector<RunStatus>& status) {
  ZO_EXPECTS(status.size() == size(), "restore: " + std::to_string(status.size()) +
                                          " statuses for " + std::to_string(size()) + " runs");
  ZO_EXPECTS(next_step <= kMaxStep + 1, "restore: step index exceeds 2^32-2");
  impl_->set_points(x_host);
  impl_->next_step = next_step;
  impl_->statuses() = status;
}

void RunBatch::measure(double* loss, double* trace, double* metrics) const {
  impl_->measure(loss, trace, metrics);
}

double minimize(const Objective& objective, float* x, const RunSpec& spec, std::uint64_t steps,
                BatchOptions options) {
  RunBatch batch(objective, {spec}, x, options);
  batch.run(steps);
  batch.copy_points(x);
  double loss = 0.0;
  batch.measure(&loss);
  return loss;
}

void gaussian_fill(std::uint64_t seed, std::uint32_t stream, float* x, std::size_t count) {
  fill_direction(Distribution::gaussian, DirectionKey{seed, kInitStep, stream}, count, x);
}

}  // namespace zo

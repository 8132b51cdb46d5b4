// The Stepper state machine: which fused pass runs at each call, the non-finite policy, and the
// residual record's overflow handling. Memory work is delegated to a StepperEngine.
#include "zo/stepper.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <utility>

#include "batch/step_math.hpp"
#include "stepper/stepper_engine.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {

const char* to_string(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "f32";
    case DType::bf16:
      return "bf16";
  }
  return "?";
}

std::size_t dtype_size(DType dtype) { return dtype == DType::bf16 ? 2 : 4; }

const char* to_string(RestoreMode mode) {
  switch (mode) {
    case RestoreMode::arithmetic:
      return "arithmetic";
    case RestoreMode::copy:
      return "copy";
    case RestoreMode::residual:
      return "residual";
  }
  return "?";
}

RestoreMode parse_restore_mode(const std::string& text) {
  if (text == "arithmetic") return RestoreMode::arithmetic;
  if (text == "copy") return RestoreMode::copy;
  if (text == "residual") return RestoreMode::residual;
  ZO_FAIL(InvalidArgument,
          "unknown restore mode '" + text + "' (expected arithmetic, copy or residual)");
}

const char* to_string(ResidualCheck check) {
  switch (check) {
    case ResidualCheck::per_pass:
      return "per_pass";
    case ResidualCheck::at_update:
      return "at_update";
  }
  return "?";
}

ResidualCheck parse_residual_check(const std::string& text) {
  if (text == "per_pass") return ResidualCheck::per_pass;
  if (text == "at_update") return ResidualCheck::at_update;
  ZO_FAIL(InvalidArgument,
          "unknown residual check '" + text + "' (expected per_pass or at_update)");
}

const char* to_string(UpdateResult result) {
  switch (result) {
    case UpdateResult::recorded:
      return "recorded";
    case UpdateResult::applied:
      return "applied";
    case UpdateResult::skipped:
      return "skipped";
    case UpdateResult::retry:
      return "retry";
  }
  return "?";
}

const char* to_string(StepperPhase phase) {
  switch (phase) {
    case StepperPhase::ready:
      return "ready";
    case StepperPhase::plus:
      return "plus";
    case StepperPhase::minus:
      return "minus";
    case StepperPhase::recorded:
      return "recorded";
    case StepperPhase::perturbed:
      return "perturbed";
    case StepperPhase::diverged:
      return "diverged";
  }
  return "?";
}

namespace detail {

StepperEngine::~StepperEngine() = default;

namespace {

std::string describe(const ParamTensor& t, std::size_t index) {
  std::ostringstream os;
  os << "params[" << index << "] (data " << t.data << ", count " << t.count << ", "
     << to_string(t.dtype) << ", " << (t.space == MemorySpace::device ? "device" : "host") << ")";
  return os.str();
}

void validate_options(const StepperOptions& o) {
  ZO_EXPECTS(std::isfinite(o.lambda) && o.lambda > 0.0f,
             "StepperOptions::lambda must be finite and > 0, got " + std::to_string(o.lambda));
  ZO_EXPECTS(std::isfinite(o.eta) && o.eta >= 0.0f,
             "StepperOptions::eta must be finite and >= 0, got " + std::to_string(o.eta));
  ZO_EXPECTS(o.q >= 1 && o.q <= kMaxStepperQ, "StepperOptions::q must be in [1, " +
                                                  std::to_string(kMaxStepperQ) + "], got " +
                                                  std::to_string(o.q));
  ZO_EXPECTS(o.start_step <= kMaxStep,
             "StepperOptions::start_step must be <= 2^32 - 2, got " + std::to_string(o.start_step));
  ZO_EXPECTS(o.distribution == Distribution::gaussian ||
                 o.distribution == Distribution::rademacher ||
                 o.distribution == Distribution::sphere,
             "StepperOptions::distribution is not a known Distribution");
  ZO_EXPECTS(o.restore == RestoreMode::arithmetic || o.restore == RestoreMode::copy ||
                 o.restore == RestoreMode::residual,
             "StepperOptions::restore is not a known RestoreMode");
  ZO_EXPECTS(
      o.residual_check == ResidualCheck::per_pass || o.residual_check == ResidualCheck::at_update,
      "StepperOptions::residual_check is not a known ResidualCheck");
  ZO_EXPECTS(std::isfinite(o.max_escape_fraction) && o.max_escape_fraction > 0.0,
             "StepperOptions::max_escape_fraction must be finite and > 0, got " +
                 std::to_string(o.max_escape_fraction));
  ZO_EXPECTS(o.coordinate_offset <= (std::uint64_t{1} << 62),
             "StepperOptions::coordinate_offset must be <= 2^62, got " +
                 std::to_string(o.coordinate_offset));
  ZO_EXPECTS(o.distribution != Distribution::sphere || o.coordinate_offset == 0,
             "StepperOptions::coordinate_offset must be 0 for the sphere distribution (its norm "
             "is taken over the whole vector), got " +
                 std::to_string(o.coordinate_offset));
}

constexpr std::uint64_t kMaxCoordinate = std::uint64_t{1} << 62;

/// Drops empty tensors, checks the rest, and returns their memory space.
MemorySpace validate_params(std::vector<ParamTensor>& params, std::uint64_t offset,
                            std::uint64_t* dim) {
  std::vector<ParamTensor> kept;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ParamTensor& t = params[i];
    if (t.count == 0) continue;
    ZO_EXPECTS(t.dtype == DType::f32 || t.dtype == DType::bf16,
               describe(t, i) + ": dtype is not f32 or bf16");
    ZO_EXPECTS(t.space == MemorySpace::host || t.space == MemorySpace::device,
               describe(t, i) + ": unknown memory space");
    ZO_EXPECTS(t.data != nullptr, describe(t, i) + ": data is null");
    ZO_EXPECTS(reinterpret_cast<std::uintptr_t>(t.data) % dtype_size(t.dtype) == 0,
               describe(t, i) + ": data is not aligned to its element size");
    ZO_EXPECTS(t.count <= kMaxCoordinate - offset - total,
               describe(t, i) + ": coordinate_offset + total count exceeds 2^62");
    total += t.count;
    kept.push_back(t);
  }
  ZO_EXPECTS(!kept.empty(), "Stepper needs at least one non-empty parameter tensor");
  for (std::size_t i = 1; i < kept.size(); ++i) {
    ZO_EXPECTS(kept[i].space == kept[0].space,
               "Stepper parameter tensors must all be host memory or all device memory; " +
                   describe(kept[i], i) + " differs from " + describe(kept[0], 0));
  }
  // Overlapping tensors would be perturbed twice.
  std::vector<std::pair<std::uintptr_t, std::uintptr_t>> ranges;
  for (const ParamTensor& t : kept) {
    const auto begin = reinterpret_cast<std::uintptr_t>(t.data);
    ranges.emplace_back(begin, begin + t.count * dtype_size(t.dtype));
  }
  std::sort(ranges.begin(), ranges.end());
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    ZO_EXPECTS(ranges[i].first >= ranges[i - 1].second,
               "Stepper parameter tensors overlap in memory");
  }
  params = std::move(kept);
  *dim = total;
  return params[0].space;
}

}  // namespace

class StepperImpl {
 public:
  StepperImpl(std::vector<ParamTensor> params, StepperOptions options)
      : options_(std::move(options)) {
    validate_options(options_);
    geometry_.offset = options_.coordinate_offset;
    const MemorySpace space = validate_params(params, geometry_.offset, &geometry_.dim);
    if (space == MemorySpace::device) {
      ZO_EXPECTS(options_.backend != Backend::cpu,
                 "StepperOptions::backend is cpu but the parameters are device memory");
      resolve_backend(Backend::cuda);  // NotCompiled / DeviceUnavailable with a clear message
      engine_ =
          make_cuda_stepper_engine(params, geometry_, options_.stream, options_.gpu_fast_gaussian);
    } else {
      ZO_EXPECTS(options_.backend != Backend::cuda,
                 "StepperOptions::backend is cuda but the parameters are host memory");
      engine_ = make_cpu_stepper_engine(params, geometry_);
    }
    mode_ = options_.restore;
    escape_limit_ =
        std::max<std::uint64_t>(1, static_cast<std::uint64_t>(options_.max_escape_fraction *
                                                              static_cast<double>(geometry_.dim)));
    engine_->allocate_record(
        mode_, std::min(escape_limit_, std::max<std::uint64_t>(1024, geometry_.dim / 256)));
    step_ = options_.start_step;
    f_plus_.assign(options_.q, 0.0);
    f_minus_.assign(options_.q, 0.0);
    g_.assign(options_.q, 0.0);
    coef_.assign(options_.q, 0.0f);
  }

  void perturb() {
    switch (phase_) {
      case StepperPhase::ready: {
        ZO_EXPECTS(step_ <= kMaxStep, "Stepper: step index " + std::to_string(step_) +
                                          " exceeds the largest step 2^32 - 2");
        // j_ is 0, or the direction of a pair to evaluate again after UpdateResult::retry.
        PassSpec s = spec();
        s.entry = PassEntry::at_x;
        set_exit(s, +1, step_, j_);
        s.write_backup = mode_ == RestoreMode::copy;
        run(s);
        break;
      }
      case StepperPhase::perturbed:
        j_ = 0;  // the merged update pass already moved x to x_t + λu_0
        break;
      case StepperPhase::recorded: {
        PassSpec s = spec();
        set_entry(s, PassEntry::minus, step_, j_);
        set_exit(s, +1, step_, j_ + 1);
        run(s);
        ++j_;
        break;
      }
      default:
        wrong_order("perturb()", "ready, recorded or perturbed");
    }
    phase_ = StepperPhase::plus;
  }

  void flip() {
    if (phase_ != StepperPhase::plus) wrong_order("flip()", "plus (after perturb())");
    PassSpec s = spec();
    set_entry(s, PassEntry::plus, step_, j_);
    if (mode_ == RestoreMode::arithmetic) {
      s.arithmetic_flip = 1;
    } else {
      set_exit(s, -1, step_, j_);
    }
    run(s);
    phase_ = StepperPhase::minus;
  }

  UpdateResult update(double f_plus, double f_minus) {
    if (phase_ != StepperPhase::minus) wrong_order("update()", "minus (after flip())");
    if (const std::uint64_t overflow = take_pending_overflow()) {
      // The pair was evaluated at a point where some coordinates were still at x_t. The record
      // is consistent all the same (stored exceptions are scattered back, unstored ones hold
      // x_t), so this restore is exact; the list grows only after it.
      restore_from(PassEntry::minus);
      grow_record(overflow);
      phase_ = StepperPhase::ready;
      return UpdateResult::retry;
    }
    const double g = projected_gradient(f_plus, f_minus, options_.lambda);
    const float c = update_coefficient(g, options_.eta, options_.q);
    if (!(is_finite(f_plus) && is_finite(f_minus) && is_finite(g) && is_finite(c))) {
      return reject_non_finite(f_plus, f_minus, g);
    }
    f_plus_[j_] = f_plus;
    f_minus_[j_] = f_minus;
    g_[j_] = g;
    coef_[j_] = c;
    if (j_ + 1 < options_.q) {
      phase_ = StepperPhase::recorded;
      return UpdateResult::recorded;
    }
    PassSpec s = spec();
    set_entry(s, PassEntry::minus, step_, j_);
    s.num_updates = options_.q;
    s.update_step = static_cast<std::uint32_t>(step_);
    for (std::uint32_t j = 0; j < options_.q; ++j) {
      s.coef[j] = coef_[j];
      s.update_scale[j] = scale(step_, j);
    }
    const bool merge = options_.merge_next_perturbation && step_ + 1 <= kMaxStep;
    if (merge) {
      set_exit(s, +1, step_ + 1, 0);
      s.write_backup = mode_ == RestoreMode::copy;
    }
    run(s);
    last_g_ = g_;
    ++step_;
    j_ = 0;
    phase_ = merge ? StepperPhase::perturbed : StepperPhase::ready;
    prune_scales();
    return UpdateResult::applied;
  }

  void restore() {
    const std::uint64_t overflow = take_pending_overflow();
    switch (phase_) {
      case StepperPhase::plus:
      case StepperPhase::perturbed:
        restore_from(PassEntry::plus);
        break;
      case StepperPhase::minus:
      case StepperPhase::recorded:
        restore_from(PassEntry::minus);
        break;
      case StepperPhase::ready:
      case StepperPhase::diverged:
        break;
    }
    if (overflow > 0) grow_record(overflow);
    if (phase_ != StepperPhase::diverged) phase_ = StepperPhase::ready;
    j_ = 0;
  }

  void synchronize() const { engine_->synchronize(); }

  std::uint64_t step() const { return step_; }
  std::uint32_t direction() const { return j_; }
  StepperPhase phase() const { return phase_; }
  Backend backend() const { return engine_->backend(); }
  RestoreMode restore_mode() const { return mode_; }
  std::uint64_t dimension() const { return geometry_.dim; }
  std::uint64_t skipped_steps() const { return skipped_; }
  std::uint64_t record_bytes() const { return engine_->record_bytes(); }
  std::uint64_t escapes() const {
    return last_record_ == StepperEngine::kNoTicket ? 0 : engine_->escape_count(last_record_);
  }
  const std::vector<double>& projected_gradients() const { return last_g_; }
  const StepperOptions& options() const { return options_; }

 private:
  PassSpec spec() const {
    PassSpec s{};
    s.distribution = options_.distribution;
    s.mode = mode_;
    s.lambda = options_.lambda;
    s.seed = options_.seed;
    s.first_block = geometry_.first_block();
    s.entry = PassEntry::at_x;
    return s;
  }

  void set_entry(PassSpec& s, PassEntry entry, std::uint64_t step, std::uint32_t j) {
    s.entry = entry;
    s.step_a = static_cast<std::uint32_t>(step);
    s.substream_a = j;
    s.scale_a = scale(step, j);
  }

  void set_exit(PassSpec& s, std::int32_t sign, std::uint64_t step, std::uint32_t j) {
    s.exit_sign = sign;
    s.step_b = static_cast<std::uint32_t>(step);
    s.substream_b = j;
    s.scale_b = scale(step, j);
  }

  float scale(std::uint64_t step, std::uint32_t j) {
    // Engines with device-side scales fill them in themselves (StepperEngine::scales_on_device).
    if (options_.distribution != Distribution::sphere || engine_->scales_on_device()) return 1.0f;
    const auto key = std::make_pair(step, j);
    const auto it = scales_.find(key);
    if (it != scales_.end()) return it->second;
    const float s =
        engine_->sphere_scale(DirectionKey{options_.seed, static_cast<std::uint32_t>(step), j});
    scales_.emplace(key, s);
    return s;
  }

  void prune_scales() {
    for (auto it = scales_.begin(); it != scales_.end();) {
      it = it->first.first < step_ ? scales_.erase(it) : std::next(it);
    }
  }

  /// Runs a pass; in residual mode scatters the last recording pass's exceptions first (when
  /// the pass starts perturbed, i.e. reads codes). The entry count of a recording pass is read at
  /// once (ResidualCheck::per_pass: on overflow the pass is undone, the list grown and the pass
  /// redone) or left pending until update() or restore() (ResidualCheck::at_update).
  void run(const PassSpec& s) {
    if (mode_ == RestoreMode::residual && s.entry != PassEntry::at_x) {
      engine_->scatter_escapes();
      last_record_ = StepperEngine::kNoTicket;  // written back: escapes() reports 0
    }
    const std::uint64_t ticket = engine_->run_pass(s);
    if (mode_ != RestoreMode::residual || s.exit_sign == 0) return;
    last_record_ = ticket;
    if (options_.residual_check == ResidualCheck::at_update) {
      pending_.push_back(PendingCount{ticket, engine_->escape_capacity()});
      return;
    }
    const std::uint64_t count = engine_->escape_count(ticket);
    if (count <= engine_->escape_capacity()) return;
    // Undo exactly: stored exceptions back in place, unstored ones were never perturbed.
    engine_->scatter_escapes();
    PassSpec undo = spec();
    set_entry(undo, s.exit_sign > 0 ? PassEntry::plus : PassEntry::minus, s.step_b, s.substream_b);
    engine_->run_pass(undo);
    grow_record(count);
    PassSpec redo = spec();
    set_exit(redo, s.exit_sign, s.step_b, s.substream_b);
    redo.write_backup = mode_ == RestoreMode::copy;
    const std::uint64_t again = engine_->run_pass(redo);
    if (mode_ != RestoreMode::residual) return;
    last_record_ = again;
    if (engine_->escape_count(again) > engine_->escape_capacity()) {
      ZO_FAIL(Error, "Stepper: internal error, the residual record overflowed twice");
    }
  }

  /// After an exception list of `escaped` entries overflowed (and the parameters were brought to
  /// where the record no longer matters): grows the list, or beyond max_escape_fraction·d
  /// switches to RestoreMode::copy.
  void grow_record(std::uint64_t escaped) {
    if (escaped > escape_limit_) {
      log_line("Stepper: residual record needs " + std::to_string(escaped) + " exceptions (limit " +
               std::to_string(escape_limit_) +
               " = max_escape_fraction * d); switching to RestoreMode::copy");
      mode_ = RestoreMode::copy;
      engine_->allocate_record(mode_, 0);
      last_record_ = StepperEngine::kNoTicket;
      pending_.clear();
    } else {
      engine_->reserve_escapes(
          std::min(escape_limit_, std::max(escaped + escaped / 4, 2 * engine_->escape_capacity())));
    }
  }

  /// ResidualCheck::at_update: reads the counts of the recording passes run since the last check
  /// (waiting for the newest first, which completes the others) and returns the largest count of
  /// a pass that overflowed its list, or 0 when none did.
  std::uint64_t take_pending_overflow() {
    std::uint64_t worst = 0;
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      const std::uint64_t count = engine_->escape_count(it->ticket);
      if (count > it->capacity) worst = std::max(worst, count);
    }
    pending_.clear();
    return worst;
  }

  void restore_from(PassEntry entry) {
    PassSpec s = spec();
    set_entry(s, entry, step_, j_);
    run(s);
  }

  UpdateResult reject_non_finite(double f_plus, double f_minus, double g) {
    const std::uint64_t step = step_;
    const std::uint32_t j = j_;
    restore_from(PassEntry::minus);
    j_ = 0;
    std::ostringstream os;
    os.precision(9);
    os << "Stepper: non-finite value at step " << step << ", direction " << j
       << ": f(x+lambda*u) = " << f_plus << ", f(x-lambda*u) = " << f_minus
       << ", projected gradient = " << g << "; the parameters hold x_t again";
    switch (options_.on_non_finite) {
      case NonFinitePolicy::error:
        phase_ = StepperPhase::ready;
        throw ObjectiveError(located_message(__FILE__, __LINE__, os.str()), step, -1);
      case NonFinitePolicy::skip:
        phase_ = StepperPhase::ready;
        ++skipped_;
        ++step_;
        prune_scales();
        return UpdateResult::skipped;
      case NonFinitePolicy::mark_diverged:
        phase_ = StepperPhase::diverged;
        log_line(os.str() + "; stepper marked diverged");
        return UpdateResult::skipped;
    }
    return UpdateResult::skipped;
  }

  [[noreturn]] void wrong_order(const char* call, const char* expected) const {
    std::ostringstream os;
    os << "Stepper::" << call << " called in phase '" << to_string(phase_) << "' (step " << step_
       << ", direction " << j_ << "); it needs phase " << expected;
    if (phase_ == StepperPhase::diverged) {
      ZO_FAIL(Error,
              os.str() + "; the stepper was marked diverged (NonFinitePolicy::mark_diverged)");
    }
    ZO_FAIL(InvalidArgument, os.str());
  }

  StepperOptions options_;
  StepperGeometry geometry_;
  std::unique_ptr<StepperEngine> engine_;
  RestoreMode mode_ = RestoreMode::arithmetic;
  StepperPhase phase_ = StepperPhase::ready;
  std::uint64_t step_ = 0;
  std::uint32_t j_ = 0;
  std::uint64_t skipped_ = 0;
  /// A recording pass whose entry count has not been checked yet (ResidualCheck::at_update),
  /// with the capacity its exception list had.
  struct PendingCount {
    std::uint64_t ticket;
    std::uint64_t capacity;
  };
  std::vector<PendingCount> pending_;
  /// The last recording pass, until a pass writes its exceptions back (for escapes()).
  std::uint64_t last_record_ = StepperEngine::kNoTicket;
  std::uint64_t escape_limit_ = 0;
  std::vector<double> f_plus_, f_minus_, g_, last_g_;
  std::vector<float> coef_;
  std::map<std::pair<std::uint64_t, std::uint32_t>, float> scales_;
};

}  // namespace detail

Stepper::Stepper(std::vector<ParamTensor> params, StepperOptions options)
    : impl_(std::make_unique<detail::StepperImpl>(std::move(params), std::move(options))) {}
Stepper::~Stepper() = default;
Stepper::Stepper(Stepper&&) noexcept = default;
Stepper& Stepper::operator=(Stepper&&) noexcept = default;

void Stepper::perturb() { impl_->perturb(); }
void Stepper::flip() { impl_->flip(); }
UpdateResult Stepper::update(double f_plus, double f_minus) {
  return impl_->update(f_plus, f_minus);
}
void Stepper::restore() { impl_->restore(); }
void Stepper::synchronize() const { impl_->synchronize(); }
std::uint64_t Stepper::step() const { return impl_->step(); }
std::uint32_t Stepper::direction() const { return impl_->direction(); }
StepperPhase Stepper::phase() const { return impl_->phase(); }
Backend Stepper::backend() const { return impl_->backend(); }
RestoreMode Stepper::restore_mode() const { return impl_->restore_mode(); }
std::uint64_t Stepper::dimension() const { return impl_->dimension(); }
std::uint64_t Stepper::skipped_steps() const { return impl_->skipped_steps(); }
std::uint64_t Stepper::record_bytes() const { return impl_->record_bytes(); }
std::uint64_t Stepper::escapes() const { return impl_->escapes(); }
const std::vector<double>& Stepper::projected_gradients() const {
  return impl_->projected_gradients();
}
const StepperOptions& Stepper::options() const { return impl_->options(); }

}  // namespace zo

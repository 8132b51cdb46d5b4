// The state of a sweep (zo::Sweep): batches of runs advanced by RunBatch, their logged rows,
// the finished runs' final rows, and the checkpoint contents.
#include "zo/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <sstream>

#include "batch/step_math.hpp"
#include "sweep/checkpoint_io.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {

class SweepState {
 public:
  SweepState(const Objective& objective, SweepSpec spec)
      : objective_(objective), spec_(std::move(spec)), metric_names_(objective.metric_names()) {
    if (spec_.trace_estimator != TraceEstimator::exact) {
      ZO_EXPECTS(spec_.trace_probes >= 1, "sweep: trace_probes must be at least 1");
      metric_names_.push_back("trace_se");
    }
    ZO_EXPECTS(!spec_.configs.empty(), "sweep: no configurations (empty grid)");
    ZO_EXPECTS(!spec_.seeds.empty(), "sweep: no seeds");
    ZO_EXPECTS(spec_.steps <= kMaxStep + 1,
               "sweep: steps must be below 2^32 (directions are "
               "keyed by a 32-bit step)");
    ZO_EXPECTS(std::isfinite(spec_.init_scale), "sweep: init_scale must be finite");
    ZO_EXPECTS(spec_.divergence.loss_factor >= 0 && spec_.divergence.norm_factor >= 0 &&
                   std::isfinite(spec_.divergence.loss_factor) &&
                   std::isfinite(spec_.divergence.norm_factor),
               "sweep: divergence factors must be finite and >= 0 (0 disables a test)");
    ZO_EXPECTS(spec_.initial_point.empty() || spec_.initial_point.size() == objective.dim(),
               "sweep: initial_point has " + std::to_string(spec_.initial_point.size()) +
                   " values, the objective's dimension is " + std::to_string(objective.dim()));
    ZO_EXPECTS(objective.dim() >= 1, "sweep: objective dimension must be at least 1");
    bool needs_gradient = false;
    for (std::size_t c = 0; c < spec_.configs.size(); ++c) {
      try {
        validate(to_run_spec(spec_.configs[c], 0));
      } catch (const InvalidArgument& e) {
        throw InvalidArgument("sweep config " + std::to_string(c) + ": " + e.what());
      }
      needs_gradient = needs_gradient || spec_.configs[c].method != Method::zo;
    }
    if (needs_gradient && !objective.has_gradient()) {
      ZO_FAIL(NotSupported, "objective '" + objective.name() +
                                "' has no gradient, which methods gd and zo0 need");
    }
    auto& its = spec_.log_iterations;
    for (std::uint64_t t : its)
      ZO_EXPECTS(t <= spec_.steps, "sweep: logged iteration " + std::to_string(t) +
                                       " is beyond steps = " + std::to_string(spec_.steps));
    its.push_back(spec_.steps);
    std::sort(its.begin(), its.end());
    its.erase(std::unique(its.begin(), its.end()), its.end());

    engine_ = resolve_engine();
    batch_size_ = spec_.batch_size ? std::min(spec_.batch_size, num_runs()) : auto_batch_size();
    batches_ = (num_runs() + batch_size_ - 1) / batch_size_;
    pending_.metric_count = finals_.metric_count = metric_names_.size();
    backend_ = resolve_backend(spec_.backend);
  }

  const SweepSpec& spec() const { return spec_; }
  const Objective& objective() const { return objective_; }
  const std::vector<std::string>& metric_names() const { return metric_names_; }
  std::size_t num_runs() const { return spec_.configs.size() * spec_.seeds.size(); }
  std::size_t config_of(std::size_t run) const { return run / spec_.seeds.size(); }
  RunSpec run_spec(std::size_t run) const {
    ZO_EXPECTS(run < num_runs(), "sweep: run " + std::to_string(run) + " out of range");
    return to_run_spec(spec_.configs[config_of(run)], spec_.seeds[run % spec_.seeds.size()]);
  }
  Engine engine() const { return engine_; }
  Backend backend() const { return batch_ ? batch_->backend() : backend_; }
  std::size_t batch_size() const { return batch_size_; }
  bool done() const { return batch_index_ >= batches_; }
  const SweepRows& finals() const { return finals_; }
  const SweepRows& pending() const { return pending_; }

  SweepProgress progress() const {
    SweepProgress p;
    p.runs_total = num_runs();
    p.runs_done = std::min(batch_index_ * batch_size_, num_runs());
    p.config_steps_total = static_cast<std::uint64_t>(num_runs()) * spec_.steps;
    p.config_steps_done = config_steps_done_;
    p.batch = batch_index_;
    p.batches = batches_;
    return p;
  }

  std::uint64_t advance(std::uint64_t max_steps, SweepRows* completed) {
    ZO_EXPECTS(max_steps >= 1, "Sweep::advance: max_steps must be at least 1");
    if (done()) return 0;
    if (!batch_) start_batch(nullptr, 0, {});
    const std::size_t first = batch_index_ * batch_size_;
    const std::size_t K = batch_runs();
    const std::uint64_t from = batch_->next_step();
    const std::uint64_t to = std::min<std::uint64_t>(spec_.steps, from + max_steps);
    const auto& its = spec_.log_iterations;
    std::size_t n_log = 0;
    while (next_log_ + n_log < its.size() && its[next_log_ + n_log] <= to) ++n_log;
    const std::vector<std::uint64_t> log_its(
        its.begin() + static_cast<std::ptrdiff_t>(next_log_),
        its.begin() + static_cast<std::ptrdiff_t>(next_log_ + n_log));
    run_logged(to - from, log_its);
    const std::size_t width = 2 + metric_names_.size();
    const std::vector<RunStatus> status = n_log ? batch_->statuses() : std::vector<RunStatus>{};
    for (std::size_t i = 0; i < n_log; ++i) {
      for (std::size_t k = 0; k < K; ++k) {
        const double* v = &values_[(i * K + k) * width];
        pending_.run.push_back(first + k);
        pending_.iteration.push_back(log_its[i]);
        pending_.loss.push_back(v[0]);
        pending_.trace.push_back(v[1]);
        for (std::size_t m = 0; m < metric_names_.size(); ++m) pending_.metrics.push_back(v[2 + m]);
        const bool frozen = status[k].diverged && status[k].diverged_at < log_its[i];
        pending_.diverged.push_back(frozen ? 1 : 0);
        pending_.diverged_at.push_back(frozen ? status[k].diverged_at : 0);
      }
    }
    next_log_ += n_log;
    config_steps_done_ += static_cast<std::uint64_t>(K) * (to - from);
    if (to == spec_.steps && next_log_ == its.size()) finish_batch(completed);
    return to - from;
  }

  void save(std::ostream& out) const {
    out.write(kCheckpointMagic, sizeof kCheckpointMagic);
    put_str(out, fingerprint());
    put<std::uint64_t>(out, batch_index_);
    put<std::uint64_t>(out, next_log_);
    put<std::uint64_t>(out, config_steps_done_);
    put<std::uint8_t>(out, batch_ ? 1 : 0);
    if (batch_) {
      const std::size_t K = batch_runs();
      std::vector<float> x(K * objective_.dim());
      batch_->copy_points(x.data());
      const std::vector<RunStatus> st = batch_->statuses();
      std::vector<std::uint64_t> flags(K), at(K), skipped(K);
      for (std::size_t k = 0; k < K; ++k) {
        flags[k] = st[k].diverged ? 1 : 0;
        at[k] = st[k].diverged_at;
        skipped[k] = st[k].skipped_steps;
      }
      put<std::uint64_t>(out, batch_->next_step());
      put_vec(out, x);
      put_vec(out, flags);
      put_vec(out, at);
      put_vec(out, skipped);
    }
    put_rows(out, pending_);
    put_rows(out, finals_);
    if (!out) ZO_FAIL(Error, "writing the sweep checkpoint failed");
  }

  void load(std::istream& in) {
    char magic[sizeof kCheckpointMagic];
    in.read(magic, sizeof magic);
    if (!in || std::memcmp(magic, kCheckpointMagic, sizeof magic) != 0)
      ZO_FAIL(InvalidArgument, "not a zo sweep checkpoint (bad magic)");
    const std::string fp = get_str(in);
    if (fp != fingerprint())
      ZO_FAIL(InvalidArgument,
              "the checkpoint belongs to a different sweep (objective, grid, seeds, steps, log "
              "schedule, engine or batch size differ):\n  checkpoint: " +
                  fp + "\n  this sweep: " + fingerprint());
    const auto batch_index = get<std::uint64_t>(in);
    const auto next_log = get<std::uint64_t>(in);
    const auto steps_done = get<std::uint64_t>(in);
    const auto has_batch = get<std::uint8_t>(in);
    if (batch_index > batches_ || next_log > spec_.log_iterations.size())
      ZO_FAIL(InvalidArgument, "checkpoint is corrupt (batch or log index out of range)");
    batch_.reset();
    batch_index_ = batch_index;
    next_log_ = next_log;
    config_steps_done_ = steps_done;
    if (has_batch) {
      if (batch_index_ >= batches_) ZO_FAIL(InvalidArgument, "checkpoint is corrupt (no batch)");
      const auto next_step = get<std::uint64_t>(in);
      const std::size_t K = batch_runs();
      const auto x = get_vec<float>(in, K * objective_.dim());
      const auto flags = get_vec<std::uint64_t>(in, K);
      const auto at = get_vec<std::uint64_t>(in, K);
      const auto skipped = get_vec<std::uint64_t>(in, K);
      if (x.size() != K * objective_.dim() || flags.size() != K || at.size() != K ||
          skipped.size() != K || next_step > spec_.steps)
        ZO_FAIL(InvalidArgument, "checkpoint is corrupt (batch state has the wrong size)");
      std::vector<RunStatus> st(K);
      for (std::size_t k = 0; k < K; ++k) {
        st[k].diverged = flags[k] != 0;
        st[k].diverged_at = at[k];
        st[k].skipped_steps = skipped[k];
      }
      start_batch(x.data(), next_step, st);
    }
    pending_ = get_rows(in);
    finals_ = get_rows(in);
    if (pending_.metric_count != metric_names_.size() ||
        finals_.metric_count != metric_names_.size())
      ZO_FAIL(InvalidArgument, "checkpoint is corrupt (metric count)");
    check_loaded_rows();
  }

  /// The rows of a loaded checkpoint must be those this sweep could have written: pending rows
  /// of the batch in progress at the iterations logged so far, one final row per finished run.
  void check_loaded_rows() const {
    const auto corrupt = [](const char* what) {
      ZO_FAIL(InvalidArgument, std::string("checkpoint is corrupt (") + what + ")");
    };
    const std::size_t first = batch_index_ * batch_size_;
    const std::size_t finished = std::min(first, num_runs());
    if (finals_.size() != finished) corrupt("final rows");
    for (std::size_t i = 0; i < finals_.size(); ++i) {
      if (finals_.run[i] != i || finals_.iteration[i] != spec_.steps || finals_.diverged[i] > 1)
        corrupt("final row");
    }
    const auto& its = spec_.log_iterations;
    if (!batch_) {
      if (pending_.size() != 0 || next_log_ != 0) corrupt("rows without a batch");
      return;
    }
    const std::size_t K = batch_runs();
    if (pending_.size() != next_log_ * K) corrupt("pending rows");
    for (std::size_t r = 0; r < pending_.size(); ++r) {
      if (pending_.run[r] != first + r % K || pending_.iteration[r] != its[r / K] ||
          pending_.diverged[r] > 1)
        corrupt("pending row");
    }
    if (next_log_ > 0 && its[next_log_ - 1] > batch_->next_step()) corrupt("log position");
    if (next_log_ < its.size() && its[next_log_] < batch_->next_step()) corrupt("log position");
  }

  /// Everything that determines the table's bytes.
  std::string fingerprint() const {
    std::ostringstream os;
    os << "objective=" << objective_.name() << " dim=" << objective_.dim() << " metrics=";
    for (const auto& m : metric_names_) os << m << ';';
    os << " engine=" << to_string(engine_) << " batch=" << batch_size_;
    if (engine_ != Engine::fused) os << " backend=" << to_string(spec_.backend);
    os << " steps=" << spec_.steps << " init=" << float_bits_of(spec_.init_scale);
    os << " bound=" << spec_.divergence.loss_factor << "/" << spec_.divergence.norm_factor << "/"
       << spec_.divergence.loss_floor;
    if (!spec_.initial_point.empty()) {
      std::uint64_t hx = 1469598103934665603ull;  // FNV-1a over the start point's bits
      for (float v : spec_.initial_point) {
        const std::uint32_t b = float_bits_of(v);
        for (int i = 0; i < 4; ++i) {
          hx ^= (b >> (8 * i)) & 0xffu;
          hx *= 1099511628211ull;
        }
      }
      os << " x0=" << std::hex << hx << std::dec;
    }
    if (spec_.trace_estimator != TraceEstimator::exact)
      os << " trace=" << to_string(spec_.trace_estimator) << "/" << spec_.trace_probes << "/"
         << spec_.trace_seed;
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a over configs, seeds and log schedule
    auto mix = [&h](std::uint64_t v) {
      for (int i = 0; i < 8; ++i) {
        h ^= (v >> (8 * i)) & 0xffu;
        h *= 1099511628211ull;
      }
    };
    for (const auto& c : spec_.configs) {
      mix(static_cast<std::uint64_t>(c.method));
      mix(float_bits_of(c.lambda));
      mix(float_bits_of(c.eta));
      mix(c.q);
      mix(static_cast<std::uint64_t>(c.distribution));
    }
    for (auto s : spec_.seeds) mix(s);
    for (auto t : spec_.log_iterations) mix(t);
    os << " configs=" << spec_.configs.size() << " seeds=" << spec_.seeds.size()
       << " logged=" << spec_.log_iterations.size() << " hash=" << std::hex << h;
    return os.str();
  }

 private:
  static RunSpec to_run_spec(const SweepConfig& c, std::uint64_t seed) {
    RunSpec s;
    s.method = c.method;
    s.lambda = c.lambda;
    s.eta = c.eta;
    s.q = c.q;
    s.seed = seed;
    s.distribution = c.distribution;
    return s;
  }

  /// The options of every batch (the engine still `automatic` before resolve_engine()).
  BatchOptions batch_options(Backend backend) const {
    BatchOptions options;
    options.backend = backend;
    options.engine = engine_;
    options.on_non_finite = NonFinitePolicy::mark_diverged;
    return options;
  }

  Engine resolve_engine() {
    if (spec_.trace_estimator != TraceEstimator::exact) {
      ZO_EXPECTS(spec_.engine != Engine::fused,
                 "sweep: the fused engine logs the exact trace only (estimators need another "
                 "engine)");
      if (spec_.engine == Engine::automatic) return Engine::generic;
    }
    std::vector<RunSpec> runs;
    for (std::size_t c = 0; c < spec_.configs.size(); ++c)
      runs.push_back(to_run_spec(spec_.configs[c], 0));
    engine_ = spec_.engine;
    try {
      return select_engine(objective_, runs, batch_options(spec_.backend));
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(std::string("sweep: ") + e.what());
    }
  }

  /// Bounded by the rows buffered per batch (4M) and by the iterate + scratch memory (1 GiB).
  std::size_t auto_batch_size() const {
    std::uint32_t q_max = 1;
    for (const auto& c : spec_.configs) q_max = std::max(q_max, c.q);
    const double floats_per_run =
        static_cast<double>(objective_.dim()) *
        (engine_ == Engine::fused ? 1.0 : 2.0 + 2.0 * static_cast<double>(q_max));
    const double by_memory = (1024.0 * 1024.0 * 1024.0 / 4.0) / floats_per_run;
    const double by_rows = 4.0e6 / static_cast<double>(spec_.log_iterations.size());
    const double k = std::max(1.0, std::floor(std::min(by_memory, by_rows)));
    return std::min(num_runs(), static_cast<std::size_t>(k));
  }

  std::size_t batch_runs() const {
    const std::size_t first = batch_index_ * batch_size_;
    return std::min(batch_size_, num_runs() - first);
  }

  /// The initial points of the batch in progress (run-major, K × dim).
  std::vector<float> initial_points() const {
    const std::size_t first = batch_index_ * batch_size_;
    const std::size_t K = batch_runs();
    const std::size_t dim = objective_.dim();
    std::vector<float> x0(K * dim);
    for (std::size_t k = 0; k < K; ++k) {
      float* xk = &x0[k * dim];
      if (!spec_.initial_point.empty()) {
        std::copy(spec_.initial_point.begin(), spec_.initial_point.end(), xk);
        continue;
      }
      gaussian_fill(spec_.seeds[(first + k) % spec_.seeds.size()], 0, xk, dim);
      if (spec_.init_scale != 1.0f)
        for (std::size_t i = 0; i < dim; ++i) xk[i] = detail::mul_f(spec_.init_scale, xk[i]);
    }
    return x0;
  }

  /// Creates the engine of batch batch_index_: from the seeds' initial points, or from `x`.
  void start_batch(const float* x, std::uint64_t next_step, const std::vector<RunStatus>& st) {
    const std::size_t first = batch_index_ * batch_size_;
    const std::size_t K = batch_runs();
    const std::size_t dim = objective_.dim();
    std::vector<RunSpec> runs(K);
    for (std::size_t k = 0; k < K; ++k) runs[k] = run_spec(first + k);
    const std::vector<float> x0 = initial_points();
    start_norms_.assign(K, 0.0);
    for (std::size_t k = 0; k < K; ++k) start_norms_[k] = norm_of(&x0[k * dim], dim);
    if (!x) {
      x = x0.data();
      next_log_ = 0;
      pending_.clear();
    }
    // Each run's first and best logged losses so far (from the checkpointed rows on resume).
    const double nan = std::numeric_limits<double>::quiet_NaN();
    start_loss_.assign(K, nan);
    best_loss_.assign(K, nan);
    for (std::size_t r = 0; r < pending_.size(); ++r) {
      const std::size_t k = pending_.run[r] - first;
      if (pending_.diverged[r]) continue;
      if (std::isnan(start_loss_[k])) start_loss_[k] = best_loss_[k] = pending_.loss[r];
      best_loss_[k] = std::min(best_loss_[k], pending_.loss[r]);
    }
    const bool automatic_backend = spec_.backend == Backend::automatic;
    try {
      batch_ = std::make_unique<RunBatch>(
          objective_, runs, x, batch_options(engine_ == Engine::fused ? backend_ : spec_.backend));
    } catch (const NotCompiled& e) {
      if (!automatic_backend || engine_ == Engine::fused) throw;
      log_line(std::string("zo sweep: the CUDA RunBatch is unavailable (") + e.what() +
               "); using the CPU");
      batch_ =
          std::make_unique<RunBatch>(objective_, std::move(runs), x, batch_options(Backend::cpu));
    }
    if (next_step > 0 || !st.empty()) batch_->restore(x, next_step, st);
  }

  /// Advances the batch by `steps`, leaving the rows of `log_its` in values_ ([i][k][width],
  /// width = 2 + metric_names_.size()): RunBatch's logged values, with the trace column replaced
  /// by the estimate and its standard error appended when the trace is estimated.
  void run_logged(std::uint64_t steps, const std::vector<std::uint64_t>& log_its) {
    const std::uint64_t end = batch_->next_step() + steps;
    const std::size_t K = batch_->size();
    const std::size_t M = objective_.metric_names().size();
    const std::size_t width = 2 + metric_names_.size();
    const bool estimate = spec_.trace_estimator != TraceEstimator::exact;
    const bool bounded = spec_.divergence.loss_factor > 0 || spec_.divergence.norm_factor > 0;
    values_.assign(log_its.size() * K * width, 0.0);
    if (!estimate && !bounded) {
      batch_->run(steps, log_its, values_.data());  // RunBatch's width is the table's
      return;
    }
    // One logged iteration at a time, so that a run found diverged at t is frozen exactly at x_t
    // whatever the chunking of the sweep (resumed sweeps stay byte-identical).
    std::vector<double> row(K * (2 + M));
    for (std::size_t i = 0; i < log_its.size(); ++i) {
      batch_->run(log_its[i] - batch_->next_step(), {log_its[i]}, row.data());
      if (estimate) estimate_traces_now();
      for (std::size_t k = 0; k < K; ++k) {
        double* out = &values_[(i * K + k) * width];
        std::copy(&row[k * (2 + M)], &row[(k + 1) * (2 + M)], out);
        if (estimate) {
          out[1] = trace_[k];
          out[2 + M] = trace_se_[k];
        }
      }
      if (bounded) freeze_diverged(log_its[i], &values_[i * K * width], width);
    }
    batch_->run(end - batch_->next_step());
  }

  /// Applies spec_.divergence to the values logged at iteration t (rows of width `width`, loss
  /// first) and freezes the runs that left it, with diverged_at = t − 1.
  void freeze_diverged(std::uint64_t t, const double* rows, std::size_t width) {
    const std::size_t K = batch_->size(), dim = batch_->dim();
    std::vector<RunStatus> status = batch_->statuses();
    if (spec_.divergence.norm_factor > 0 || points_.size() != K * dim) {
      points_.resize(K * dim);
      batch_->copy_points(points_.data());
    }
    bool any = false;
    for (std::size_t k = 0; k < K; ++k) {
      if (status[k].diverged) continue;
      const double loss = rows[k * width];
      if (std::isnan(start_loss_[k])) start_loss_[k] = best_loss_[k] = loss;  // its first row
      const double norm = norm_of(&points_[k * dim], dim);
      if (!exceeds_divergence_bound(spec_.divergence, loss, start_loss_[k], best_loss_[k], norm,
                                    start_norms_[k])) {
        best_loss_[k] = std::min(best_loss_[k], loss);
        continue;
      }
      status[k].diverged = true;
      status[k].diverged_at = t > 0 ? t - 1 : 0;
      any = true;
    }
    if (any) batch_->restore(points_.data(), batch_->next_step(), status);
  }

  static double norm_of(const float* x, std::size_t n) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    return std::sqrt(sum);
  }

  /// trace_ and trace_se_ from the estimator at the current iterates (one batched call; a run
  /// whose point makes the estimator fail, e.g. a diverged one, gets NaN).
  void estimate_traces_now() {
    const std::size_t K = batch_->size(), dim = batch_->dim();
    points_.resize(K * dim);
    trace_.assign(K, 0.0);
    trace_se_.assign(K, 0.0);
    batch_->copy_points(points_.data());
    auto store = [this](std::size_t k, const TraceEstimate& e) {
      trace_[k] = e.estimate;
      trace_se_[k] = e.std_error;
    };
    TraceOptions options;
    options.backend = spec_.backend;
    try {
      const auto est = estimate_traces(spec_.trace_estimator, objective_, points_.data(), K,
                                       spec_.trace_probes, spec_.trace_seed, options);
      for (std::size_t k = 0; k < K; ++k) store(k, est[k]);
    } catch (const NotSupported&) {
      throw;
    } catch (const Error&) {
      const double nan = std::numeric_limits<double>::quiet_NaN();
      for (std::size_t k = 0; k < K; ++k) {
        try {
          store(k, estimate_trace(spec_.trace_estimator, objective_, &points_[k * dim],
                                  spec_.trace_probes, spec_.trace_seed, options));
        } catch (const NotSupported&) {
          throw;
        } catch (const Error&) {
          trace_[k] = trace_se_[k] = nan;
        }
      }
    }
  }

  void finish_batch(SweepRows* completed) {
    // Rows arrived in (iteration, run) order; hand them out in (run, iteration) order.
    std::vector<std::size_t> order(pending_.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return pending_.run[a] < pending_.run[b];
    });
    if (completed) completed->metric_count = metric_names_.size();
    for (std::size_t j = 0; j < order.size(); ++j) {
      const std::size_t i = order[j];
      if (completed) completed->append_row(pending_, i);
      const bool last_of_run =
          j + 1 == order.size() || pending_.run[order[j + 1]] != pending_.run[i];
      if (last_of_run) finals_.append_row(pending_, i);
    }
    pending_.clear();
    batch_.reset();
    ++batch_index_;
    next_log_ = 0;
  }

  const Objective& objective_;
  SweepSpec spec_;
  std::vector<std::string> metric_names_;
  Engine engine_ = Engine::generic;
  Backend backend_ = Backend::cpu;
  std::size_t batch_size_ = 1;
  std::size_t batches_ = 0;
  std::size_t batch_index_ = 0;
  std::size_t next_log_ = 0;  // index into log_iterations of the next iteration to log
  std::uint64_t config_steps_done_ = 0;
  std::unique_ptr<RunBatch> batch_;
  SweepRows pending_;  // rows of the batch in progress
  SweepRows finals_;   // one row per finished run
  std::vector<double> values_;
  std::vector<double> trace_, trace_se_;
  std::vector<float> points_;
  std::vector<double> start_norms_;             // ‖x_0‖ of each run of the batch in progress
  std::vector<double> start_loss_, best_loss_;  // first and lowest logged loss of each run
};

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// Sweep front end.

Sweep::Sweep(const Objective& objective, SweepSpec spec)
    : state_(std::make_unique<detail::SweepState>(objective, std::move(spec))) {}
Sweep::~Sweep() = default;
Sweep::Sweep(Sweep&&) noexcept = default;
Sweep& Sweep::operator=(Sweep&&) noexcept = default;

const SweepSpec& Sweep::spec() const { return state_->spec(); }
std::string Sweep::objective_name() const { return state_->objective().name(); }
const std::vector<std::string>& Sweep::metric_names() const { return state_->metric_names(); }
std::size_t Sweep::num_runs() const { return state_->num_runs(); }
RunSpec Sweep::run_spec(std::size_t run) const { return state_->run_spec(run); }
std::size_t Sweep::config_of(std::size_t run) const { return state_->config_of(run); }
Engine Sweep::engine() const { return state_->engine(); }
Backend Sweep::backend() const { return state_->backend(); }
std::size_t Sweep::batch_size() const { return state_->batch_size(); }
SweepProgress Sweep::progress() const { return state_->progress(); }
bool Sweep::done() const { return state_->done(); }
std::uint64_t Sweep::advance(std::uint64_t max_steps, SweepRows* completed) {
  return state_->advance(max_steps, completed);
}
const SweepRows& Sweep::finals() const { return state_->finals(); }
const SweepRows& Sweep::pending() const { return state_->pending(); }
void Sweep::save(std::ostream& out) const { state_->save(out); }
void Sweep::load(std::istream& in) { state_->load(in); }

}  // namespace zo

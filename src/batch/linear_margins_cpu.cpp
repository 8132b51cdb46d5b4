// LinearZoBatch: RunBatch's ZO step rewritten around the margins of a linear model.
#include "zo/linear_zo_batch.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "objectives/linear_loss_math.hpp"
#include "batch/step_math.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {

struct LinearZoBatch::Impl {
  const LinearModel& model;
  std::vector<RunSpec> runs;
  LinearZoOptions options;
  std::vector<RunStatus> statuses;
  std::size_t d = 0, n = 0, max_q = 1;
  int loss_kind = 0;
  std::uint64_t next_step = 0;
  std::uint64_t since_refresh = 0;
  std::vector<float> x;         // K × d
  std::vector<double> margins;  // K × N: A x_k
  // Per-step scratch.
  std::vector<float> directions;    // (active pairs) × d
  std::vector<double> dir_margins;  // (active pairs) × N
  std::vector<float> coefficients;  // per pair
  std::vector<char> skip;
  std::vector<char> x_not_finite;  // per run: the last update produced ±inf or NaN in x

  Impl(const LinearModel& m, std::vector<RunSpec> r, const float* x0, const LinearZoOptions& o)
      : model(m), runs(std::move(r)), options(o), statuses(runs.size()) {
    d = model.dim();
    n = model.rows(DataSplit::train);
    loss_kind = model.loss() == LinearLoss::squared_hinge ? 0 : 1;
    for (const auto& s : runs) max_q = std::max<std::size_t>(max_q, s.q);
    x.assign(x0, x0 + runs.size() * d);
    x_not_finite.assign(runs.size(), 0);
    next_step = options.start_step;
    refresh();
  }

  PointBatch batch(const float* data, std::size_t count) const {
    PointBatch b;
    b.data = data;
    b.count = count;
    b.dim = d;
    b.stride = d;
    return b;
  }

  void refresh() {
    margins.resize(runs.size() * n);
    model.margins(DataSplit::train, batch(x.data(), runs.size()), margins.data());
    since_refresh = 0;
  }

  /// (1/N) Σ_i ℓ(m_i + s·w_i), in double and row order.
  double loss_along(const double* m, const double* w, double s) const {
    const auto& labels = model.data(DataSplit::train)->labels;
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i)
      sum += detail::linear_loss_terms(loss_kind, m[i] + s * w[i], labels[i]).value;
    return sum / static_cast<double>(n);
  }

  bool reject(std::size_t k, std::uint64_t step) {
    switch (options.on_non_finite) {
      case NonFinitePolicy::error:
        throw ObjectiveError("f(x +/- lambda*u) is not finite at step " + std::to_string(step) +
                                 " of run " + std::to_string(k) +
                                 " (no run was updated for this step)",
                             step, static_cast<std::int64_t>(k));
      case NonFinitePolicy::skip:
        statuses[k].skipped_steps += 1;
        return true;
      case NonFinitePolicy::mark_diverged:
        statuses[k].diverged = true;
        statuses[k].diverged_at = step;
        return true;
    }
    return true;
  }

  void step(std::uint64_t step) {
    const std::size_t K = runs.size();
    struct Pair {
      std::size_t run;
      std::uint32_t j;
    };
    std::vector<Pair> pairs;
    for (std::size_t k = 0; k < K; ++k) {
      if (statuses[k].diverged) continue;
      for (std::uint32_t j = 0; j < runs[k].q; ++j) pairs.push_back({k, j});
    }
    if (pairs.empty()) return;
    // 1. The directions (RunBatch's keys) and their margins, in one product.
    directions.resize(pairs.size() * d);
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const RunSpec& s = runs[pairs[p].run];
      const DirectionKey key{s.seed, static_cast<std::uint32_t>(step), pairs[p].j};
      if (d * pairs.size() > (std::size_t{1} << 14)) {
        fill_direction(s.distribution, key, d, &directions[p * d]);  // multithreaded
      } else {
        const float scale = s.distribution == Distribution::sphere ? sphere_scale(key, d) : 1.0f;
        for (std::uint64_t b = 0; b * 4 < d; ++b) {
          const Float4 u = direction4(s.distribution, key, b, scale);
          for (std::uint64_t i = b * 4; i < d && i < b * 4 + 4; ++i)
            directions[p * d + i] = u.v[i - b * 4];
        }
      }
    }
    dir_margins.resize(pairs.size() * n);
    model.margins(DataSplit::train, batch(directions.data(), pairs.size()), dir_margins.data());

    // 2. f(x ± λu) from the margins; coefficients checked before anything changes.
    coefficients.assign(pairs.size(), 0.0f);
    skip.assign(K, 0);
    std::vector<double> f_plus(pairs.size()), f_minus(pairs.size());
    const auto n_pairs = static_cast<std::int64_t>(pairs.size());
#pragma omp parallel for schedule(static) if (pairs.size() * n > (std::size_t{1} << 16))
    for (std::int64_t p = 0; p < n_pairs; ++p) {
      const auto pp = static_cast<std::size_t>(p);
      const std::size_t k = pairs[pp].run;
      const double lambda = runs[k].lambda;
      if (x_not_finite[k]) {  // RunBatch would evaluate x ± λu with an infinite coordinate
        f_plus[pp] = f_minus[pp] = std::numeric_limits<double>::quiet_NaN();
        continue;
      }
      f_plus[pp] = loss_along(&margins[k * n], &dir_margins[pp * n], lambda);
      f_minus[pp] = loss_along(&margins[k * n], &dir_margins[pp * n], -lambda);
    }
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const std::size_t k = pairs[p].run;
      const RunSpec& s = runs[k];
      const double g = detail::projected_gradient(f_plus[p], f_minus[p], s.lambda);
      const float c = detail::update_coefficient(g, s.eta, s.q);
      if (!skip[k] && !(detail::is_finite(g) && detail::is_finite(c))) skip[k] = reject(k, step);
      coefficients[p] = c;
    }

    // 3. x ← x − c·u (RunBatch's rounding, directions in order j) and m ← m − c·Au.
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const std::size_t k = pairs[p].run;
      if (skip[k] || statuses[k].diverged) continue;
      const float c = coefficients[p];
      float* xk = &x[k * d];
      const float* u = &directions[p * d];
      bool finite = true;
      for (std::size_t i = 0; i < d; ++i) {
        xk[i] = detail::apply_update(xk[i], c, u[i]);
        finite = finite && detail::is_finite(xk[i]);
      }
      if (!finite) x_not_finite[k] = 1;
      double* mk = &margins[k * n];
      const double* w = &dir_margins[p * n];
      for (std::size_t i = 0; i < n; ++i) mk[i] -= static_cast<double>(c) * w[i];
    }
    if (++since_refresh >= options.refresh_every) refresh();
  }
};

LinearZoBatch::LinearZoBatch(const LinearModel& model, std::vector<RunSpec> runs, const float* x0,
                             LinearZoOptions options) {
  ZO_EXPECTS(!runs.empty(), "LinearZoBatch needs at least one run");
  ZO_EXPECTS(x0 != nullptr, "LinearZoBatch: x0 is null");
  ZO_EXPECTS(options.refresh_every >= 1, "LinearZoBatch: refresh_every must be at least 1");
  ZO_EXPECTS(options.start_step <= kMaxStep, "start_step exceeds the largest step index 2^32-2");
  for (std::size_t k = 0; k < runs.size(); ++k) {
    ZO_EXPECTS(runs[k].method == Method::zo, "LinearZoBatch: run " + std::to_string(k) +
                                                 " has method '" + to_string(runs[k].method) +
                                                 "'; only zo runs are supported (use RunBatch)");
    try {
      validate(runs[k]);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("run " + std::to_string(k) + ": " + e.what());
    }
  }
  impl_ = std::make_unique<Impl>(model, std::move(runs), x0, options);
}

LinearZoBatch::~LinearZoBatch() = default;
LinearZoBatch::LinearZoBatch(LinearZoBatch&&) noexcept = default;
LinearZoBatch& LinearZoBatch::operator=(LinearZoBatch&&) noexcept = default;

std::size_t LinearZoBatch::size() const { return impl_->runs.size(); }
std::size_t LinearZoBatch::dim() const { return impl_->d; }
std::uint64_t LinearZoBatch::next_step() const { return impl_->next_step; }
const std::vector<RunSpec>& LinearZoBatch::runs() const { return impl_->runs; }
std::vector<RunStatus> LinearZoBatch::statuses() const { return impl_->statuses; }

void LinearZoBatch::run(std::uint64_t steps) {
  ZO_EXPECTS(impl_->next_step + steps <= kMaxStep + 1,
             "step index would exceed 2^32-2: directions are keyed by a 32-bit step");
  for (std::uint64_t i = 0; i < steps; ++i) {
    const std::uint64_t step = impl_->next_step;
    try {
      impl_->step(step);
    } catch (const ObjectiveError&) {
      throw;
    } catch (const std::exception& e) {
      throw ObjectiveError("step " + std::to_string(step) + " failed: " + e.what(), step, -1);
    }
    impl_->next_step = step + 1;
  }
}

void LinearZoBatch::copy_points(float* x_host) const {
  std::memcpy(x_host, impl_->x.data(), impl_->x.size() * sizeof(float));
}

}  // namespace zo

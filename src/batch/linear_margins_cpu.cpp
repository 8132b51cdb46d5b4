// The margins engine (zo::Engine::margins): RunBatch's ZO step rewritten around the margins of a
// linear model (GD runs are updated exactly as by the generic CPU engine). A step draws the
// directions u_kj exactly as the generic engine does, computes the margins A·u_kj of all K·q
// directions in one product, and evaluates f(x_k ± λ_k u_kj) = (1/N) Σ_i ℓ(m_ki ± λ_k (Au_kj)_i)
// from the kept margins m_k = A x_k. The update x ← x − η g u is the generic engine's (same
// rounding), so the iterates agree with it up to the rounding of f(x ± λu) (the generic engine
// rounds x ± λu to float first). The product runs on the model's backend (CPU, or GPU with host
// staging); the step bookkeeping on the CPU.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

#include "batch/linear_margins.hpp"
#include "batch/run_batch_engine.hpp"
#include "batch/step_math.hpp"
#include "objectives/linear_loss_math.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/linear_model.hpp"

namespace zo {

namespace detail {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// Compiled for AVX-512 and for the library's baseline, picked at load time: the same bits (each
// lane performs the scalar body's IEEE operations in order; the library forms no fma).
#define ZO_LOSS_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define ZO_LOSS_CLONES
#endif

ZO_LOSS_CLONES void margins_loss_values(int loss_kind, const double* m, const double* w, double s,
                                        const float* b, double* t, std::size_t len) {
  if (loss_kind == 1) {
    for (std::size_t i = 0; i < len; ++i)
      t[i] = detail::logistic_value(m[i] + s * w[i], 0.5 * (double{b[i]} + 1.0));
  } else {
    for (std::size_t i = 0; i < len; ++i)
      t[i] = detail::squared_hinge_terms(m[i] + s * w[i], b[i]).value;
  }
}

namespace {

class LinearMarginsEngine final : public BatchEngine {
  struct Pair {
    std::size_t run;
    std::uint32_t j;
  };

 public:
  const LinearModel& model;
  std::uint32_t refresh_every;
  std::size_t d = 0, n = 0, max_q = 1;
  int loss_kind = 0;
  std::uint64_t since_refresh = 0;
  std::vector<float> x;         // K × d
  std::vector<double> margins;  // K × N: A x_k
  // Per-step scratch.
  std::vector<float> directions;    // (active pairs) × d
  std::vector<double> dir_margins;  // (active pairs) × N
  std::vector<float> coefficients;  // per pair
  std::vector<char> skip;
  std::vector<char> x_not_finite;    // per run: the last update produced ±inf or NaN in x
  std::vector<std::size_t> gd_runs;  // GD runs of this step
  std::vector<float> gd_points, gd_grads;
  std::vector<Pair> zo_pairs;  // ZO pairs of this step, until their update

  LinearMarginsEngine(const Objective& objective, std::vector<RunSpec> r, const float* x0,
                      const BatchOptions& options)
      : BatchEngine(objective, std::move(r), options),
        model(static_cast<const LinearModel&>(objective)),
        refresh_every(options.margins_refresh_every) {
    d = model.dim();
    n = model.rows(DataSplit::train);
    loss_kind = model.loss() == LinearLoss::squared_hinge ? 0 : 1;
    for (const auto& s : runs()) max_q = std::max<std::size_t>(max_q, s.q);
    x.assign(x0, x0 + runs().size() * d);
    x_not_finite.assign(runs().size(), 0);
    refresh();
  }

  Engine kind() const override { return Engine::margins; }
  Backend backend() const override { return model.backend(); }

  void copy_points(float* x_host) const override {
    std::memcpy(x_host, x.data(), x.size() * sizeof(float));
  }

  void set_points(const float* x_host) override {
    std::memcpy(x.data(), x_host, x.size() * sizeof(float));
    for (std::size_t k = 0; k < runs().size(); ++k) {
      x_not_finite[k] = 0;
      for (std::size_t i = 0; i < d; ++i) {
        if (!detail::is_finite(x[k * d + i])) x_not_finite[k] = 1;
      }
    }
    refresh();
  }

  void measure(double* loss, double* trace, double* metrics) const override {
    measure_host(x.data(), loss, trace, metrics);
  }

  std::vector<double> kept_margins() const override { return margins; }

  PointBatch batch(const float* data, std::size_t count) const {
    return host_points(data, count, d);
  }

  void refresh() {
    margins.resize(runs().size() * n);
    model.margins(DataSplit::train, batch(x.data(), runs().size()), margins.data());
    since_refresh = 0;
  }

  /// (1/N) Σ_i ℓ(m_i + s·w_i), in double and row order. The terms are computed a block at a time
  /// by a branch-free loop that vectorises (the same bits as linear_loss_terms), then added in
  /// row order.
  double loss_along(const double* m, const double* w, double s) const {
    const float* labels = model.data(DataSplit::train)->labels.data();
    constexpr std::size_t kBlock = 256;
    double terms[kBlock];
    double sum = 0.0;
    for (std::size_t i0 = 0; i0 < n; i0 += kBlock) {
      const std::size_t len = std::min(kBlock, n - i0);
      margins_loss_values(loss_kind, m + i0, w + i0, s, labels + i0, terms, len);
      for (std::size_t i = 0; i < len; ++i) sum += terms[i];
    }
    return sum / static_cast<double>(n);
  }

  void step(std::uint64_t step) override {
    const auto& runs = this->runs();
    const auto& statuses = this->statuses();
    const std::size_t K = runs.size();
    std::vector<Pair> pairs;
    gd_runs.clear();
    for (std::size_t k = 0; k < K; ++k) {
      if (statuses[k].diverged) continue;
      if (runs[k].method == Method::gd) {
        gd_runs.push_back(k);
        continue;
      }
      for (std::uint32_t j = 0; j < runs[k].q; ++j) pairs.push_back({k, j});
    }
    skip.assign(K, 0);
    if (!pairs.empty()) zo_step(step, pairs);
    if (!gd_runs.empty()) gd_step(step);
    if (++since_refresh >= refresh_every) refresh();
  }

 private:
  /// GD runs exactly as the generic CPU engine updates them (∇f from the model, x ← x − η∇f);
  /// their margins are then recomputed from x. Runs after the ZO runs' coefficients were
  /// checked, as in the generic engine.
  void gd_step(std::uint64_t step) {
    const auto& runs = this->runs();
    const std::size_t n_gd = gd_runs.size();
    gd_points.resize(n_gd * d);
    gd_grads.resize(n_gd * d);
    for (std::size_t r = 0; r < n_gd; ++r)
      std::memcpy(&gd_points[r * d], &x[gd_runs[r] * d], d * sizeof(float));
    model.gradient(batch(gd_points.data(), n_gd), gd_grads.data(), d);
    for (std::size_t r = 0; r < n_gd; ++r) {
      bool finite = true;
      for (std::size_t i = 0; i < d && finite; ++i) finite = detail::is_finite(gd_grads[r * d + i]);
      if (!finite) skip[gd_runs[r]] = reject_non_finite(gd_runs[r], step, "the gradient");
    }
    apply_zo_updates();
    std::vector<double> m(n);
    for (std::size_t r = 0; r < n_gd; ++r) {
      const std::size_t k = gd_runs[r];
      if (skip[k]) continue;
      float* xk = &x[k * d];
      const float* g = &gd_grads[r * d];
      bool finite = true;
      for (std::size_t i = 0; i < d; ++i) {
        xk[i] = detail::apply_update(xk[i], runs[k].eta, g[i]);
        finite = finite && detail::is_finite(xk[i]);
      }
      if (!finite) x_not_finite[k] = 1;
      model.margins(DataSplit::train, batch(xk, 1), m.data());
      std::copy(m.begin(), m.end(), margins.begin() + static_cast<std::ptrdiff_t>(k * n));
    }
  }

  void zo_step(std::uint64_t step, const std::vector<Pair>& pairs) {
    const auto& runs = this->runs();
    zo_pairs = pairs;
    // 1. The directions (RunBatch's keys) and their margins, in one product.
    directions.resize(pairs.size() * d);
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const RunSpec& s = runs[pairs[p].run];
      const DirectionKey key{s.seed, static_cast<std::uint32_t>(step), pairs[p].j};
      // The SIMD generator (bit-identical to direction4); multithreaded for large d.
      fill_direction(s.distribution, key, d, &directions[p * d]);
    }
    dir_margins.resize(pairs.size() * n);
    model.margins(DataSplit::train, batch(directions.data(), pairs.size()), dir_margins.data());

    // 2. f(x ± λu) from the margins; coefficients checked before anything changes.
    coefficients.assign(pairs.size(), 0.0f);
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
      if (!skip[k] && !(detail::is_finite(g) && detail::is_finite(c)))
        skip[k] = reject_non_finite(k, step, "f(x +/- lambda*u)");
      coefficients[p] = c;
    }

    if (gd_runs.empty()) apply_zo_updates();  // else after the GD runs' checks
  }

  /// 3. x ← x − c·u (the generic engine's rounding, directions in order j) and m ← m − c·Au.
  void apply_zo_updates() {
    const auto& pairs = zo_pairs;
    const auto& statuses = this->statuses();
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
    zo_pairs.clear();
  }
};

}  // namespace

std::unique_ptr<BatchEngine> make_linear_margins(const Objective& objective,
                                                 std::vector<RunSpec> runs, const float* x0,
                                                 const BatchOptions& options) {
  return std::make_unique<LinearMarginsEngine>(objective, std::move(runs), x0, options);
}

}  // namespace detail
}  // namespace zo

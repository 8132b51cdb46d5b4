// Hessian-trace estimators (zo/trace.hpp) on the CPU: against exact traces computed here, with
// statistical tolerances derived from the variance of each estimator.
//
// Confidence: every statistical check is a 5-standard-error test (two-sided false-failure
// probability 5.7e-7 per check for a normal statistic; the ~60 checks below together stay under
// 1e-4). The seeds are fixed, so the tests are deterministic.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "tolerance.hpp"
#include "trace/householder.hpp"
#include "trace/trace_math.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"
#include "zo/trace.hpp"

namespace {

using zo::TraceEstimate;
using zo::TraceEstimator;
using zo::TraceOptions;

// f(x) = ½ xᵀAx with a dense symmetric A = U diag(λ) Uᵀ, U a random orthogonal matrix
// (Gram–Schmidt of a Gaussian matrix from std::mt19937_64, independent of zo's generator):
// exact value, gradient, HVP and trace, all in double from the float inputs.
class DenseQuadratic final : public zo::Objective {
 public:
  DenseQuadratic(const std::vector<double>& spectrum, std::uint64_t seed)
      : n_(spectrum.size()), a_(n_ * n_, 0.0), spectrum_(spectrum) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal;
    std::vector<double> u(n_ * n_);  // row k = k-th orthonormal vector
    for (double& v : u) v = normal(rng);
    for (std::size_t k = 0; k < n_; ++k) {
      double* uk = &u[k * n_];
      for (int pass = 0; pass < 2; ++pass) {  // twice is enough (Giraud et al.)
        for (std::size_t l = 0; l < k; ++l) {
          const double* ul = &u[l * n_];
          double dot = 0.0;
          for (std::size_t i = 0; i < n_; ++i) dot += ul[i] * uk[i];
          for (std::size_t i = 0; i < n_; ++i) uk[i] -= dot * ul[i];
        }
      }
      double norm = 0.0;
      for (std::size_t i = 0; i < n_; ++i) norm += uk[i] * uk[i];
      for (std::size_t i = 0; i < n_; ++i) uk[i] /= std::sqrt(norm);
    }
    for (std::size_t i = 0; i < n_; ++i)
      for (std::size_t j = 0; j < n_; ++j) {
        double s = 0.0;
        for (std::size_t k = 0; k < n_; ++k) s += u[k * n_ + i] * spectrum[k] * u[k * n_ + j];
        a_[i * n_ + j] = s;
      }
  }
  std::size_t dim() const override { return n_; }
  std::string name() const override { return "dense-quadratic"; }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    zo::check_batch(*this, pts);
    for (std::size_t p = 0; p < pts.count; ++p) {
      const float* x = pts.point(p);
      double f = 0.0;
      for (std::size_t i = 0; i < n_; ++i) f += x[i] * row_dot(i, x);
      values[p] = 0.5 * f;
    }
  }
  bool has_gradient() const override { return true; }
  void gradient(const zo::PointBatch& pts, float* g, std::size_t stride) const override {
    for (std::size_t p = 0; p < pts.count; ++p)
      for (std::size_t i = 0; i < n_; ++i)
        g[p * stride + i] = static_cast<float>(row_dot(i, pts.point(p)));
  }
  bool has_hvp() const override { return has_hvp_; }
  void hvp(const zo::PointBatch& pts, const zo::PointBatch& vs, float* out,
           std::size_t stride) const override {
    for (std::size_t p = 0; p < pts.count; ++p)
      for (std::size_t i = 0; i < n_; ++i)
        out[p * stride + i] = static_cast<float>(row_dot(i, vs.point(p)));
  }
  bool has_exact_trace() const override { return true; }
  void exact_trace(const zo::PointBatch& pts, double* t) const override {
    for (std::size_t p = 0; p < pts.count; ++p) t[p] = trace();
  }
  double trace() const {
    double s = 0.0;
    for (double l : spectrum_) s += l;
    return s;
  }
  // Σ λ² = ‖A‖²_F and Σ λ⁴ (for the variance and kurtosis of Gaussian Hutchinson).
  double power_sum(int power) const {
    double s = 0.0;
    for (double l : spectrum_) s += std::pow(l, power);
    return s;
  }
  double diag_sq() const {
    double s = 0.0;
    for (std::size_t i = 0; i < n_; ++i) s += a_[i * n_ + i] * a_[i * n_ + i];
    return s;
  }
  double quadratic_form(const std::vector<float>& v) const {
    double s = 0.0;
    for (std::size_t i = 0; i < n_; ++i) s += v[i] * row_dot(i, v.data());
    return s;
  }
  void disable_hvp() { has_hvp_ = false; }

 private:
  double row_dot(std::size_t i, const float* x) const {
    double s = 0.0;
    for (std::size_t j = 0; j < n_; ++j) s += a_[i * n_ + j] * x[j];
    return s;
  }
  std::size_t n_;
  std::vector<double> a_;
  std::vector<double> spectrum_;
  bool has_hvp_ = true;
};

// f(x) = Σ c_i x_i⁴ / 4: H = diag(3 c_i x_i²) and the exact second difference
// (f(x+εv) + f(x−εv) − 2f(x))/ε² = vᵀHv + ε² Σ c_i v_i⁴ / 2.
class Quartic final : public zo::Objective {
 public:
  explicit Quartic(std::vector<double> c) : c_(std::move(c)) {}
  std::size_t dim() const override { return c_.size(); }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    for (std::size_t p = 0; p < pts.count; ++p) {
      double f = 0.0;
      for (std::size_t i = 0; i < c_.size(); ++i) {
        const double x = pts.point(p)[i];
        f += 0.25 * c_[i] * x * x * x * x;
      }
      values[p] = f;
    }
  }
  const std::vector<double>& c() const { return c_; }

 private:
  std::vector<double> c_;
};

// Forwards values only: a black-box objective.
class ValuesOnly final : public zo::Objective {
 public:
  explicit ValuesOnly(const zo::Objective& inner) : inner_(inner) {}
  std::size_t dim() const override { return inner_.dim(); }
  std::string name() const override { return "values-only"; }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    inner_.evaluate(pts, values);
  }

 private:
  const zo::Objective& inner_;
};

// Example 2.1 points: a random point, a smaller one, and a near-minimiser (z = y/‖y‖²).
std::vector<float> example_point(std::size_t d, int which) {
  std::vector<float> x(2 * d);
  zo::gaussian_fill(1234 + which, 0, x.data(), x.size());
  if (which == 1) {
    for (float& v : x) v *= 0.5f;
  } else if (which == 2) {
    double yy = 0.0;
    for (std::size_t i = 0; i < d; ++i) yy += static_cast<double>(x[i]) * x[i];
    for (std::size_t i = 0; i < d; ++i) x[d + i] = static_cast<float>(x[i] / yy);
  }
  return x;
}

// The smallest power of two ≥ max(1, rms(x)): the scale of the default steps.
double power_of_two_scale(const std::vector<float>& x) {
  double ss = 0.0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const double rms = std::sqrt(ss / x.size());
  double s = 1.0;
  while (s < rms) s *= 2.0;
  return s;
}

double example21_trace(const std::vector<float>& x) {
  double s = 0.0;
  for (float v : x) s += static_cast<double>(v) * v;
  return s;
}

struct SeedStats {
  double mean = 0.0;
  double sd = 0.0;          // sample standard deviation of the estimates over seeds
  double mean_se_sq = 0.0;  // mean of the reported std_error²
};

SeedStats over_seeds(TraceEstimator e, const zo::Objective& f, const std::vector<float>& x,
                     std::uint32_t m, int seeds, const TraceOptions& opt = {}) {
  std::vector<double> est;
  SeedStats s;
  for (int k = 0; k < seeds; ++k) {
    const TraceEstimate r = zo::estimate_trace(e, f, x.data(), m, 1000 + k, opt);
    est.push_back(r.estimate);
    s.mean_se_sq += r.std_error * r.std_error / seeds;
  }
  for (double v : est) s.mean += v / seeds;
  for (double v : est) s.sd += (v - s.mean) * (v - s.mean);
  s.sd = std::sqrt(s.sd / (seeds - 1));
  return s;
}

TraceOptions cpu() {
  TraceOptions o;
  o.backend = zo::Backend::cpu;
  return o;
}

// ---------------------------------------------------------------------------------------------

TEST(TraceMath, SymmetricPairIsExactlySymmetricWhenRepresentable) {
  std::mt19937_64 rng(7);
  std::normal_distribution<float> normal;
  int symmetric = 0, total = 0;
  for (int trial = 0; trial < 200000; ++trial) {
    const float x = normal(rng) * (trial % 3 == 0 ? 1e-3f : 1.0f);
    const float t = std::ldexp(normal(rng), -6 - trial % 10);
    float p, q;
    zo::detail::symmetric_pair(x, t, &p, &q);
    const double dp = static_cast<double>(p) - x;
    const double dq = static_cast<double>(q) - x;
    // Each side within one ulp (of the larger of the two values) of the intended x ± t.
    const double ulp = std::ldexp(1.0, std::ilogb(std::max(std::fabs(p), std::fabs(q))) - 23);
    ASSERT_LE(std::fabs(dp - t), ulp) << "x=" << x << " t=" << t;
    ASSERT_LE(std::fabs(dq + t), ulp) << "x=" << x << " t=" << t;
    ++total;
    if (dp == -dq) ++symmetric;
    if (std::fabs(t) < 0.25 * std::fabs(x) && std::fabs(x) > 1e-30) {
      // Same or neighbouring binade: a symmetric pair always exists and must be found.
      ASSERT_EQ(dp, -dq) << "x=" << x << " t=" << t;
    }
  }
  // Also when |t| ≳ |x| most pairs are exactly symmetric.
  EXPECT_GT(symmetric, total * 9 / 10);
}

TEST(Trace, ProbesFollowTheDocumentedKeyConvention) {
  // Hutchinson with HVPs must equal (1/m) Σ v_jᵀ(A v_j) with v_j = direction (seed, step = j,
  // substream = kTraceProbeSubstream), recomputed here from the public generator.
  const DenseQuadratic f(std::vector<double>(37, 1.5), 3);
  std::vector<float> x(37, 0.25f);
  const std::uint32_t m = 11;
  for (auto dist : {zo::Distribution::rademacher, zo::Distribution::gaussian}) {
    TraceOptions o = cpu();
    o.automatic_distribution = false;
    o.distribution = dist;
    const TraceEstimate r = zo::trace_hutchinson(f, x.data(), m, 99, o);
    std::vector<float> v(37), av(37);
    double sum = 0.0;
    for (std::uint32_t j = 0; j < m; ++j) {
      zo::fill_direction(dist, zo::DirectionKey{99, j, zo::kTraceProbeSubstream}, 37, v.data());
      zo::PointBatch pb{x.data(), 1, 37, 37};
      zo::PointBatch vb{v.data(), 1, 37, 37};
      f.hvp(pb, vb, av.data(), 37);
      double q = 0.0;
      for (int i = 0; i < 37; ++i) q += static_cast<double>(v[i]) * av[i];
      sum += q;
    }
    EXPECT_TRUE(zo_test::IsClose(r.estimate, sum / m, 1e-13, 0.0));
    EXPECT_EQ(r.hvp_evaluations, m);
    EXPECT_EQ(r.probes, m);
  }
}

// The standard error at very small m is the n−1 sample formula, checked deterministically:
// sqrt(Σ_j (q_j − q̄)² / (m − 1) / m) over the probe terms q_j = v_jᵀ A v_j recomputed here.
// (n instead of n − 1 would be off by sqrt(2) at m = 2 and sqrt(3/2) at m = 3.)
TEST(Trace, StandardErrorAtTwoAndThreeProbesIsTheSampleFormula) {
  std::vector<double> spectrum(17);
  for (std::size_t k = 0; k < spectrum.size(); ++k) spectrum[k] = 0.5 + static_cast<double>(k);
  const DenseQuadratic f(spectrum, 5);
  std::vector<float> x(17, 0.5f);
  for (auto dist : {zo::Distribution::rademacher, zo::Distribution::gaussian}) {
    for (std::uint32_t m : {2u, 3u}) {
      TraceOptions o = cpu();
      o.automatic_distribution = false;
      o.distribution = dist;
      const TraceEstimate r = zo::trace_hutchinson(f, x.data(), m, 7, o);
      std::vector<float> v(17), av(17);
      std::vector<double> q(m);
      for (std::uint32_t j = 0; j < m; ++j) {
        zo::fill_direction(dist, zo::DirectionKey{7, j, zo::kTraceProbeSubstream}, 17, v.data());
        zo::PointBatch pb{x.data(), 1, 17, 17};
        zo::PointBatch vb{v.data(), 1, 17, 17};
        f.hvp(pb, vb, av.data(), 17);
        for (int i = 0; i < 17; ++i) q[j] += static_cast<double>(v[i]) * av[i];
      }
      double mean = 0.0;
      for (double t : q) mean += t / m;
      double ss = 0.0;
      for (double t : q) ss += (t - mean) * (t - mean);
      const double se = std::sqrt(ss / (m - 1) / m);
      ASSERT_GT(se, 0.0) << "the probe terms must differ for this check to mean anything";
      EXPECT_TRUE(zo_test::IsClose(r.estimate, mean, 1e-12, 0.0)) << "m = " << m;
      EXPECT_TRUE(zo_test::IsClose(r.std_error, se, 1e-10, 0.0))
          << "m = " << m << ": " << r.std_error << " vs " << se;
    }
  }
}

TEST(Trace, ExactMatchesTheClosedFormOfExample21) {
  const zo::Example21 f(20);
  for (int which = 0; which < 3; ++which) {
    const auto x = example_point(20, which);
    const TraceEstimate r = zo::trace_exact(f, x.data(), cpu());
    EXPECT_TRUE(zo_test::IsClose(r.estimate, example21_trace(x), 1e-12, 0.0));
    EXPECT_EQ(r.std_error, 0.0);
    EXPECT_EQ(r.estimator, TraceEstimator::exact);
  }
  const ValuesOnly black_box(f);
  const auto x = example_point(20, 0);
  EXPECT_THROW(zo::trace_exact(black_box, x.data()), zo::NotSupported);
}

// Every estimator is unbiased on Example 2.1 at three points: the mean over 40 seeds lies within
// 5 standard errors (sd/√40) of the exact trace, and the reported standard errors match the
// spread over seeds (mean of reported SE² vs sample variance; for 40 seeds the ratio of a
// correct pair lies well within [1/3, 3]).
struct EstimatorCase {
  TraceEstimator estimator;
  zo::HessianSource hessian;
  const char* label;
};

class Example21Unbiased : public ::testing::TestWithParam<EstimatorCase> {};

TEST_P(Example21Unbiased, MeanOverSeedsWithinFiveStandardErrors) {
  const EstimatorCase c = GetParam();
  const zo::Example21 f(20);
  TraceOptions o = cpu();
  o.hessian = c.hessian;
  for (int which = 0; which < 3; ++which) {
    const auto x = example_point(20, which);
    const double truth = example21_trace(x);
    const int seeds = 40;
    const SeedStats s = over_seeds(c.estimator, f, x, 48, seeds, o);
    const double se_of_mean = s.sd / std::sqrt(static_cast<double>(seeds));
    // Deterministic allowances, visible only where the estimator is (nearly) exact, e.g. Hutch++
    // at the rank-1 minimiser: 1e-6·truth for float32 rounding of probes and products, and for
    // gradient differences the truncation bias of the central difference of the cubic gradient,
    // (h²/6)∇⁴f[w,w,w,w] = 2h²(aᵀb)² ≤ h²‖w‖⁴/2 = h²D²/2 per unit-weight probe (w = (a, b)).
    const double h = zo::default_step(c.estimator, f, x.data(), o);
    const double allowance = 1e-6 * truth + h * h * 40.0 * 40.0 / 2.0;
    EXPECT_LE(std::fabs(s.mean - truth), 5.0 * se_of_mean + allowance)
        << c.label << " point " << which << ": mean " << s.mean << " truth " << truth;
    if (s.sd > 1e-5 * truth) {
      const double ratio = s.mean_se_sq / (s.sd * s.sd);
      EXPECT_GT(ratio, 1.0 / 3.0) << c.label << " point " << which;
      EXPECT_LT(ratio, 3.0) << c.label << " point " << which;
    }
    // One large estimate lies within 5 of its own standard errors of the truth.
    const TraceEstimate big = zo::estimate_trace(c.estimator, f, x.data(), 1500, 77, o);
    EXPECT_LE(std::fabs(big.estimate - truth), 5.0 * big.std_error + allowance)
        << c.label << " point " << which << ": " << zo::to_string(big) << " truth " << truth;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Estimators, Example21Unbiased,
    ::testing::Values(
        EstimatorCase{TraceEstimator::hutchinson, zo::HessianSource::hvp, "hutchinson-hvp"},
        EstimatorCase{TraceEstimator::hutchinson, zo::HessianSource::gradient,
                      "hutchinson-gradient"},
        EstimatorCase{TraceEstimator::zo, zo::HessianSource::automatic, "zo"},
        EstimatorCase{TraceEstimator::sharpness, zo::HessianSource::automatic, "sharpness"},
        EstimatorCase{TraceEstimator::hutchpp, zo::HessianSource::hvp, "hutch++-hvp"},
        EstimatorCase{TraceEstimator::hutchpp, zo::HessianSource::gradient, "hutch++-gradient"}),
    [](const ::testing::TestParamInfo<EstimatorCase>& info) {
      std::string s = info.param.label;
      std::replace(s.begin(), s.end(), '-', '_');
      std::replace(s.begin(), s.end(), '+', 'p');
      return s;
    });

// The same estimators on a generic dense quadratic (flat spectrum in [1, 2], D = 60), where
// every part of every estimator matters (Hutch++'s residual carries most of the trace).
TEST_P(Example21Unbiased, AlsoUnbiasedOnADenseQuadratic) {
  const EstimatorCase c = GetParam();
  std::vector<double> spectrum(60);
  for (std::size_t i = 0; i < spectrum.size(); ++i) spectrum[i] = 1.0 + i / 59.0;
  const DenseQuadratic f(spectrum, 17);
  TraceOptions o = cpu();
  o.hessian = c.hessian;
  for (float at : {0.0f, 0.2f}) {
    std::vector<float> x(60, at);
    const int seeds = 40;
    const SeedStats s = over_seeds(c.estimator, f, x, 48, seeds, o);
    EXPECT_LE(std::fabs(s.mean - f.trace()), 5.0 * s.sd / std::sqrt(1.0 * seeds) + 1e-6 * f.trace())
        << c.label << " at x = " << at << ": mean " << s.mean << " truth " << f.trace();
    const double ratio = s.mean_se_sq / (s.sd * s.sd);
    EXPECT_GT(ratio, 1.0 / 3.0) << c.label;
    EXPECT_LT(ratio, 3.0) << c.label;
  }
}

// A small logistic / SVM problem: synthetic data, 200 samples of 29 standardised raw features and
// a bias column (D = 30, Hessian of full rank), at 0.1·N(0, I) (the paper's initialisation),
// 0.5·N(0, I) and after 200 GD steps.
struct LinearCase {
  std::unique_ptr<zo::LinearModel> model;
  std::vector<std::vector<float>> points;
  double mean_norm4 = 0.0;  // mean over samples of ‖φᵢ‖⁴
};

LinearCase linear_case(zo::LinearLoss loss) {
  zo::SyntheticSpec spec;
  spec.train_rows = 200;
  spec.test_rows = 1;
  spec.features = 29;
  spec.seed = 3;
  zo::PipelineSpec pipeline;
  pipeline.projection_dim = 0;
  const zo::TrainTestSplit data =
      zo::apply_feature_pipeline(zo::make_synthetic_classification(spec), pipeline);
  zo::LinearModelOptions options;
  options.backend = zo::Backend::cpu;
  LinearCase c;
  const auto& features = std::get<zo::DenseMatrix>(data.train.features);
  for (std::size_t i = 0; i < features.rows; ++i) {
    double norm2 = 0.0;
    for (std::size_t j = 0; j < features.cols; ++j)
      norm2 += features.row(i)[j] * features.row(i)[j];
    c.mean_norm4 += norm2 * norm2 / features.rows;
  }
  c.model = std::make_unique<zo::LinearModel>(
      loss, std::make_shared<const zo::BinaryDataset>(data.train), nullptr, options);
  const std::size_t d = c.model->dim();
  for (float scale : {0.1f, 0.5f}) {
    std::vector<float> x(d);
    zo::gaussian_fill(static_cast<std::uint64_t>(scale * 10), 0, x.data(), d);
    for (float& v : x) v *= scale;
    c.points.push_back(x);
  }
  std::vector<float> trained = c.points[0];
  zo::RunSpec gd;
  gd.method = zo::Method::gd;
  gd.eta = 0.5f;
  zo::BatchOptions bo;
  bo.backend = zo::Backend::cpu;
  zo::minimize(*c.model, trained.data(), gd, 200, bo);
  c.points.push_back(trained);
  return c;
}

TEST_P(Example21Unbiased, AlsoUnbiasedOnTheLogisticModel) {
  const EstimatorCase c = GetParam();
  const LinearCase lc = linear_case(zo::LinearLoss::logistic);
  TraceOptions o = cpu();
  o.hessian = c.hessian;
  for (std::size_t which = 0; which < lc.points.size(); ++which) {
    const auto& x = lc.points[which];
    const double truth = zo::trace_exact(*lc.model, x.data(), cpu()).estimate;
    const int seeds = 40;
    const SeedStats s = over_seeds(c.estimator, *lc.model, x, 48, seeds, o);
    // Allowances: float32 rounding (1e-6·truth) and the O(ε²) truncation bias of the finite
    // differences. The logistic loss has |4th derivative| ≤ 1/8 and E(φᵀv)⁴ ≤ 3‖φ‖⁴, so per probe
    // the bias is ≤ ε²/12 · (1/8) · 3 E‖φ‖⁴ (second difference of values) or h²/6 · (1/8) · 3 E‖φ‖⁴
    // (central difference of gradients); Hutch++'s basis vectors q (scaled to norm √D) can align
    // with φ, (φᵀ√D q)⁴ ≤ D²‖φ‖⁴ with weight 1/D each, D of them: ≤ h²/6 · (1/8) · D E‖φ‖⁴.
    const double eps = zo::default_step(c.estimator, *lc.model, x.data(), o);
    const double phi4 = lc.mean_norm4, dim = static_cast<double>(x.size());
    double truncation = 0.0;
    if (c.estimator == TraceEstimator::zo || c.estimator == TraceEstimator::sharpness) {
      truncation = eps * eps / 32.0 * phi4;
    } else if (c.estimator == TraceEstimator::hutchinson) {
      truncation = eps * eps / 16.0 * phi4;
    } else if (c.estimator == TraceEstimator::hutchpp) {
      truncation = eps * eps / 48.0 * dim * phi4;
    }
    const double allowance = 1e-6 * truth + truncation;
    EXPECT_LE(std::fabs(s.mean - truth), 5.0 * s.sd / std::sqrt(1.0 * seeds) + allowance)
        << c.label << " point " << which << ": mean " << s.mean << " truth " << truth;
    if (s.sd > 1e-5 * truth) {
      const double ratio = s.mean_se_sq / (s.sd * s.sd);
      EXPECT_GT(ratio, 1.0 / 3.0) << c.label << " point " << which;
      EXPECT_LT(ratio, 3.0) << c.label << " point " << which;
    }
    const TraceEstimate big = zo::estimate_trace(c.estimator, *lc.model, x.data(), 1500, 77, o);
    EXPECT_LE(std::fabs(big.estimate - truth), 5.0 * big.std_error + allowance)
        << c.label << " point " << which << ": " << zo::to_string(big) << " truth " << truth;
  }
}

// The squared-hinge SVM has a piecewise-constant Hessian: the HVP-based estimators are unbiased;
// the finite differences average the curvature over x ± εv and are biased where margins lie
// within ε|φᵀv| of 1 (see docs/trace.md), so they are not tested here.
TEST(Trace, HvpEstimatorsAreUnbiasedOnTheSvm) {
  const LinearCase lc = linear_case(zo::LinearLoss::squared_hinge);
  for (auto e : {TraceEstimator::hutchinson, TraceEstimator::hutchpp}) {
    for (std::size_t which = 0; which < lc.points.size(); ++which) {
      const auto& x = lc.points[which];
      const double truth = zo::trace_exact(*lc.model, x.data(), cpu()).estimate;
      const SeedStats s = over_seeds(e, *lc.model, x, 48, 40, cpu());
      EXPECT_LE(std::fabs(s.mean - truth), 5.0 * s.sd / std::sqrt(40.0) + 1e-6 * truth)
          << zo::to_string(e) << " point " << which;
    }
  }
}

// On a quadratic the value-based estimators equal Hutchinson with the same Gaussian probes, probe
// by probe: f(x+δ) + f(x−δ) − 2f(x) = δᵀAδ exactly, and at the minimiser x = 0 also
// 2(f(δ) − f(0)) = δᵀAδ, with δ = εv exactly (x = 0). Away from 0, δ differs from εv by float32
// rounding of x ± εv (relative 2^-24·|x|/(ε|v|) ≲ 1e-5 here).
TEST(Trace, ValueEstimatorsEqualHutchinsonOnQuadraticsWithTheSameProbes) {
  std::vector<double> spectrum(40);
  for (std::size_t i = 0; i < spectrum.size(); ++i) spectrum[i] = 0.5 + std::sin(1.0 * i);
  const DenseQuadratic f(spectrum, 23);  // indefinite
  TraceOptions o = cpu();
  o.automatic_distribution = false;
  o.distribution = zo::Distribution::gaussian;
  std::vector<float> zero(40, 0.0f), x(40);
  zo::gaussian_fill(5, 0, x.data(), x.size());
  const TraceEstimate h = zo::trace_hutchinson(f, zero.data(), 200, 12, o);
  const TraceEstimate z0 = zo::trace_zo(f, zero.data(), 200, 12, o);
  const TraceEstimate s0 = zo::trace_sharpness(f, zero.data(), 200, 12, o);
  const TraceEstimate zx = zo::trace_zo(f, x.data(), 200, 12, o);
  const TraceEstimate hx = zo::trace_hutchinson(f, x.data(), 200, 12, o);  // A is constant
  EXPECT_EQ(h.estimate, hx.estimate);
  EXPECT_TRUE(zo_test::IsClose(z0.estimate, h.estimate, 1e-6, 1e-6));
  EXPECT_TRUE(zo_test::IsClose(s0.estimate, h.estimate, 1e-6, 1e-6));
  EXPECT_TRUE(zo_test::IsClose(z0.std_error, h.std_error, 1e-6, 1e-6));
  EXPECT_TRUE(zo_test::IsClose(zx.estimate, h.estimate, 1e-4, 1e-4));
  // Just below a binade boundary x + εv crosses it upwards and x − εv does not: round-to-nearest
  // alone gives asymmetric pairs there, whose gradient term 2∇fᵀs/ε² (s the asymmetry) would shift
  // this estimate by ~7e-3 relative (measured). symmetric_pair removes it; what remains is the
  // float32 quantisation of δ = εv + r, |r| ≤ 2^-24: ~2e-6 relative (measured), allowed 1e-5.
  std::vector<float> edge(40);
  for (std::size_t i = 0; i < edge.size(); ++i)
    edge[i] = (i % 2 ? -1.0f : 1.0f) * (1.0f - 0x1p-20f);
  TraceOptions small = o;
  small.epsilon = 0x1p-12;
  const TraceEstimate ze = zo::trace_zo(f, edge.data(), 200, 12, small);
  EXPECT_TRUE(zo_test::IsClose(ze.estimate, h.estimate, 1e-5, 0.0)) << zo::to_string(ze);
}

TEST(Trace, GradientDifferencesAgreeWithHvpOnTheSameProbes) {
  // Example 2.1 is quartic, so the central difference of its (cubic) gradient differs from the
  // HVP by O(h²)·‖x‖²: with h = 2^-8 the per-probe terms agree to ~1e-4 relative.
  const zo::Example21 f(20);
  const auto x = example_point(20, 0);
  TraceOptions a = cpu(), b = cpu();
  a.hessian = zo::HessianSource::hvp;
  b.hessian = zo::HessianSource::gradient;
  const TraceEstimate ra = zo::trace_hutchinson(f, x.data(), 64, 5, a);
  const TraceEstimate rb = zo::trace_hutchinson(f, x.data(), 64, 5, b);
  EXPECT_TRUE(zo_test::IsClose(rb.estimate, ra.estimate, 1e-3, 0.0));
  EXPECT_EQ(rb.gradient_evaluations, 128u);
  EXPECT_EQ(rb.hvp_evaluations, 0u);
  EXPECT_EQ(rb.epsilon, 0x1p-8 * power_of_two_scale(x));
}

// Standard error ∝ 1/√m. Gaussian probes on A with a flat spectrum: a probe term vᵀAv has
// variance σ² = 2Σλ² and kurtosis κ = 3 + 12Σλ⁴/(Σλ²)². The sample standard deviation of m terms
// has relative standard error √((κ−1)/(4m)) (delta method), so SE·√m must lie within 5 of those
// of σ, and SE(m)/SE(4m) within 5·(r_m + r_4m) of 2.
TEST(Trace, StandardErrorShrinksLikeOneOverSqrtM) {
  std::vector<double> spectrum(100);
  for (std::size_t i = 0; i < spectrum.size(); ++i) spectrum[i] = 1.0 + i / 99.0;
  const DenseQuadratic f(spectrum, 11);
  std::vector<float> x(100, 0.0f);
  TraceOptions o = cpu();
  o.automatic_distribution = false;
  o.distribution = zo::Distribution::gaussian;
  const double s2 = f.power_sum(2), s4 = f.power_sum(4);
  const double sigma = std::sqrt(2.0 * s2);
  const double kappa = 3.0 + 12.0 * s4 / (s2 * s2);
  const std::uint32_t m = 1600;
  const TraceEstimate r1 = zo::trace_hutchinson(f, x.data(), m, 21, o);
  const TraceEstimate r4 = zo::trace_hutchinson(f, x.data(), 4 * m, 22, o);
  const double rel1 = std::sqrt((kappa - 1.0) / (4.0 * m));
  const double rel4 = std::sqrt((kappa - 1.0) / (16.0 * m));
  EXPECT_TRUE(zo_test::IsClose(r1.std_error * std::sqrt(1.0 * m), sigma, 5.0 * rel1, 0.0));
  EXPECT_TRUE(zo_test::IsClose(r4.std_error * std::sqrt(4.0 * m), sigma, 5.0 * rel4, 0.0));
  EXPECT_TRUE(zo_test::IsClose(r1.std_error / r4.std_error, 2.0, 5.0 * (rel1 + rel4), 0.0));
  // The second difference has the same variance (A is quadratic: no truncation error).
  const TraceEstimate z1 = zo::trace_zo(f, x.data(), m, 23, o);
  EXPECT_TRUE(zo_test::IsClose(z1.std_error * std::sqrt(1.0 * m), sigma, 5.0 * rel1, 0.0));
  EXPECT_LE(std::fabs(z1.estimate - f.trace()), 5.0 * z1.std_error);
  // Rademacher: σ² = 2(‖A‖²_F − Σ A_ii²); its kurtosis has no simple closed form, so it is
  // measured here from 4m probe terms recomputed with the test's own A.
  TraceOptions rad = o;
  rad.distribution = zo::Distribution::rademacher;
  const TraceEstimate rr = zo::trace_hutchinson(f, x.data(), m, 24, rad);
  const double sigma_rad = std::sqrt(2.0 * (s2 - f.diag_sq()));
  std::vector<float> v(100);
  std::vector<double> q;
  for (std::uint32_t j = 0; j < 4 * m; ++j) {
    zo::fill_direction(zo::Distribution::rademacher,
                       zo::DirectionKey{9, j, zo::kTraceProbeSubstream}, 100, v.data());
    q.push_back(f.quadratic_form(v));
  }
  double mean = 0.0, m2 = 0.0, m4 = 0.0;
  for (double t : q) mean += t / q.size();
  for (double t : q) {
    m2 += (t - mean) * (t - mean) / q.size();
    m4 += std::pow(t - mean, 4) / q.size();
  }
  const double kappa_rad = m4 / (m2 * m2);
  const double rel_rad = std::sqrt((kappa_rad - 1.0) / (4.0 * m));
  EXPECT_TRUE(zo_test::IsClose(rr.std_error * std::sqrt(1.0 * m), sigma_rad, 5.0 * rel_rad, 0.0))
      << "kurtosis " << kappa_rad;
  EXPECT_LE(std::fabs(rr.estimate - f.trace()), 5.0 * rr.std_error);
  EXPECT_LT(sigma_rad, sigma);  // Rademacher probes have the smaller variance
}

// Hutch++ vs Hutchinson at the same number of HVPs (m = 30) on λ_i = 0.7^i, D = 100: Hutch++
// removes the top ~10 eigenvalues, so its error is far smaller (residual ‖A‖_F shrinks by
// ≈ 0.7^10 ≈ 0.03). Root-mean-square errors over 40 seeds; the test demands a factor 4.
TEST(Trace, HutchppBeatsHutchinsonOnADecayingSpectrum) {
  std::vector<double> spectrum(100);
  for (std::size_t i = 0; i < spectrum.size(); ++i) spectrum[i] = std::pow(0.7, i);
  const DenseQuadratic f(spectrum, 5);
  std::vector<float> x(100, 0.1f);
  const double truth = f.trace();
  double mse_h = 0.0, mse_pp = 0.0, mean_pp = 0.0;
  std::vector<double> pp;
  const int seeds = 40;
  for (int s = 0; s < seeds; ++s) {
    const TraceEstimate h = zo::trace_hutchinson(f, x.data(), 30, 500 + s, cpu());
    const TraceEstimate p = zo::trace_hutchpp(f, x.data(), 30, 500 + s, cpu());
    EXPECT_EQ(p.hvp_evaluations, 30u);
    EXPECT_EQ(h.hvp_evaluations, 30u);
    mse_h += (h.estimate - truth) * (h.estimate - truth) / seeds;
    mse_pp += (p.estimate - truth) * (p.estimate - truth) / seeds;
    mean_pp += p.estimate / seeds;
    pp.push_back(p.estimate);
  }
  EXPECT_LT(std::sqrt(mse_pp) * 4.0, std::sqrt(mse_h))
      << "rmse hutch++ " << std::sqrt(mse_pp) << " hutchinson " << std::sqrt(mse_h);
  double var = 0.0;
  for (double v : pp) var += (v - mean_pp) * (v - mean_pp) / (seeds - 1);
  EXPECT_LE(std::fabs(mean_pp - truth), 5.0 * std::sqrt(var / seeds));
}

TEST(Trace, HutchppIsExactOnLowRankHessians) {
  // Rank 5 with a sketch of 10: the residual (I − QQᵀ)A(I − QQᵀ) vanishes up to float rounding.
  std::vector<double> spectrum(60, 0.0);
  for (int i = 0; i < 5; ++i) spectrum[i] = 3.0 - i * 0.5;
  const DenseQuadratic f(spectrum, 9);
  std::vector<float> x(60, 0.3f);
  const TraceEstimate r = zo::trace_hutchpp(f, x.data(), 30, 1, cpu());
  EXPECT_TRUE(zo_test::IsClose(r.estimate, f.trace(), 1e-5, 0.0)) << zo::to_string(r);
  EXPECT_LT(r.std_error, 1e-5 * f.trace());
  // ... and the error bar (the float32 floor) covers the remaining error.
  EXPECT_GT(r.rounding_error, 0.0);
  EXPECT_LE(std::fabs(r.estimate - f.trace()), r.std_error) << zo::to_string(r);
  // Example 2.1 at a minimiser has H = wwᵀ (rank 1): Hutch++ returns ‖y‖² + ‖z‖².
  const zo::Example21 e(20);
  const auto xm = example_point(20, 2);
  const TraceEstimate re = zo::trace_hutchpp(e, xm.data(), 9, 4, cpu());
  EXPECT_TRUE(zo_test::IsClose(re.estimate, example21_trace(xm), 1e-4, 0.0)) << zo::to_string(re);
  EXPECT_LE(std::fabs(re.estimate - example21_trace(xm)), re.std_error) << zo::to_string(re);
  // With m ≥ 3D the sketch spans R^D: exact up to the floor, with 2D products.
  const TraceEstimate full = zo::trace_hutchpp(e, example_point(20, 0).data(), 150, 4, cpu());
  EXPECT_EQ(full.hvp_evaluations, 80u);
  EXPECT_LE(std::fabs(full.estimate - example21_trace(example_point(20, 0))), full.std_error);
}

// The zeroth-order bias is O(ε²) with the predicted constant: for f = Σ c_i x_i⁴/4 the second
// difference of probe v is exactly vᵀHv + ε² Σ c_i v_i⁴/2. With the same probes (regenerated
// here from the documented keys) the measured bias est(ε) − (1/m)Σ v_jᵀHv_j must equal
// ε²·(1/m)ΣΣ c_i v_i⁴/2 to 1% (rounding of x ± εv contributes < 0.1% at these ε).
TEST(Trace, ZerothOrderBiasIsOrderEpsilonSquared) {
  const std::size_t d = 50;
  std::vector<double> c(d);
  std::vector<float> x(d);
  for (std::size_t i = 0; i < d; ++i) {
    c[i] = 0.5 + 0.02 * i;
    x[i] = 0.25f * static_cast<float>(static_cast<int>(i % 9) - 4);
  }
  const Quartic f(c);
  const std::uint32_t m = 64;
  const std::uint64_t seed = 8;
  double quad = 0.0, fourth = 0.0;
  std::vector<float> v(d);
  for (std::uint32_t j = 0; j < m; ++j) {
    zo::fill_direction(zo::Distribution::gaussian,
                       zo::DirectionKey{seed, j, zo::kTraceProbeSubstream}, d, v.data());
    for (std::size_t i = 0; i < d; ++i) {
      const double vi = v[i];
      quad += 3.0 * c[i] * x[i] * x[i] * vi * vi / m;
      fourth += c[i] * vi * vi * vi * vi / 2.0 / m;
    }
  }
  double previous_bias = 0.0;
  for (int e = 2; e <= 5; ++e) {
    TraceOptions o = cpu();
    o.epsilon = std::ldexp(1.0, -e);
    const TraceEstimate r = zo::trace_zo(f, x.data(), m, seed, o);
    const double bias = r.estimate - quad;
    const double predicted = o.epsilon * o.epsilon * fourth;
    EXPECT_TRUE(zo_test::IsClose(bias, predicted, 1e-2, 0.0)) << "eps = 2^-" << e;
    if (e > 2) EXPECT_TRUE(zo_test::IsClose(previous_bias / bias, 4.0, 4e-2, 0.0));
    previous_bias = bias;
  }
  // The same holds for the one-sided estimate in expectation only (its odd terms cancel on
  // average); per probe it is 2∇fᵀv/ε + vᵀHv + ε vᵀ∇³f[v,v]/3 + ..., so check it is unbiased.
  const TraceEstimate s = zo::trace_sharpness(f, x.data(), 4000, 3, cpu());
  double truth = 0.0;
  for (std::size_t i = 0; i < d; ++i) truth += 3.0 * c[i] * x[i] * x[i];
  EXPECT_LE(std::fabs(s.estimate - truth), 5.0 * s.std_error);
}

TEST(Trace, BlackBoxObjectivesGetAClearError) {
  const zo::Example21 inner(10);
  const ValuesOnly f(inner);
  const auto x = example_point(10, 0);
  for (auto e : {TraceEstimator::hutchinson, TraceEstimator::hutchpp}) {
    try {
      zo::estimate_trace(e, f, x.data(), 12, 1, cpu());
      ADD_FAILURE() << "no exception for " << zo::to_string(e);
    } catch (const zo::NotSupported& err) {
      const std::string what = err.what();
      EXPECT_NE(what.find("values only"), std::string::npos) << what;
      EXPECT_NE(what.find("'zo'"), std::string::npos) << what;
    }
  }
  // The value-only estimators work.
  const TraceEstimate r = zo::trace_zo(f, x.data(), 400, 1, cpu());
  EXPECT_LE(std::fabs(r.estimate - example21_trace(x)), 5.0 * r.std_error);
  // Asking for HVPs from an objective that only has a gradient.
  DenseQuadratic q(std::vector<double>(8, 1.0), 1);
  q.disable_hvp();
  std::vector<float> xq(8, 0.0f);
  TraceOptions o = cpu();
  o.hessian = zo::HessianSource::hvp;
  EXPECT_THROW(zo::trace_hutchinson(q, xq.data(), 4, 1, o), zo::NotSupported);
  o.hessian = zo::HessianSource::automatic;  // falls back to gradient differences
  const TraceEstimate rq = zo::trace_hutchinson(q, xq.data(), 4, 1, o);
  EXPECT_EQ(rq.gradient_evaluations, 8u);
  EXPECT_TRUE(zo_test::IsClose(rq.estimate, 8.0, 1e-5, 0.0));  // Rademacher on A = I: exact
}

TEST(Trace, RejectsInvalidArguments) {
  const zo::Example21 f(4);
  std::vector<float> x(8, 1.0f);
  EXPECT_THROW(zo::trace_hutchpp(f, x.data(), 2, 1, cpu()), zo::InvalidArgument);
  EXPECT_THROW(zo::trace_zo(f, x.data(), 0, 1, cpu()), zo::InvalidArgument);
  TraceOptions o = cpu();
  o.epsilon = -1.0;
  EXPECT_THROW(zo::trace_zo(f, x.data(), 4, 1, o), zo::InvalidArgument);
  o = cpu();
  o.automatic_distribution = false;
  o.distribution = zo::Distribution::sphere;
  EXPECT_THROW(zo::trace_zo(f, x.data(), 4, 1, o), zo::InvalidArgument);
  x[3] = std::nanf("");
  EXPECT_THROW(zo::trace_zo(f, x.data(), 4, 1, cpu()), zo::InvalidArgument);
  EXPECT_THROW(zo::parse_trace_estimator("hutch"), zo::InvalidArgument);
  EXPECT_EQ(zo::parse_trace_estimator("hutchpp"), TraceEstimator::hutchpp);
  EXPECT_EQ(zo::parse_trace_estimator(zo::to_string(TraceEstimator::sharpness)),
            TraceEstimator::sharpness);
}

// f(x) = √x₀: NaN for the perturbed points with x₀ < 0.
class SquareRoot final : public zo::Objective {
 public:
  std::size_t dim() const override { return 3; }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    for (std::size_t p = 0; p < pts.count; ++p) values[p] = std::sqrt(pts.point(p)[0]);
  }
};

TEST(Trace, NonFiniteValuesAreReported) {
  const SquareRoot f;
  std::vector<float> x(3, 0.0f);
  try {
    zo::trace_zo(f, x.data(), 4, 1, cpu());
    ADD_FAILURE() << "no exception";
  } catch (const zo::Error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite value"), std::string::npos) << e.what();
  }
}

TEST(Trace, DeterministicForAnyThreadCountAndBatchComposition) {
  const zo::Example21 f(33);
  std::vector<float> xs;
  for (int which = 0; which < 3; ++which) {
    const auto x = example_point(33, which);
    xs.insert(xs.end(), x.begin(), x.end());
  }
  // An explicit step: with the default (epsilon = 0), a batch uses the largest default_step() of
  // its points, so a point estimated alone may get a smaller step and another estimate.
  TraceOptions o = cpu();
  o.epsilon = 0x1p-5;
  for (auto e : {TraceEstimator::hutchinson, TraceEstimator::zo, TraceEstimator::sharpness,
                 TraceEstimator::hutchpp}) {
    omp_set_num_threads(1);
    const auto one = zo::estimate_traces(e, f, xs.data(), 3, 20, 6, o);
    omp_set_num_threads(2);
    const auto two = zo::estimate_traces(e, f, xs.data(), 3, 20, 6, o);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(one[k].estimate, two[k].estimate) << zo::to_string(e);
      EXPECT_EQ(one[k].std_error, two[k].std_error) << zo::to_string(e);
      const TraceEstimate single = zo::estimate_trace(e, f, xs.data() + k * 66, 20, 6, o);
      EXPECT_EQ(single.estimate, one[k].estimate) << zo::to_string(e) << " point " << k;
    }
  }
}

TEST(Trace, CountsEvaluationsAndUsesPowerOfTwoSteps) {
  const zo::Example21 f(10);
  const auto x = example_point(10, 1);  // rms ≈ 0.5 → scale 1
  const TraceEstimate z = zo::trace_zo(f, x.data(), 25, 1, cpu());
  EXPECT_EQ(z.value_evaluations, 51u);
  EXPECT_EQ(z.probes, 25u);
  EXPECT_EQ(z.epsilon, 0x1p-6);
  const TraceEstimate s = zo::trace_sharpness(f, x.data(), 25, 1, cpu());
  EXPECT_EQ(s.value_evaluations, 26u);
  const TraceEstimate p = zo::trace_hutchpp(f, x.data(), 31, 1, cpu());
  EXPECT_EQ(p.hvp_evaluations, 31u);
  EXPECT_EQ(p.probes, 21u);  // 10 sketch + 11 residual
  TraceOptions dbl = cpu();
  dbl.value_precision = 0x1p-52;
  EXPECT_EQ(zo::default_step(TraceEstimator::zo, f, x.data(), dbl), 0x1p-13);
  std::vector<float> big(20, 3.0f);  // rms 3 → scale 4
  EXPECT_EQ(zo::default_step(TraceEstimator::zo, f, big.data()), 0x1p-4);
  EXPECT_EQ(zo::default_step(TraceEstimator::hutchinson, f, big.data()), 0.0);  // has HVPs
  EXPECT_EQ(zo::default_step(TraceEstimator::exact, f, big.data()), 0.0);
}

TEST(Trace, RoundingErrorIsSmallAtTheDefaultStepAndGrowsAsEpsilonShrinks) {
  // At a non-stationary point, with the default ε the rounding estimate is far below the
  // statistical error; at ε = 2^-20 the value term 4u|f|/ε² (u = 2^-24) dominates.
  const zo::Example21 f(20);
  const auto x = example_point(20, 0);
  const TraceEstimate r = zo::trace_zo(f, x.data(), 200, 2, cpu());
  EXPECT_LT(r.rounding_error, 0.01 * r.std_error) << zo::to_string(r);
  TraceOptions o = cpu();
  o.epsilon = 0x1p-20;
  const TraceEstimate tiny = zo::trace_zo(f, x.data(), 200, 2, o);
  EXPECT_GT(tiny.rounding_error, 1e4 * r.rounding_error);
}

TEST(Trace, LogsRunTracesNextToTheExactOnes) {
  const zo::Example21 f(16);
  std::vector<float> x0(3 * 32);
  zo::gaussian_fill(3, 0, x0.data(), x0.size());
  std::vector<zo::RunSpec> runs(3);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    runs[k].lambda = 0.1f;
    runs[k].eta = 1e-3f;
    runs[k].seed = k;
  }
  zo::BatchOptions bo;
  bo.backend = zo::Backend::cpu;
  zo::RunBatch batch(f, runs, x0.data(), bo);
  batch.run(7);
  const auto logged =
      zo::log_run_traces(batch, f, TraceEstimator::zo, 1000, zo::trace_seed(1, 7), cpu());
  std::vector<double> loss(3), trace(3);
  batch.measure(loss.data(), trace.data());
  ASSERT_EQ(logged.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(logged[k].run, k);
    EXPECT_EQ(logged[k].step, 7u);
    EXPECT_TRUE(zo_test::IsClose(logged[k].exact, trace[k], 1e-12, 0.0));
    EXPECT_LE(std::fabs(logged[k].estimate.estimate - trace[k]),
              5.0 * logged[k].estimate.std_error);
  }
  EXPECT_NE(zo::trace_seed(1, 7), zo::trace_seed(1, 8));
  EXPECT_NE(zo::trace_seed(1, 7), zo::trace_seed(2, 7));
}

TEST(Trace, FormatsTheEstimateToItsErrorBar) {
  TraceEstimate e;
  e.estimator = TraceEstimator::hutchinson;
  e.estimate = 27.934;
  e.std_error = 0.41;
  e.probes = 100;
  e.hvp_evaluations = 100;
  EXPECT_EQ(zo::to_string(e), "tr H = 27.9 ± 0.4 (hutchinson, m = 100, 100 HVPs)");
  e.std_error = 0.14;
  EXPECT_EQ(zo::to_string(e).rfind("tr H = 27.93 ± 0.14 (", 0), 0u) << zo::to_string(e);
  e.estimator = TraceEstimator::zo;
  e.estimate = 15432.1;
  e.std_error = 270.0;
  e.hvp_evaluations = 0;
  e.value_evaluations = 201;
  e.epsilon = 0.015625;
  EXPECT_EQ(zo::to_string(e), "tr H = 15430 ± 270 (zo, m = 100, 201 evaluations, eps = 0.0156)");
}

// Hutch++'s dense QR: Q has orthonormal columns, R = QᵀA is upper triangular with A = QR, for a
// well-conditioned A, a rank-deficient one (a repeated column, a zero column) and n = d; the
// result does not depend on the thread count. Tolerances: a few hundred ulps of double for
// d ≤ 300 (Householder QR is backward stable, error ~ d·n·2^-53·‖A‖).
TEST(HouseholderQ, OrthonormalBasisOfTheColumns) {
  std::mt19937_64 gen(77);
  std::normal_distribution<double> normal;
  struct Case {
    std::size_t d, n;
    bool deficient;
  };
  for (const Case c :
       {Case{50, 7, false}, Case{300, 20, false}, Case{40, 9, true}, Case{12, 12, false}}) {
    SCOPED_TRACE("d = " + std::to_string(c.d) + ", n = " + std::to_string(c.n));
    std::vector<double> a(c.d * c.n);
    for (double& v : a) v = normal(gen);
    if (c.deficient) {
      std::copy(a.begin(), a.begin() + c.d, a.begin() + 3 * c.d);  // column 3 = column 0
      std::fill(a.begin() + 5 * c.d, a.begin() + 6 * c.d, 0.0);    // column 5 = 0
    }
    const std::vector<double> q = zo::detail::householder_q(a, c.d, c.n);
    ASSERT_EQ(q.size(), c.d * c.n);
    const double tol = 1e-12;
    for (std::size_t i = 0; i < c.n; ++i) {
      for (std::size_t j = 0; j < c.n; ++j) {
        const double qq = zo::detail::dot4(&q[i * c.d], &q[j * c.d], 0, c.d);
        EXPECT_NEAR(qq, i == j ? 1.0 : 0.0, tol) << "QᵀQ(" << i << ", " << j << ")";
      }
    }
    // R = QᵀA: below the diagonal zero, and QR = A.
    std::vector<double> r(c.n * c.n);
    double a_norm = 0.0;
    for (double v : a) a_norm = std::max(a_norm, std::fabs(v));
    for (std::size_t i = 0; i < c.n; ++i) {
      for (std::size_t j = 0; j < c.n; ++j) {
        r[i * c.n + j] = zo::detail::dot4(&q[i * c.d], &a[j * c.d], 0, c.d);
        if (i > j)
          EXPECT_NEAR(r[i * c.n + j], 0.0, tol * a_norm * c.d) << "R(" << i << ", " << j << ")";
      }
    }
    for (std::size_t j = 0; j < c.n; ++j) {
      for (std::size_t k = 0; k < c.d; ++k) {
        double qr = 0.0;
        for (std::size_t i = 0; i <= j; ++i) qr += q[i * c.d + k] * r[i * c.n + j];
        ASSERT_NEAR(qr, a[j * c.d + k], tol * a_norm * c.d) << "(QR − A)(" << k << ", " << j << ")";
      }
    }
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const std::vector<double> q1 = zo::detail::householder_q(a, c.d, c.n);
    omp_set_num_threads(threads);
    EXPECT_EQ(q1, q) << "thread count changed the basis";
  }
}

}  // namespace

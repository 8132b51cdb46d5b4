// LinearModel on the CPU: loss, gradient, Hessian-vector product and trace against a float64
// reference and float64 central finite differences; batched evaluation against single
// evaluations; determinism; dense vs CSR storage; the linear-structure API (margins,
// evaluate_along); the margins engine against the generic one.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "batch/linear_margins.hpp"
#include "linear_reference.hpp"
#include "objectives/linear_loss_math.hpp"
#include "tolerance.hpp"
#include "zo/error.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

namespace {

using zo::DataSplit;
using zo::LinearLoss;
using zo_test::IsClose;

/// n × d data with N(0,1) features (a fraction `density` present) and a bias column 0; labels
/// from a random linear teacher with label noise.
std::shared_ptr<zo::BinaryDataset> make_test_data(std::size_t n, std::size_t d, bool sparse,
                                                  std::uint64_t seed, double density = 0.6) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<double> uniform;
  zo::DenseMatrix m;
  m.rows = n;
  m.cols = d;
  m.values.assign(n * d, 0.0f);
  std::vector<float> teacher(d);
  for (auto& t : teacher) t = normal(rng);
  auto data = std::make_shared<zo::BinaryDataset>();
  for (std::size_t i = 0; i < n; ++i) {
    double score = 0.5 * normal(rng);
    for (std::size_t j = 0; j < d; ++j) {
      if (j == 0) {
        m.row(i)[j] = 1.0f;
      } else if (uniform(rng) < density) {
        m.row(i)[j] = normal(rng);
      }
      score += m.row(i)[j] * teacher[j];
    }
    data->labels.push_back(score > 0 ? 1.0f : -1.0f);
  }
  if (sparse) {
    data->features = zo::to_csr(m);
  } else {
    data->features = std::move(m);
  }
  return data;
}

std::vector<float> random_points(std::size_t count, std::size_t d, std::size_t stride, float scale,
                                 std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x(count * stride, 1e30f);  // padding must never be read
  for (std::size_t p = 0; p < count; ++p)
    for (std::size_t j = 0; j < d; ++j) x[p * stride + j] = normal(rng);
  return x;
}

zo::PointBatch batch_of(const std::vector<float>& x, std::size_t count, std::size_t d,
                        std::size_t stride) {
  zo::PointBatch b;
  b.data = x.data();
  b.count = count;
  b.dim = d;
  b.stride = stride;
  return b;
}

std::vector<double> to_double(const float* x, std::size_t d) { return {x, x + d}; }

zo::LinearModelOptions cpu() {
  zo::LinearModelOptions o;
  o.backend = zo::Backend::cpu;
  return o;
}

struct Shape {
  std::size_t n, d, p;
  bool sparse;
  LinearLoss loss;
};

class LinearModelVsReference : public ::testing::TestWithParam<Shape> {};

}  // namespace

// Every quantity of the model against the float64 reference, on awkward sizes (1, odd, D not a
// multiple of 4, more rows than a block), dense and CSR, both losses, and strided batches.
// The model multiplies the same float data and points in double, so only the summation order
// differs: relative 1e-12 for the double outputs, float rounding (2^-24) for the float outputs.
TEST_P(LinearModelVsReference, AllQuantitiesMatch) {
  const Shape s = GetParam();
  const auto data = make_test_data(s.n, s.d, s.sparse, 11 + s.n + s.d);
  const zo::LinearModel model(s.loss, data, data, cpu());
  const zo_test::RefData ref_data = zo_test::reference_data(*data);
  const zo_test::Reference ref{ref_data, s.loss};
  const std::size_t stride = s.d + 3;
  const auto x = random_points(s.p, s.d, stride, 0.3f, 5);
  const auto v = random_points(s.p, s.d, stride, 1.0f, 6);
  const auto xb = batch_of(x, s.p, s.d, stride), vb = batch_of(v, s.p, s.d, stride);

  std::vector<double> values(s.p), traces(s.p);
  model.evaluate(xb, values.data());
  model.exact_trace(xb, traces.data());
  std::vector<float> grads(s.p * stride, 7.0f), hv(s.p * stride, 7.0f);
  model.gradient(xb, grads.data(), stride);
  model.hvp(xb, vb, hv.data(), stride);
  const auto measured = model.measure(DataSplit::test, xb);
  std::vector<double> margins(s.p * s.n);
  model.margins(DataSplit::train, xb, margins.data());

  for (std::size_t p = 0; p < s.p; ++p) {
    const auto xp = to_double(&x[p * stride], s.d);
    const auto vp = to_double(&v[p * stride], s.d);
    EXPECT_TRUE(IsClose(values[p], ref.value(xp), 1e-12, 1e-15)) << "point " << p;
    EXPECT_TRUE(IsClose(traces[p], ref.trace(xp), 1e-12, 1e-15)) << "point " << p;
    EXPECT_TRUE(IsClose(measured[p].loss, ref.value(xp), 1e-12, 1e-15));
    EXPECT_TRUE(IsClose(measured[p].trace, ref.trace(xp), 1e-12, 1e-15));
    EXPECT_EQ(measured[p].accuracy, ref.accuracy(xp));
    const auto g = ref.gradient(xp);
    const auto h = ref.hvp(xp, vp);
    double g_scale = 0.0, h_scale = 0.0;
    for (std::size_t j = 0; j < s.d; ++j) {
      g_scale = std::max(g_scale, std::fabs(g[j]));
      h_scale = std::max(h_scale, std::fabs(h[j]));
    }
    for (std::size_t j = 0; j < s.d; ++j) {
      EXPECT_TRUE(IsClose(grads[p * stride + j], g[j], 1e-6, 1e-7 * g_scale)) << p << "," << j;
      EXPECT_TRUE(IsClose(hv[p * stride + j], h[j], 1e-6, 1e-7 * h_scale)) << p << "," << j;
    }
    for (std::size_t j = s.d; j < stride; ++j) {  // the padding of the outputs is untouched
      EXPECT_EQ(grads[p * stride + j], 7.0f);
      EXPECT_EQ(hv[p * stride + j], 7.0f);
    }
    for (std::size_t i = 0; i < s.n; ++i)
      EXPECT_TRUE(IsClose(margins[p * s.n + i], ref.margin(xp, i), 1e-12, 1e-13));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearModelVsReference,
                         ::testing::Values(Shape{1, 1, 1, false, LinearLoss::squared_hinge},
                                           Shape{1, 1, 1, true, LinearLoss::logistic},
                                           Shape{37, 13, 3, false, LinearLoss::squared_hinge},
                                           Shape{37, 13, 3, true, LinearLoss::squared_hinge},
                                           Shape{37, 13, 5, false, LinearLoss::logistic},
                                           Shape{37, 13, 5, true, LinearLoss::logistic},
                                           Shape{300, 1025, 6, false, LinearLoss::squared_hinge},
                                           Shape{300, 1025, 2, true, LinearLoss::logistic},
                                           Shape{2500, 9, 9, false, LinearLoss::logistic}),
                         [](const auto& info) {
                           const Shape& s = info.param;
                           return std::string(s.loss == LinearLoss::squared_hinge ? "svm"
                                                                                  : "logistic") +
                                  "_n" + std::to_string(s.n) + "_d" + std::to_string(s.d) + "_p" +
                                  std::to_string(s.p) + (s.sparse ? "_csr" : "_dense");
                         });

// The closed forms against float64 central differences of the reference loss (h = 1e-4 on the
// value, 1e-4 on the gradient, 1e-3 for second differences): checks the formulas themselves, not
// just that two implementations agree. Truncation error is O(h²) ≈ 1e-8 relative for these
// smooth-enough points; the squared hinge is piecewise quadratic, exact unless a margin crosses
// 1 within h·‖φ‖, which the check of the kink distance below rules out.
TEST(LinearModelFiniteDifferences, GradientHvpAndTrace) {
  for (LinearLoss loss : {LinearLoss::squared_hinge, LinearLoss::logistic}) {
    const std::size_t n = 23, d = 7;
    const auto data = make_test_data(n, d, false, 99);
    const zo::LinearModel model(loss, data, nullptr, cpu());
    const auto rd = zo_test::reference_data(*data);
    const zo_test::Reference ref{rd, loss};
    // The first seeded point with no margin within 1e-2 of the hinge (a deterministic search).
    std::vector<float> x;
    for (std::uint64_t seed = 3; x.empty() && seed < 1000; ++seed) {
      x = random_points(1, d, d, 0.3f, seed);
      const auto xd = to_double(x.data(), d);
      for (std::size_t i = 0; i < n; ++i)
        if (std::fabs(1.0 - rd.b[i] * ref.margin(xd, i)) < 1e-2) x.clear();
    }
    ASSERT_FALSE(x.empty());
    const auto v = random_points(1, d, d, 1.0f, 4);
    const auto xd = to_double(x.data(), d), vd = to_double(v.data(), d);

    std::vector<float> g(d), hv(d);
    model.gradient(batch_of(x, 1, d, d), g.data(), d);
    model.hvp(batch_of(x, 1, d, d), batch_of(v, 1, d, d), hv.data(), d);
    double trace = 0.0;
    model.exact_trace(batch_of(x, 1, d, d), &trace);

    const double h1 = 1e-4, h2 = 1e-3;
    double fd_trace = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      auto xp = xd, xm = xd;
      xp[j] += h1;
      xm[j] -= h1;
      const double fd = (ref.value(xp) - ref.value(xm)) / (2 * h1);
      EXPECT_TRUE(IsClose(g[j], fd, 1e-5, 1e-7)) << "gradient " << j;
      xp = xd;
      xm = xd;
      xp[j] += h2;
      xm[j] -= h2;
      fd_trace += (ref.value(xp) + ref.value(xm) - 2 * ref.value(xd)) / (h2 * h2);
    }
    EXPECT_TRUE(IsClose(trace, fd_trace, 1e-5, 1e-7));
    auto xp = xd, xm = xd;
    for (std::size_t j = 0; j < d; ++j) {
      xp[j] += h1 * vd[j];
      xm[j] -= h1 * vd[j];
    }
    const auto gp = ref.gradient(xp), gm = ref.gradient(xm);
    for (std::size_t j = 0; j < d; ++j)
      EXPECT_TRUE(IsClose(hv[j], (gp[j] - gm[j]) / (2 * h1), 1e-5, 1e-7)) << "hvp " << j;
  }
}

// A point's values do not depend on its batchmates: bit-identical to one-point calls.
TEST(LinearModelBatching, BatchEqualsSingleEvaluationsBitForBit) {
  for (bool sparse : {false, true}) {
    const std::size_t n = 150, d = 61, p = 11;
    const auto data = make_test_data(n, d, sparse, 7);
    const zo::LinearModel model(LinearLoss::logistic, data, nullptr, cpu());
    const auto x = random_points(p, d, d, 0.3f, 8);
    std::vector<double> values(p), traces(p);
    std::vector<float> grads(p * d);
    model.evaluate(batch_of(x, p, d, d), values.data());
    model.exact_trace(batch_of(x, p, d, d), traces.data());
    model.gradient(batch_of(x, p, d, d), grads.data(), d);
    for (std::size_t q = 0; q < p; ++q) {
      std::vector<float> one(x.begin() + q * d, x.begin() + (q + 1) * d);
      double v = 0.0, t = 0.0;
      std::vector<float> g(d);
      model.evaluate(batch_of(one, 1, d, d), &v);
      model.exact_trace(batch_of(one, 1, d, d), &t);
      model.gradient(batch_of(one, 1, d, d), g.data(), d);
      EXPECT_EQ(v, values[q]);
      EXPECT_EQ(t, traces[q]);
      EXPECT_EQ(std::memcmp(g.data(), &grads[q * d], d * sizeof(float)), 0) << q;
    }
  }
}

TEST(LinearModelDeterminism, SameBitsForAnyThreadCount) {
  const std::size_t n = 700, d = 133, p = 5;
  for (bool sparse : {false, true}) {
    const auto data = make_test_data(n, d, sparse, 17);
    const zo::LinearModel model(LinearLoss::squared_hinge, data, nullptr, cpu());
    const auto x = random_points(p, d, d, 0.3f, 18);
    auto run = [&](int threads) {
      omp_set_num_threads(threads);
      std::vector<double> values(p);
      std::vector<float> grads(p * d), hv(p * d);
      model.evaluate(batch_of(x, p, d, d), values.data());
      model.gradient(batch_of(x, p, d, d), grads.data(), d);
      model.hvp(batch_of(x, p, d, d), batch_of(x, p, d, d), hv.data(), d);
      return std::make_tuple(values, grads, hv);
    };
    const int saved = omp_get_max_threads();
    const auto a = run(1), b = run(2), c = run(3);
    omp_set_num_threads(saved);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, c);
  }
}

TEST(LinearModelStorage, DenseAndCsrAgree) {
  const auto dense = make_test_data(90, 40, false, 23);
  auto sparse = std::make_shared<zo::BinaryDataset>(*dense);
  sparse->features = zo::to_csr(std::get<zo::DenseMatrix>(dense->features));
  for (LinearLoss loss : {LinearLoss::squared_hinge, LinearLoss::logistic}) {
    const zo::LinearModel a(loss, dense, nullptr, cpu()), b(loss, sparse, nullptr, cpu());
    const auto x = random_points(3, 40, 40, 0.3f, 24);
    std::vector<double> va(3), vb(3);
    std::vector<float> ga(120), gb(120);
    a.evaluate(batch_of(x, 3, 40, 40), va.data());
    b.evaluate(batch_of(x, 3, 40, 40), vb.data());
    a.gradient(batch_of(x, 3, 40, 40), ga.data(), 40);
    b.gradient(batch_of(x, 3, 40, 40), gb.data(), 40);
    EXPECT_TRUE(zo_test::AllClose(va.data(), vb.data(), 3, 1e-12, 1e-15));
    EXPECT_TRUE(zo_test::AllClose(ga.data(), gb.data(), 120, 1e-6, 1e-7));
  }
}

// f(x ± λu) from one product with [x, u], for several λ, against the reference at x ± λu.
TEST(LinearModelStructure, EvaluateAlongMatchesTheReference) {
  for (bool sparse : {false, true}) {
    const std::size_t n = 64, d = 21, p = 3;
    const auto data = make_test_data(n, d, sparse, 31);
    for (LinearLoss loss : {LinearLoss::squared_hinge, LinearLoss::logistic}) {
      const zo::LinearModel model(loss, data, nullptr, cpu());
      const auto rd = zo_test::reference_data(*data);
      const zo_test::Reference ref{rd, loss};
      const auto x = random_points(p, d, d, 0.3f, 32);
      const auto u = random_points(p, d, d, 1.0f, 33);
      const std::vector<float> lambdas{0.1f, 0.05f, 1e-3f, 2.0f};
      std::vector<double> plus(p * 4), minus(p * 4);
      model.evaluate_along(batch_of(x, p, d, d), batch_of(u, p, d, d), lambdas.data(), 4,
                           plus.data(), minus.data());
      for (std::size_t q = 0; q < p; ++q) {
        for (std::size_t l = 0; l < 4; ++l) {
          auto xp = to_double(&x[q * d], d), xm = xp;
          for (std::size_t j = 0; j < d; ++j) {
            xp[j] += static_cast<double>(lambdas[l]) * u[q * d + j];
            xm[j] -= static_cast<double>(lambdas[l]) * u[q * d + j];
          }
          EXPECT_TRUE(IsClose(plus[q * 4 + l], ref.value(xp), 1e-12, 1e-14));
          EXPECT_TRUE(IsClose(minus[q * 4 + l], ref.value(xm), 1e-12, 1e-14));
        }
      }
    }
  }
}

TEST(LinearModelLosses, LogisticIsStableAtHugeMargins) {
  auto data = std::make_shared<zo::BinaryDataset>();
  zo::DenseMatrix m;
  m.rows = 2;
  m.cols = 1;
  m.values = {1.0f, -1.0f};
  data->features = m;
  data->labels = {1.0f, 1.0f};
  const zo::LinearModel model(LinearLoss::logistic, data, nullptr, cpu());
  const std::vector<float> x{1000.0f};
  double f = 0.0, t = 0.0;
  model.evaluate(batch_of(x, 1, 1, 1), &f);
  model.exact_trace(batch_of(x, 1, 1, 1), &t);
  // Sample 1: m = 1000, y = 1: loss ≈ e^-1000 = 0; sample 2: m = −1000, y = 1: loss = 1000.
  EXPECT_TRUE(IsClose(f, 500.0, 1e-15, 0.0));
  EXPECT_TRUE(std::isfinite(t));
  EXPECT_EQ(t, 0.0);
}

// The libm-free e^{-a} and log(1 + e) of the logistic loss against std::exp and std::log1p
// (themselves within 1 ulp) on a dense grid plus random points: relative error within the
// documented 4 ulp (4 · 2^-52), and the edge values exact.
TEST(LinearModelLosses, LibmFreeExpAndLog1pStayWithinTheirDocumentedError) {
  const double bound = 4.0 * std::ldexp(1.0, -52);
  std::mt19937_64 rng(81);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> as, es;
  for (int i = 0; i <= 200000; ++i) as.push_back(708.0 * i / 200000.0);
  for (int i = 0; i < 100000; ++i) as.push_back(40.0 * unit(rng));
  for (int i = 0; i <= 100000; ++i) es.push_back(i / 100000.0);
  for (int i = 0; i < 100000; ++i) es.push_back(std::ldexp(unit(rng), -(i % 1000)));
  double worst_exp = 0.0, worst_log = 0.0;
  for (double a : as) {
    const double want = std::exp(-a);
    worst_exp = std::max(worst_exp, std::fabs(zo::detail::exp_neg(a) - want) / want);
  }
  for (double e : es) {
    const double want = std::log1p(e);
    if (want > 0.0)
      worst_log = std::max(worst_log, std::fabs(zo::detail::log1p_unit(e) - want) / want);
  }
  EXPECT_LE(worst_exp, bound);
  EXPECT_LE(worst_log, bound);
  EXPECT_EQ(zo::detail::exp_neg(0.0), 1.0);
  EXPECT_EQ(zo::detail::exp_neg(709.0), 0.0);
  EXPECT_EQ(zo::detail::exp_neg(std::numeric_limits<double>::infinity()), 0.0);
  EXPECT_TRUE(std::isnan(zo::detail::exp_neg(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_EQ(zo::detail::log1p_unit(0.0), 0.0);
  // The value-only body equals the full terms bit for bit (the margins engine uses the former).
  for (double m : {-800.0, -30.5, -1.0, -1e-9, 0.0, 1e-9, 0.75, 12.0, 800.0})
    for (double y : {0.0, 1.0})
      EXPECT_EQ(zo::detail::logistic_value(m, y), zo::detail::logistic_terms(m, y).value);
}

// The margins engine's loss loop (vectorised for the logistic loss; the AVX-512 copy where the
// CPU has it) gives the scalar terms' bits for every element: margins from −800 to 800 (both
// branches of the logistic body, its overflow guards and the polynomials' whole ranges), ±0,
// both labels, a shift s·w of either sign, and lengths that leave every vector tail.
TEST(LinearMarginsLoop, EveryElementHasTheScalarBits) {
  std::mt19937_64 gen(2024);
  std::uniform_real_distribution<double> wide(-800.0, 800.0), narrow(-40.0, 40.0),
      tiny(-1e-6, 1e-6);
  for (std::size_t len : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 1003u, 4096u}) {
    std::vector<double> m(len), w(len), t(len);
    std::vector<float> b(len);
    for (std::size_t i = 0; i < len; ++i) {
      m[i] = i % 3 == 0 ? wide(gen) : i % 3 == 1 ? narrow(gen) : tiny(gen);
      if (i % 17 == 5) m[i] = i % 2 == 0 ? 0.0 : -0.0;
      w[i] = narrow(gen);
      b[i] = i % 2 == 0 ? 1.0f : -1.0f;
    }
    for (double s : {0.0, 0.05, -0.05, 3.0}) {
      for (int kind : {0, 1}) {
        zo::detail::margins_loss_values(kind, m.data(), w.data(), s, b.data(), t.data(), len);
        for (std::size_t i = 0; i < len; ++i) {
          const double mi = m[i] + s * w[i];
          const double want = kind == 1
                                  ? zo::detail::logistic_terms(mi, 0.5 * (double{b[i]} + 1.0)).value
                                  : zo::detail::squared_hinge_terms(mi, b[i]).value;
          ASSERT_EQ(std::memcmp(&t[i], &want, sizeof want), 0)
              << "kind " << kind << ", len " << len << ", i " << i << ", margin " << mi << ": "
              << t[i] << " vs " << want;
        }
      }
    }
  }
}

TEST(LinearModelApi, MetricsNamesAndValues) {
  const auto train = make_test_data(40, 9, false, 41), test = make_test_data(55, 9, true, 42);
  const zo::LinearModel model(LinearLoss::squared_hinge, train, test, cpu());
  ASSERT_EQ(model.metric_names(), (std::vector<std::string>{"train_accuracy", "test_loss",
                                                            "test_trace", "test_accuracy"}));
  const auto x = random_points(2, 9, 9, 0.3f, 43);
  std::vector<double> metrics(8);
  model.metrics(batch_of(x, 2, 9, 9), metrics.data());
  const auto rtr = zo_test::reference_data(*train), rte = zo_test::reference_data(*test);
  const zo_test::Reference ref_train{rtr, LinearLoss::squared_hinge};
  const zo_test::Reference ref_test{rte, LinearLoss::squared_hinge};
  for (std::size_t p = 0; p < 2; ++p) {
    const auto xp = to_double(&x[p * 9], 9);
    EXPECT_EQ(metrics[p * 4 + 0], ref_train.accuracy(xp));
    EXPECT_TRUE(IsClose(metrics[p * 4 + 1], ref_test.value(xp), 1e-12, 1e-15));
    EXPECT_TRUE(IsClose(metrics[p * 4 + 2], ref_test.trace(xp), 1e-12, 1e-15));
    EXPECT_EQ(metrics[p * 4 + 3], ref_test.accuracy(xp));
  }
  EXPECT_EQ(zo::LinearModel(LinearLoss::logistic, train, nullptr, cpu()).metric_names(),
            (std::vector<std::string>{"train_accuracy"}));
  EXPECT_EQ(std::string(model.name()), "svm");
  EXPECT_EQ(zo::parse_linear_loss("logreg"), LinearLoss::logistic);
  EXPECT_EQ(zo::parse_linear_loss("squared-hinge"), LinearLoss::squared_hinge);
  EXPECT_THROW(zo::parse_linear_loss("hinge"), zo::InvalidArgument);
}

TEST(LinearModelApi, RejectsBadInput) {
  const auto train = make_test_data(10, 5, false, 51);
  EXPECT_THROW(zo::LinearModel(LinearLoss::logistic, nullptr), zo::InvalidArgument);
  EXPECT_THROW(
      zo::LinearModel(LinearLoss::logistic, train, make_test_data(10, 6, false, 52), cpu()),
      zo::InvalidArgument);
  auto bad = std::make_shared<zo::BinaryDataset>(*train);
  bad->labels[3] = 0.0f;  // labels must be ±1 (use zo::binary_labels)
  EXPECT_THROW(zo::LinearModel(LinearLoss::logistic, bad, nullptr, cpu()), zo::InvalidArgument);
  auto empty = std::make_shared<zo::BinaryDataset>();
  EXPECT_THROW(zo::LinearModel(LinearLoss::logistic, empty, nullptr, cpu()), zo::InvalidArgument);
  const zo::LinearModel model(LinearLoss::logistic, train, nullptr, cpu());
  const auto x = random_points(2, 5, 5, 0.3f, 53);
  double v[2];
  auto wrong_dim = batch_of(x, 2, 4, 5);
  EXPECT_THROW(model.evaluate(wrong_dim, v), zo::InvalidArgument);
  auto device = batch_of(x, 2, 5, 5);
  device.space = zo::MemorySpace::device;
  EXPECT_FALSE(model.accepts(zo::MemorySpace::device));
  EXPECT_THROW(model.evaluate(device, v), zo::InvalidArgument);
  EXPECT_THROW(model.measure(DataSplit::test, batch_of(x, 2, 5, 5)), zo::InvalidArgument);
  std::vector<float> g(10);
  EXPECT_THROW(model.gradient(batch_of(x, 2, 5, 5), g.data(), 4), zo::InvalidArgument);
}

// RunBatch drives the model: GD decreases the loss, ZO follows RunBatch semantics, and the
// margins engine agrees with the generic one up to the rounding of f(x ± λu), also after a
// restore() halfway (which recomputes the margins).
TEST(MarginsEngine, AgreesWithTheGenericEngine) {
  for (bool sparse : {false, true}) {
    const std::size_t n = 120, d = 33;
    const auto data = make_test_data(n, d, sparse, 61);
    for (LinearLoss loss : {LinearLoss::squared_hinge, LinearLoss::logistic}) {
      const zo::LinearModel model(loss, data, nullptr, cpu());
      std::vector<zo::RunSpec> runs(3);
      runs[0].lambda = 0.1f, runs[0].eta = 0.01f, runs[0].seed = 1;
      runs[1].lambda = 0.05f, runs[1].eta = 0.02f, runs[1].seed = 2, runs[1].q = 3;
      runs[2].lambda = 0.1f, runs[2].eta = 0.01f, runs[2].seed = 3;
      runs[2].distribution = zo::Distribution::sphere;
      const auto x0 = random_points(3, d, d, 0.1f, 62);
      zo::BatchOptions bo;
      bo.backend = zo::Backend::cpu;
      bo.engine = zo::Engine::generic;
      zo::RunBatch reference(model, runs, x0.data(), bo);
      zo::BatchOptions lo = zo_test::margins_engine();
      lo.margins_refresh_every = 7;
      zo::RunBatch fast(model, runs, x0.data(), lo);
      EXPECT_EQ(reference.engine(), zo::Engine::generic);
      EXPECT_EQ(fast.engine(), zo::Engine::margins);
      reference.run(40);
      fast.run(20);
      std::vector<float> half(3 * d);
      fast.copy_points(half.data());
      zo::RunBatch resumed(model, runs, x0.data(), lo);
      resumed.restore(half.data(), 20, fast.statuses());
      fast.run(20);
      resumed.run(20);
      EXPECT_EQ(fast.next_step(), 40u);
      std::vector<float> xr(3 * d), xf(3 * d);
      reference.copy_points(xr.data());
      fast.copy_points(xf.data());
      double moved = 0.0;
      for (std::size_t k = 0; k < 3 * d; ++k)
        moved = std::max(moved, double(std::fabs(xr[k] - x0[k])));
      ASSERT_GT(moved, 1e-3);  // the runs went somewhere
      // Differences come from rounding x ± λu to float in RunBatch (relative 2^-24 per
      // coordinate), amplified by 1/(2λ) in the projected gradient: a few 1e-6 of the movement.
      EXPECT_TRUE(zo_test::AllClose(xf.data(), xr.data(), 3 * d, 0.0, 1e-4 * moved))
          << (sparse ? "csr " : "dense ") << zo::to_string(loss);
      std::vector<float> xs(3 * d);
      resumed.copy_points(xs.data());
      EXPECT_TRUE(zo_test::AllClose(xs.data(), xf.data(), 3 * d, 0.0, 1e-4 * moved))
          << "restored, " << (sparse ? "csr " : "dense ") << zo::to_string(loss);
    }
  }
}

// Engine::automatic picks the margins engine for a linear model on the CPU (zo and gd runs), the
// generic one when a run is zo_limit; Engine::generic still forces the generic engine.
TEST(MarginsEngine, IsTheAutomaticEngineForLinearModelsOnTheCpu) {
  const auto data = make_test_data(20, 6, false, 71);
  const zo::LinearModel model(LinearLoss::logistic, data, nullptr, cpu());
  std::vector<zo::RunSpec> runs(2);
  runs[1].method = zo::Method::gd;
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  EXPECT_EQ(zo::select_engine(model, runs, o), zo::Engine::margins);
  const auto x0 = random_points(2, 6, 6, 0.1f, 72);
  EXPECT_EQ(zo::RunBatch(model, runs, x0.data(), o).engine(), zo::Engine::margins);
  o.engine = zo::Engine::generic;
  EXPECT_EQ(zo::RunBatch(model, runs, x0.data(), o).engine(), zo::Engine::generic);
  o.engine = zo::Engine::automatic;
  runs[1].method = zo::Method::zo_limit;
  EXPECT_EQ(zo::select_engine(model, runs, o), zo::Engine::generic);
}

// The kept margins m = Ax, updated incrementally (m ← m − c·Au in double) without a refresh for
// T steps, against the exact margins A·x_T. What separates them: x is stored in float, so each
// update rounds x_j − c·u_j with a relative error ≤ 2^-24, and A·(that rounding) is not in Au; per
// step |Δm_i| ≤ 2^-24 Σ_j |A_ij||x_j(t+1)|. The double arithmetic adds ≤ (D + 2)·2^-53 of the same
// sum per product and update. Bound after T steps:
//   |m_i − (A x_T)_i| ≤ (T·2^-24 + (T + 1)(D + 2)·2^-53) · max_t Σ_j |A_ij||x_j(t)|,
// which is far below the margins' own movement (checked), so a wrong update would fail.
TEST(MarginsEngine, IncrementalMarginsStayWithinTheDriftBound) {
  for (bool sparse : {false, true}) {
    const std::size_t n = 90, d = 41, steps = 60;
    const auto data = make_test_data(n, d, sparse, 81);
    const zo::LinearModel model(LinearLoss::logistic, data, nullptr, cpu());
    const zo_test::RefData ref = zo_test::reference_data(*data);
    std::vector<zo::RunSpec> runs(2);
    runs[0].lambda = 0.1f, runs[0].eta = 0.05f, runs[0].seed = 5;
    runs[1].lambda = 0.05f, runs[1].eta = 0.05f, runs[1].seed = 6, runs[1].q = 2;
    const auto x0 = random_points(2, d, d, 0.3f, 82);
    zo::BatchOptions o = zo_test::margins_engine();
    o.margins_refresh_every = 1000;  // no refresh within the test
    zo::RunBatch batch(model, runs, x0.data(), o);
    const std::vector<double> m0 = zo::detail::kept_margins(batch);
    ASSERT_EQ(m0.size(), 2 * n);
    std::vector<double> scale(2 * n, 0.0);  // max over t of Σ_j |A_ij||x_j(t)|
    std::vector<float> x(2 * d);
    auto track = [&] {
      batch.copy_points(x.data());
      for (std::size_t k = 0; k < 2; ++k)
        for (std::size_t i = 0; i < n; ++i) {
          double s = 0.0;
          for (std::size_t j = 0; j < d; ++j) s += std::fabs(ref.at(i, j) * x[k * d + j]);
          scale[k * n + i] = std::max(scale[k * n + i], s);
        }
    };
    track();
    for (std::size_t t = 0; t < steps; ++t) {
      batch.run(1);
      track();
    }
    const std::vector<double> kept = zo::detail::kept_margins(batch);
    std::vector<double> exact(2 * n);
    model.margins(DataSplit::train, batch_of(x, 2, d, d), exact.data());
    const double ulps =
        steps * std::ldexp(1.0, -24) + (steps + 1.0) * (d + 2.0) * std::ldexp(1.0, -53);
    double worst = 0.0, moved = 0.0, largest_bound = 0.0;
    for (std::size_t i = 0; i < 2 * n; ++i) {
      const double bound = ulps * scale[i];
      EXPECT_LE(std::fabs(kept[i] - exact[i]), bound) << (sparse ? "csr" : "dense") << " " << i;
      worst = std::max(worst, std::fabs(kept[i] - exact[i]) / bound);
      moved = std::max(moved, std::fabs(exact[i] - m0[i]));
      largest_bound = std::max(largest_bound, bound);
    }
    EXPECT_GT(moved, 1e3 * largest_bound) << "the margins moved too little to test anything";
    // A refresh (here: restore(), which recomputes them) makes them exact again.
    batch.restore(x.data(), batch.next_step(), batch.statuses());
    const std::vector<double> fresh = zo::detail::kept_margins(batch);
    for (std::size_t i = 0; i < 2 * n; ++i) EXPECT_EQ(fresh[i], exact[i]);
  }
}

// GD runs on the margins engine are updated exactly as on the generic CPU engine, and their
// ZO batchmates are unaffected by them.
TEST(MarginsEngine, GradientDescentRunsEqualTheGenericEngineBitForBit) {
  const auto data = make_test_data(60, 9, false, 81);
  for (LinearLoss loss : {LinearLoss::squared_hinge, LinearLoss::logistic}) {
    const zo::LinearModel model(loss, data, nullptr, cpu());
    std::vector<zo::RunSpec> runs(2);
    runs[0].method = zo::Method::gd;
    runs[0].eta = 0.05f;
    runs[1].seed = 4;
    const auto x0 = random_points(2, 9, 9, 0.1f, 82);
    zo::BatchOptions bo;
    bo.backend = zo::Backend::cpu;
    zo::RunBatch generic(model, runs, x0.data(), bo);
    zo::RunBatch margins(model, runs, x0.data(), zo_test::margins_engine());
    zo::RunBatch zo_alone(model, {runs[1]}, x0.data() + 9, zo_test::margins_engine());
    generic.run(30);
    margins.run(30);
    zo_alone.run(30);
    std::vector<float> xg(18), xm(18), xz(9);
    generic.copy_points(xg.data());
    margins.copy_points(xm.data());
    zo_alone.copy_points(xz.data());
    EXPECT_EQ(std::memcmp(xg.data(), xm.data(), 9 * sizeof(float)), 0) << zo::to_string(loss);
    EXPECT_EQ(std::memcmp(xm.data() + 9, xz.data(), 9 * sizeof(float)), 0) << zo::to_string(loss);
    EXPECT_NE(std::memcmp(xg.data(), x0.data(), 9 * sizeof(float)), 0);  // GD moved
  }
}

TEST(MarginsEngine, RejectsZoLimitRunsAndFollowsTheNonFinitePolicy) {
  const auto data = make_test_data(20, 4, false, 71);
  const zo::LinearModel model(LinearLoss::squared_hinge, data, nullptr, cpu());
  std::vector<zo::RunSpec> runs(2);
  runs[1].method = zo::Method::zo_limit;
  const auto small = random_points(2, 4, 4, 0.1f, 72);
  EXPECT_THROW(zo::RunBatch(model, runs, small.data(), zo_test::margins_engine()),
               zo::InvalidArgument);

  // Run 0 starts far from the data's margins (|∇f| in the hundreds) with η = FLT_MAX, so its
  // update coefficient η·g overflows to inf at every step: the policy decides. Run 1 is sane.
  std::vector<zo::RunSpec> mixed(2);
  mixed[0].eta = std::numeric_limits<float>::max();
  mixed[1].eta = 1e-3f;
  mixed[1].seed = 5;
  auto x0 = random_points(2, 4, 4, 100.0f, 73);
  for (std::size_t j = 4; j < 8; ++j) x0[j] = small[j];
  {
    zo::RunBatch batch(model, mixed, x0.data(), zo_test::margins_engine());
    try {
      batch.run(10);
      FAIL() << "no ObjectiveError";
    } catch (const zo::ObjectiveError& e) {
      EXPECT_EQ(e.run(), 0);
      EXPECT_EQ(e.step(), 0u);
      EXPECT_EQ(batch.next_step(), 0u);  // no step completed
      EXPECT_NE(std::string(e.what()).find("step 0 of run 0"), std::string::npos) << e.what();
    }
  }
  zo::RunBatch skipping(model, mixed, x0.data(),
                        zo_test::margins_engine(zo::NonFinitePolicy::skip));
  skipping.run(10);
  std::vector<float> x(8);
  skipping.copy_points(x.data());
  EXPECT_EQ(skipping.statuses()[0].skipped_steps, 10u);
  EXPECT_TRUE(std::equal(x.begin(), x.begin() + 4, x0.begin()));  // never updated
  EXPECT_EQ(skipping.statuses()[1].skipped_steps, 0u);
  EXPECT_FALSE(std::equal(x.begin() + 4, x.end(), x0.begin() + 4));  // run 1 moved

  zo::RunBatch freezing(model, mixed, x0.data(),
                        zo_test::margins_engine(zo::NonFinitePolicy::mark_diverged));
  freezing.run(10);
  EXPECT_TRUE(freezing.statuses()[0].diverged);
  EXPECT_EQ(freezing.statuses()[0].diverged_at, 0u);
  EXPECT_FALSE(freezing.statuses()[1].diverged);
}

TEST(LinearModelWithRunBatch, GradientDescentLowersTheLossAndMeasureReportsMetrics) {
  const auto train = make_test_data(200, 25, false, 81), test = make_test_data(100, 25, false, 82);
  const zo::LinearModel model(LinearLoss::logistic, train, test, cpu());
  zo::RunSpec gd;
  gd.method = zo::Method::gd;
  gd.eta = 0.1f;
  const auto x0 = random_points(1, 25, 25, 0.1f, 83);
  zo::BatchOptions bo;
  bo.backend = zo::Backend::cpu;
  zo::RunBatch batch(model, {gd}, x0.data(), bo);
  double loss0 = 0.0, loss1 = 0.0, trace = 0.0;
  std::vector<double> metrics(4);
  batch.measure(&loss0);
  batch.run(200);
  batch.measure(&loss1, &trace, metrics.data());
  EXPECT_LT(loss1, 0.8 * loss0);
  EXPECT_GT(metrics[0], 0.7);  // train accuracy of a fitted linear model on teacher data
  EXPECT_TRUE(std::isfinite(metrics[1]) && std::isfinite(metrics[2]));
}

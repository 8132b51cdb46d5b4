// LinearModel on the CUDA backend against the CPU reference (the LinearModelIsEquivalentToRef
// tests), on awkward sizes: 1, odd, D not a multiple of 4, more rows than a reduction chunk
// (2048), more points than a block; dense (cuBLAS) and CSR (cuSPARSE); both losses; host batches
// (staged) and device batches with a stride, on a non-default stream.
//
// Tolerances, from what differs: the GPU margins come from float SGEMM/SpMM (float accumulation,
// relative error ≲ D·2^-24 of Σ_j |a_ij x_j|), the CPU's from double sums; every later step is
// double on both sides. So
//  * losses: relative 1e-5 (logistic/hinge are Lipschitz in the margin near these points);
//  * accuracy and the hinge's trace can only change for samples whose margin lies within the
//    margin error of 0 (accuracy) or of the kink b·m = 1 (trace): the allowed difference is the
//    effect of flipping exactly those samples, counted from the CPU margins;
//  * gradients/HVPs (float outputs of a float product): atol 1e-4 · max|g| + rtol 1e-4.
// Two GPU evaluations of the same batch are bit-identical (deterministic reductions, no atomics).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "linear_reference.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/error.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

namespace {

using zo::DataSplit;
using zo::LinearLoss;

std::shared_ptr<zo::BinaryDataset> make_data(std::size_t n, std::size_t d, bool sparse,
                                             std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<double> uniform;
  zo::DenseMatrix m;
  m.rows = n;
  m.cols = d;
  m.values.assign(n * d, 0.0f);
  auto data = std::make_shared<zo::BinaryDataset>();
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j)
      if (j == 0 || uniform(rng) < (sparse ? 0.1 : 1.0)) m.row(i)[j] = j == 0 ? 1.0f : normal(rng);
    data->labels.push_back((rng() & 1) ? 1.0f : -1.0f);
  }
  if (sparse) {
    data->features = zo::to_csr(m);
  } else {
    data->features = std::move(m);
  }
  return data;
}

std::vector<float> points(std::size_t count, std::size_t d, std::size_t stride, float scale,
                          std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> x(count * stride, 0.0f);
  for (std::size_t p = 0; p < count; ++p)
    for (std::size_t j = 0; j < d; ++j) x[p * stride + j] = normal(rng);
  return x;
}

zo::PointBatch batch(const float* x, std::size_t count, std::size_t d, std::size_t stride,
                     zo::MemorySpace space = zo::MemorySpace::host, zo::StreamView s = {}) {
  zo::PointBatch b;
  b.data = x;
  b.count = count;
  b.dim = d;
  b.stride = stride;
  b.space = space;
  b.stream = s;
  return b;
}

zo::LinearModelOptions on(zo::Backend b) {
  zo::LinearModelOptions o;
  o.backend = b;
  return o;
}

struct Shape {
  std::size_t n, d, p;
  bool sparse;
  LinearLoss loss;
};

class LinearModelCuda : public ::testing::TestWithParam<Shape> {};

/// What float rounding of the GPU margins may change, per point: each margin φ_iᵀx may be off by
/// eps_i = 8·√D·2^-24·Σ_j |a_ij x_j| (eight standard deviations of the random-walk error of a
/// float dot product of length D); samples whose CPU margin lies within eps_i of 0 may change
/// their prediction, and (squared hinge) samples within eps_i of the kink b·m = 1 may switch
/// ℓ'' between 0 and 2, which moves the trace by 2‖φ_i‖²/N and the HVP by 2|φ_iᵀv|·|φ_i|/N.
struct FlipBounds {
  std::vector<double> eps;  // per sample
  double accuracy = 0.0;    // bound on |Δ accuracy|
  double trace = 0.0;       // bound on |Δ trace| (hinge)
  std::vector<double> hvp;  // per coordinate bound on |Δ (Hv)_j| (hinge)
};

FlipBounds flip_bounds(const zo_test::RefData& r, const float* x, const float* v, bool hinge) {
  FlipBounds b;
  b.eps.resize(r.n);
  b.hvp.assign(r.d, 0.0);
  for (std::size_t i = 0; i < r.n; ++i) {
    double m = 0.0, abs_sum = 0.0, av = 0.0, norm2 = 0.0;
    for (std::size_t j = 0; j < r.d; ++j) {
      m += r.at(i, j) * x[j];
      abs_sum += std::fabs(r.at(i, j) * x[j]);
      av += r.at(i, j) * v[j];
      norm2 += r.at(i, j) * r.at(i, j);
    }
    b.eps[i] = 8.0 * std::sqrt(double(r.d)) * std::ldexp(1.0, -24) * abs_sum + 1e-300;
    if (std::fabs(m) <= b.eps[i]) b.accuracy += 1.0 / r.n;
    if (hinge && std::fabs(1.0 - r.b[i] * m) <= b.eps[i]) {
      b.trace += 2.0 * norm2 / r.n;
      for (std::size_t j = 0; j < r.d; ++j) b.hvp[j] += 2.0 * std::fabs(av * r.at(i, j)) / r.n;
    }
  }
  return b;
}

}  // namespace

TEST_P(LinearModelCuda, IsEquivalentToTheCpuReference) {
  ZO_SKIP_WITHOUT_GPU();
  const Shape s = GetParam();
  const auto data = make_data(s.n, s.d, s.sparse, 100 + s.n);
  const zo::LinearModel cpu(s.loss, data, data, on(zo::Backend::cpu));
  const zo::LinearModel gpu(s.loss, data, data, on(zo::Backend::cuda));
  ASSERT_EQ(gpu.backend(), zo::Backend::cuda);
  ASSERT_TRUE(gpu.accepts(zo::MemorySpace::device));
  const std::size_t stride = s.d + 5;
  const auto x = points(s.p, s.d, stride, 0.3f, 1);
  const auto v = points(s.p, s.d, stride, 1.0f, 2);
  const auto xb = batch(x.data(), s.p, s.d, stride), vb = batch(v.data(), s.p, s.d, stride);

  // CPU reference values, margins, and what float rounding on the GPU may flip.
  std::vector<double> margins(s.p * s.n);
  cpu.margins(DataSplit::train, xb, margins.data());
  const zo_test::RefData rd = zo_test::reference_data(*data);
  std::vector<FlipBounds> flips;
  for (std::size_t p = 0; p < s.p; ++p)
    flips.push_back(
        flip_bounds(rd, &x[p * stride], &v[p * stride], s.loss == LinearLoss::squared_hinge));
  const auto ref = cpu.measure(DataSplit::train, xb);
  std::vector<float> g_ref(s.p * stride), h_ref(s.p * stride);
  cpu.gradient(xb, g_ref.data(), stride);
  cpu.hvp(xb, vb, h_ref.data(), stride);

  // Compares a set of GPU results with the reference; `what` names the path.
  auto compare = [&](const std::vector<zo::LinearMeasurement>& got, const std::vector<float>& g,
                     const std::vector<float>& h, const char* what) {
    for (std::size_t p = 0; p < s.p; ++p) {
      SCOPED_TRACE(std::string(what) + ", point " + std::to_string(p));
      const FlipBounds& f = flips[p];
      EXPECT_TRUE(zo_test::IsClose(got[p].loss, ref[p].loss, 1e-5, 1e-9));
      EXPECT_LE(std::fabs(got[p].accuracy - ref[p].accuracy), f.accuracy + 1e-12);
      EXPECT_LE(std::fabs(got[p].trace - ref[p].trace),
                f.trace + 1e-5 * std::fabs(ref[p].trace) + 1e-9);
      double g_max = 0.0, h_max = 0.0;
      for (std::size_t j = 0; j < s.d; ++j) {
        g_max = std::max(g_max, double(std::fabs(g_ref[p * stride + j])));
        h_max = std::max(h_max, double(std::fabs(h_ref[p * stride + j])));
      }
      EXPECT_TRUE(zo_test::AllClose(&g[p * stride], &g_ref[p * stride], s.d, 1e-4, 1e-4 * g_max));
      for (std::size_t j = 0; j < s.d; ++j) {
        const double diff = std::fabs(double(h[p * stride + j]) - h_ref[p * stride + j]);
        EXPECT_LE(diff, 1e-4 * (h_max + std::fabs(h_ref[p * stride + j])) + f.hvp[j])
            << "coordinate " << j;
      }
    }
  };

  // 1. Host batches (staged through device memory).
  {
    const auto got = gpu.measure(DataSplit::train, xb);
    std::vector<float> g(s.p * stride), h(s.p * stride);
    gpu.gradient(xb, g.data(), stride);
    gpu.hvp(xb, vb, h.data(), stride);
    compare(got, g, h, "host batch");
    // Deterministic: a second evaluation gives the same bits.
    const auto again = gpu.measure(DataSplit::train, xb);
    for (std::size_t p = 0; p < s.p; ++p) {
      EXPECT_EQ(again[p].loss, got[p].loss);
      EXPECT_EQ(again[p].trace, got[p].trace);
    }
    std::vector<double> gm(s.p * s.n);
    gpu.margins(DataSplit::train, xb, gm.data());
    for (std::size_t p = 0; p < s.p; ++p)
      for (std::size_t i = 0; i < s.n; ++i)
        EXPECT_LE(std::fabs(gm[p * s.n + i] - margins[p * s.n + i]), flips[p].eps[i])
            << p << "," << i;
  }

  // 2. Device batches with a stride, on a stream of our own; outputs in device memory.
  {
    zo::Stream stream;
    zo::DeviceArray<float> dx(x, stream), dv(v, stream), dg(s.p * stride, stream),
        dh(s.p * stride, stream);
    zo::DeviceArray<double> loss(s.p, stream), trace(s.p, stream);
    const auto dxb = batch(dx.data(), s.p, s.d, stride, zo::MemorySpace::device, stream);
    const auto dvb = batch(dv.data(), s.p, s.d, stride, zo::MemorySpace::device, stream);
    gpu.evaluate(dxb, loss.data());
    gpu.exact_trace(dxb, trace.data());
    gpu.gradient(dxb, dg.data(), stride);
    gpu.hvp(dxb, dvb, dh.data(), stride);
    stream.synchronize();
    const auto l = loss.to_host(), t = trace.to_host();
    std::vector<zo::LinearMeasurement> got(s.p);
    const auto host_measure = gpu.measure(DataSplit::train, xb);
    // (Not bit-compared with the host batch: cuBLAS may pick another kernel for the strided
    // operand, so only the reference tolerance applies.)
    for (std::size_t p = 0; p < s.p; ++p) got[p] = {l[p], t[p], host_measure[p].accuracy};
    compare(got, dg.to_host(), dh.to_host(), "device batch");

    // evaluate_along: one product with [x, u] for three λ values, against the CPU.
    const std::vector<float> lambdas{0.1f, 0.01f, 1.0f};
    zo::DeviceArray<double> plus(s.p * 3, stream), minus(s.p * 3, stream);
    gpu.evaluate_along(dxb, dvb, lambdas.data(), 3, plus.data(), minus.data());
    stream.synchronize();
    std::vector<double> cp(s.p * 3), cm(s.p * 3);
    cpu.evaluate_along(xb, vb, lambdas.data(), 3, cp.data(), cm.data());
    EXPECT_TRUE(zo_test::AllClose(plus.to_host().data(), cp.data(), cp.size(), 1e-5, 1e-9));
    EXPECT_TRUE(zo_test::AllClose(minus.to_host().data(), cm.data(), cm.size(), 1e-5, 1e-9));
    std::vector<double> hp(s.p * 3), hm(s.p * 3);
    gpu.evaluate_along(xb, vb, lambdas.data(), 3, hp.data(), hm.data());  // host batch path
    EXPECT_TRUE(zo_test::AllClose(hp.data(), cp.data(), cp.size(), 1e-5, 1e-9));
  }

  // 3. The test split and metrics() (host only) match too.
  std::vector<double> mc(s.p * 4), mg(s.p * 4);
  cpu.metrics(xb, mc.data());
  gpu.metrics(xb, mg.data());
  for (std::size_t p = 0; p < s.p; ++p)
    EXPECT_TRUE(zo_test::IsClose(mg[p * 4 + 1], mc[p * 4 + 1], 1e-5, 1e-9));  // test loss
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearModelCuda,
                         ::testing::Values(Shape{1, 1, 1, false, LinearLoss::squared_hinge},
                                           Shape{1, 3, 1, true, LinearLoss::logistic},
                                           Shape{37, 13, 3, false, LinearLoss::logistic},
                                           Shape{37, 13, 3, true, LinearLoss::squared_hinge},
                                           Shape{2049, 1025, 5, false, LinearLoss::squared_hinge},
                                           Shape{2049, 1025, 5, true, LinearLoss::logistic},
                                           Shape{5000, 300, 257, false, LinearLoss::logistic},
                                           Shape{4097, 777, 33, true, LinearLoss::squared_hinge}),
                         [](const auto& info) {
                           const Shape& s = info.param;
                           return std::string(s.loss == LinearLoss::squared_hinge ? "svm"
                                                                                  : "logistic") +
                                  "_n" + std::to_string(s.n) + "_d" + std::to_string(s.d) + "_p" +
                                  std::to_string(s.p) + (s.sparse ? "_csr" : "_dense");
                         });

// The CUDA RunBatch and the margins engine drive the GPU model like the CPU ones drive the CPU
// model: 100 steps of GD and ZO, trajectories within float rounding of each other (tolerance: 1e-4
// of the distance travelled; a wrong index or coefficient moves x by a whole step η·g·u ≫ that).
TEST(LinearModelCudaRuns, RunBatchAndTheMarginsEngineFollowTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  const auto data = make_data(700, 301, false, 5);
  for (LinearLoss loss : {LinearLoss::squared_hinge, LinearLoss::logistic}) {
    const zo::LinearModel cpu(loss, data, nullptr, on(zo::Backend::cpu));
    const zo::LinearModel gpu(loss, data, nullptr, on(zo::Backend::cuda));
    std::vector<zo::RunSpec> runs(2);
    runs[0].method = zo::Method::gd;
    runs[0].eta = 1e-3f;
    runs[1].eta = 1e-3f;
    runs[1].lambda = 0.05f;
    runs[1].seed = 3;
    const auto x0 = points(2, 301, 301, 0.1f, 9);
    auto distance = [&](const std::vector<float>& a, const std::vector<float>& b) {
      double m = 0.0;
      for (std::size_t k = 0; k < a.size(); ++k) m = std::max(m, double(std::fabs(a[k] - b[k])));
      return m;
    };
    std::vector<float> xc(x0.size()), xg(x0.size());
    zo::BatchOptions oc, og;
    oc.backend = zo::Backend::cpu;
    og.backend = zo::Backend::cuda;
    zo::RunBatch bc(cpu, runs, x0.data(), oc);
    bc.run(100);
    bc.copy_points(xc.data());
    try {
      zo::RunBatch bg(gpu, runs, x0.data(), og);
      bg.run(100);
      bg.copy_points(xg.data());
      const double moved = distance(xc, x0);
      ASSERT_GT(moved, 1e-4);
      EXPECT_LE(distance(xg, xc), 1e-4 * moved + 1e-6) << zo::to_string(loss);
    } catch (const zo::NotCompiled& e) {
      ADD_FAILURE() << "the CUDA RunBatch is not available: " << e.what();
    }
    // The margins engine: CPU bookkeeping, GPU products.
    const std::vector<zo::RunSpec> zo_only{runs[1]};
    zo::RunBatch lc(cpu, zo_only, x0.data() + 301, zo_test::margins_engine());
    zo::RunBatch lg(gpu, zo_only, x0.data() + 301, zo_test::margins_engine());
    lc.run(100);
    lg.run(100);
    std::vector<float> zc(301), zg(301);
    lc.copy_points(zc.data());
    lg.copy_points(zg.data());
    const std::vector<float> z0(x0.begin() + 301, x0.end());
    EXPECT_LE(distance(zg, zc), 1e-4 * distance(zc, z0) + 1e-6) << zo::to_string(loss);
  }
}

// A pointer marked device memory that is host memory is refused before any kernel touches it
// (zo::InvalidArgument naming the argument), and the CUDA context stays usable afterwards.
TEST(LinearModelCudaRuns, HostPointersMarkedDeviceAreRefusedByName) {
  ZO_SKIP_WITHOUT_GPU();
  const auto data = make_data(40, 7, false, 3);
  const zo::LinearModel gpu(LinearLoss::logistic, data, nullptr, on(zo::Backend::cuda));
  const std::vector<float> host_x = points(2, 7, 7, 1.0f, 4);
  zo::DeviceArray<float> dx(host_x);
  zo::DeviceArray<double> dvalues(2);
  std::vector<double> host_values(2);
  auto expect_refused = [](auto&& call, const char* what) {
    try {
      call();
      ADD_FAILURE() << "no exception for " << what;
    } catch (const zo::InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_refused(
      [&] { gpu.evaluate(batch(host_x.data(), 2, 7, 7, zo::MemorySpace::device), dvalues.data()); },
      "the points");
  expect_refused(
      [&] { gpu.evaluate(batch(dx.data(), 2, 7, 7, zo::MemorySpace::device), host_values.data()); },
      "the loss output");
  // The context still works: the same call with device memory succeeds.
  gpu.evaluate(batch(dx.data(), 2, 7, 7, zo::MemorySpace::device), dvalues.data());
  std::vector<double> cpu_values(2);
  gpu.evaluate(batch(host_x.data(), 2, 7, 7), cpu_values.data());
  const auto got = dvalues.to_host();
  EXPECT_TRUE(zo_test::AllClose(got.data(), cpu_values.data(), 2, 1e-6, 1e-9));
}

TEST(LinearModelCudaRuns, ExplicitCudaWithoutADeviceIsAClearError) {
  if (zo::cuda_available()) GTEST_SKIP() << "a device is present";
  const auto data = make_data(5, 3, false, 1);
  EXPECT_THROW(zo::LinearModel(LinearLoss::logistic, data, nullptr, on(zo::Backend::cuda)),
               zo::Error);
}

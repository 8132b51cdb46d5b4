// The trace estimators on the GPU against the CPU reference (label gpu; skips without a device).
//
// 1. Kernels: a host objective behind device memory (DeviceStaged copies every batch to the host
//    and evaluates it there), so the GPU and CPU runs see exactly the same objective. The points
//    and vectors the GPU builds must equal the CPU's bit for bit, the value-based estimates must
//    be identical, and the reduction-based ones (dot products) equal to double rounding.
// 2. End to end: Example 2.1's own device implementation, and a RunBatch on the CUDA backend.
// 3. Scale: m = 1000 probes at D = 10,000, within 5 standard errors of the exact trace.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cuda_test_support.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/example21.hpp"
#include "zo/feature_pipeline.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"
#include "zo/trace.hpp"

namespace {

using zo::TraceEstimate;
using zo::TraceEstimator;
using zo::TraceOptions;

// A host objective that also accepts device memory by staging through the host; records the
// points (and HVP vectors) of every batch it is given, as host copies.
class DeviceStaged final : public zo::Objective {
 public:
  explicit DeviceStaged(const zo::Objective& inner) : inner_(inner) {}
  std::size_t dim() const override { return inner_.dim(); }
  std::string name() const override { return "staged-" + inner_.name(); }
  bool accepts(zo::MemorySpace) const override { return true; }
  void evaluate(const zo::PointBatch& pts, double* values) const override {
    std::vector<double> host(pts.count);
    inner_.evaluate(stage(pts), host.data());
    put(values, host, pts.space);
  }
  bool has_gradient() const override { return inner_.has_gradient(); }
  void gradient(const zo::PointBatch& pts, float* g, std::size_t stride) const override {
    std::vector<float> host(pts.count * stride);
    inner_.gradient(stage(pts), host.data(), stride);
    put(g, host, pts.space);
  }
  bool has_hvp() const override { return inner_.has_hvp(); }
  void hvp(const zo::PointBatch& pts, const zo::PointBatch& vs, float* out,
           std::size_t stride) const override {
    std::vector<float> host(pts.count * stride);
    const zo::PointBatch p = stage(pts);
    inner_.hvp(p, stage(vs), host.data(), stride);
    put(out, host, pts.space);
  }
  bool has_exact_trace() const override { return inner_.has_exact_trace(); }
  void exact_trace(const zo::PointBatch& pts, double* t) const override {
    std::vector<double> host(pts.count);
    inner_.exact_trace(stage(pts), host.data());
    put(t, host, pts.space);
  }
  /// Host copies of every batch seen, in call order.
  mutable std::vector<std::vector<float>> seen;

 private:
  zo::PointBatch stage(const zo::PointBatch& pts) const {
    std::vector<float> copy(pts.count * pts.stride);
    if (pts.space == zo::MemorySpace::device) {
      zo::copy_bytes(copy.data(), pts.data, copy.size() * sizeof(float));
    } else {
      std::memcpy(copy.data(), pts.data, copy.size() * sizeof(float));
    }
    seen.push_back(std::move(copy));
    zo::PointBatch host = pts;
    host.data = seen.back().data();
    host.space = zo::MemorySpace::host;
    return host;
  }
  template <typename T>
  static void put(T* dst, const std::vector<T>& host, zo::MemorySpace space) {
    if (space == zo::MemorySpace::device) {
      zo::copy_bytes(dst, host.data(), host.size() * sizeof(T));
    } else {
      std::memcpy(dst, host.data(), host.size() * sizeof(T));
    }
  }
  const zo::Objective& inner_;
};

// NaN-tolerant closeness: both NaN (e.g. the standard error of one probe) counts as equal.
::testing::AssertionResult SameOrClose(double gpu, double cpu, double rtol, double atol) {
  if (std::isnan(gpu) && std::isnan(cpu)) return ::testing::AssertionSuccess();
  return zo_test::IsClose(gpu, cpu, rtol, atol);
}

std::vector<float> points_for(std::size_t d, std::size_t count) {
  std::vector<float> x(count * 2 * d);
  zo::gaussian_fill(42, 0, x.data(), x.size());
  return x;
}

struct Case {
  TraceEstimator estimator;
  zo::HessianSource hessian;
  const char* label;
};

const Case kCases[] = {
    {TraceEstimator::exact, zo::HessianSource::automatic, "exact"},
    {TraceEstimator::zo, zo::HessianSource::automatic, "zo"},
    {TraceEstimator::sharpness, zo::HessianSource::automatic, "sharpness"},
    {TraceEstimator::hutchinson, zo::HessianSource::hvp, "hutchinson-hvp"},
    {TraceEstimator::hutchinson, zo::HessianSource::gradient, "hutchinson-gradient"},
    {TraceEstimator::hutchpp, zo::HessianSource::hvp, "hutch++-hvp"},
    {TraceEstimator::hutchpp, zo::HessianSource::gradient, "hutch++-gradient"},
};

TEST(TraceCuda, KernelsMatchTheCpuBitForBit) {
  ZO_SKIP_WITHOUT_GPU();
  // Awkward sizes: D = 2 (one point coordinate pair), 6, 258 (> one 256-thread block, not a
  // multiple of 4), 2002; one and three base points; m = 1, 7 and 300 (> a block of rows).
  // Under compute-sanitizer (ZO_SANITIZER=1) the largest D and m are left out.
  const std::vector<std::size_t> dims =
      zo_test::sanitizer_scaled<std::vector<std::size_t>>({1u, 3u, 129u, 1001u}, {1u, 3u, 129u});
  const std::vector<std::uint32_t> probe_counts =
      zo_test::sanitizer_scaled<std::vector<std::uint32_t>>({1u, 7u, 300u}, {1u, 7u});
  for (std::size_t d : dims) {
    const zo::Example21 inner(d);
    for (std::size_t count : {1u, 3u}) {
      const std::vector<float> x = points_for(d, count);
      for (std::uint32_t m : probe_counts) {
        for (const Case& c : kCases) {
          if (c.estimator == TraceEstimator::hutchpp && m < 3) continue;
          if (m == 300 && d == 1001 && c.estimator == TraceEstimator::hutchpp) continue;  // time
          const std::string where = std::string(c.label) + " d=" + std::to_string(d) +
                                    " count=" + std::to_string(count) + " m=" + std::to_string(m);
          TraceOptions cpu, gpu;
          cpu.backend = zo::Backend::cpu;
          gpu.backend = zo::Backend::cuda;
          cpu.hessian = gpu.hessian = c.hessian;
          const DeviceStaged on_cpu(inner), on_gpu(inner);
          const auto rc = zo::estimate_traces(c.estimator, on_cpu, x.data(), count, m, 5, cpu);
          const auto rg = zo::estimate_traces(c.estimator, on_gpu, x.data(), count, m, 5, gpu);
          // The points and vectors handed to the objective: identical.
          ASSERT_EQ(on_gpu.seen.size(), on_cpu.seen.size()) << where;
          for (std::size_t b = 0; b < on_cpu.seen.size(); ++b) {
            ASSERT_EQ(on_gpu.seen[b].size(), on_cpu.seen[b].size()) << where << " batch " << b;
            ASSERT_EQ(0, std::memcmp(on_gpu.seen[b].data(), on_cpu.seen[b].data(),
                                     on_cpu.seen[b].size() * sizeof(float)))
                << where << " batch " << b;
          }
          ASSERT_EQ(rg.size(), count);
          for (std::size_t k = 0; k < count; ++k) {
            EXPECT_EQ(rg[k].backend, zo::Backend::cuda) << where;
            EXPECT_EQ(rg[k].value_evaluations, rc[k].value_evaluations) << where;
            EXPECT_EQ(rg[k].hvp_evaluations, rc[k].hvp_evaluations) << where;
            EXPECT_EQ(rg[k].gradient_evaluations, rc[k].gradient_evaluations) << where;
            if (c.estimator == TraceEstimator::zo || c.estimator == TraceEstimator::sharpness ||
                c.estimator == TraceEstimator::exact) {
              // Same values in, same host arithmetic: identical.
              EXPECT_EQ(rg[k].estimate, rc[k].estimate) << where;
              EXPECT_TRUE(SameOrClose(rg[k].std_error, rc[k].std_error, 0.0, 0.0)) << where;
              // The rounding diagnostic uses a device reduction: double rounding only.
              EXPECT_TRUE(SameOrClose(rg[k].rounding_error, rc[k].rounding_error, 1e-9, 1e-300))
                  << where;
            } else {
              // Dot products reduced in another order: agree to double rounding (relative to
              // the size of the terms, which here is at most ~1e3 times the result).
              EXPECT_TRUE(SameOrClose(rg[k].estimate, rc[k].estimate, 1e-10, 1e-10)) << where;
              EXPECT_TRUE(SameOrClose(rg[k].std_error, rc[k].std_error, 1e-8, 1e-10)) << where;
            }
          }
        }
      }
    }
  }
}

TEST(TraceCuda, HostOnlyObjectivesRunOnTheHost) {
  ZO_SKIP_WITHOUT_GPU();
  class HostOnly final : public zo::Objective {
   public:
    std::size_t dim() const override { return 4; }
    void evaluate(const zo::PointBatch& p, double* v) const override {
      for (std::size_t i = 0; i < p.count; ++i) {
        double s = 0.0;
        for (int j = 0; j < 4; ++j) s += 0.5 * p.point(i)[j] * p.point(i)[j];
        v[i] = s;
      }
    }
  } f;
  std::vector<float> x(4, 0.0f);
  TraceOptions o;
  o.backend = zo::Backend::cuda;
  const TraceEstimate r = zo::trace_zo(f, x.data(), 50, 1, o);
  EXPECT_EQ(r.backend, zo::Backend::cpu);
  EXPECT_LE(std::fabs(r.estimate - 4.0), 5.0 * r.std_error);
}

TEST(TraceCuda, Example21DevicePathAgreesWithCpu) {
  ZO_SKIP_WITHOUT_GPU();
  const zo::Example21 f(517);
  ASSERT_TRUE(f.accepts(zo::MemorySpace::device));
  const std::vector<float> x = points_for(517, 2);
  for (const Case& c : kCases) {
    const std::uint32_t m = 99;
    TraceOptions cpu, gpu;
    cpu.backend = zo::Backend::cpu;
    gpu.backend = zo::Backend::cuda;
    cpu.hessian = gpu.hessian = c.hessian;
    const auto rc = zo::estimate_traces(c.estimator, f, x.data(), 2, m, 3, cpu);
    const auto rg = zo::estimate_traces(c.estimator, f, x.data(), 2, m, 3, gpu);
    for (std::size_t k = 0; k < 2; ++k) {
      EXPECT_EQ(rg[k].backend, zo::Backend::cuda) << c.label;
      // Example 2.1's device kernels reduce yᵀz in another order than the host loop: values
      // differ by ~1e-16 relative, which the second difference amplifies by |f|/(ε² tr H) ≲ 1e3;
      // float32 HVPs and gradients may differ by an ulp (1e-7 relative per probe term), which
      // moves the standard error by ≲ 1e-7 · mean/SE ≈ 3e-6 here.
      EXPECT_TRUE(zo_test::IsClose(rg[k].estimate, rc[k].estimate, 1e-6, 1e-9))
          << c.label << ": gpu " << zo::to_string(rg[k]) << " cpu " << zo::to_string(rc[k]);
      EXPECT_TRUE(zo_test::IsClose(rg[k].std_error, rc[k].std_error, 1e-4, 1e-9)) << c.label;
    }
  }
}

// TraceOptions::stream orders all of an estimate's device work: on a caller's non-blocking
// stream the results are the same bits as on the legacy default stream (the reductions do not
// depend on the stream), and the call has waited for its work before it returns.
TEST(TraceCuda, EstimatesRunOnTheCallersStream) {
  ZO_SKIP_WITHOUT_GPU();
  const zo::Example21 f(300);
  const std::vector<float> x = points_for(300, 3);
  zo::Stream stream;
  for (const Case& c : kCases) {
    TraceOptions legacy, mine;
    legacy.backend = mine.backend = zo::Backend::cuda;
    legacy.hessian = mine.hessian = c.hessian;
    mine.stream = stream;
    const auto a = zo::estimate_traces(c.estimator, f, x.data(), 3, 17, 5, legacy);
    const auto b = zo::estimate_traces(c.estimator, f, x.data(), 3, 17, 5, mine);
    for (std::size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(b[k].backend, zo::Backend::cuda) << c.label;
      EXPECT_EQ(std::memcmp(&a[k].estimate, &b[k].estimate, sizeof(double)), 0) << c.label;
      EXPECT_EQ(std::memcmp(&a[k].std_error, &b[k].std_error, sizeof(double)), 0) << c.label;
    }
  }
}

TEST(TraceCuda, ThousandProbesAtTenThousandDimensions) {
  ZO_SKIP_WITHOUT_GPU();
  if (zo_test::under_sanitizer()) GTEST_SKIP() << "size test; skipped under compute-sanitizer";
  const zo::Example21 f(5000);  // D = 10,000
  std::vector<float> x(10000);
  zo::gaussian_fill(9, 0, x.data(), x.size());
  for (float& v : x) v *= 0.05f;  // a point of moderate curvature: tr H = ‖x‖² ≈ 25
  const double exact = zo::trace_exact(f, x.data()).estimate;
  TraceOptions gpu;
  gpu.backend = zo::Backend::cuda;
  for (TraceEstimator e : {TraceEstimator::zo, TraceEstimator::hutchinson,
                           TraceEstimator::sharpness, TraceEstimator::hutchpp}) {
    zo::estimate_trace(e, f, x.data(), 20, 1, gpu);  // warm-up (allocations, module load)
    const auto t0 = std::chrono::steady_clock::now();
    const TraceEstimate r =
        zo::estimate_trace(e, f, x.data(), e == TraceEstimator::hutchpp ? 300 : 1000, 2, gpu);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ info ] %s on the GPU, D = 10000: %s, exact %.6g, %.1f ms\n", zo::to_string(e),
                zo::to_string(r).c_str(), exact, ms);
    EXPECT_EQ(r.backend, zo::Backend::cuda);
    EXPECT_LE(std::fabs(r.estimate - exact), 5.0 * r.std_error + 1e-5 * exact)
        << zo::to_string(r) << " exact " << exact;
  }
}

// The logistic model with the paper's pipeline on synthetic data (123 raw features like a5a,
// projected to `dim`, bias column), at the paper's initial point 0.1·N(0, I).
struct LogisticPair {
  std::unique_ptr<zo::LinearModel> gpu, cpu;
  std::vector<float> x;
};

LogisticPair logistic_pair(std::size_t rows, std::size_t dim) {
  zo::SyntheticSpec spec;
  spec.train_rows = rows;
  spec.test_rows = 1;
  spec.features = 123;
  spec.seed = 5;
  zo::PipelineSpec pipeline;
  pipeline.projection_dim = dim;
  auto train = std::make_shared<const zo::BinaryDataset>(
      zo::apply_feature_pipeline(zo::make_synthetic_classification(spec), pipeline).train);
  LogisticPair p;
  zo::LinearModelOptions on_gpu, on_cpu;
  on_gpu.backend = zo::Backend::cuda;
  on_cpu.backend = zo::Backend::cpu;
  p.gpu = std::make_unique<zo::LinearModel>(zo::LinearLoss::logistic, train, nullptr, on_gpu);
  p.cpu = std::make_unique<zo::LinearModel>(zo::LinearLoss::logistic, train, nullptr, on_cpu);
  p.x.resize(p.gpu->dim());
  zo::gaussian_fill(6, 0, p.x.data(), p.x.size());
  for (float& v : p.x) v *= 0.1f;
  return p;
}

// GPU (float SGEMM margins, device points) against the CPU model (double margins, host points)
// with the same probes: the two estimates differ only by rounding, far below their error bars
// (|gpu − cpu| ≤ 0.05 SE), and both lie within 5 SE of the exact trace.
TEST(TraceCuda, LogisticModelDevicePathAgreesWithCpu) {
  ZO_SKIP_WITHOUT_GPU();
  const LogisticPair p = logistic_pair(zo_test::sanitizer_scaled<std::size_t>(1500, 200),
                                       zo_test::sanitizer_scaled<std::size_t>(1000, 100));
  ASSERT_TRUE(p.gpu->accepts(zo::MemorySpace::device));
  TraceOptions gpu, cpu;
  gpu.backend = zo::Backend::cuda;
  cpu.backend = zo::Backend::cpu;
  const double exact = zo::trace_exact(*p.cpu, p.x.data(), cpu).estimate;
  EXPECT_TRUE(zo_test::IsClose(zo::trace_exact(*p.gpu, p.x.data(), gpu).estimate, exact, 1e-5, 0));
  for (const Case& c : kCases) {
    if (c.estimator == TraceEstimator::exact) continue;
    gpu.hessian = cpu.hessian = c.hessian;
    const TraceEstimate rg = zo::estimate_trace(c.estimator, *p.gpu, p.x.data(), 120, 3, gpu);
    const TraceEstimate rc = zo::estimate_trace(c.estimator, *p.cpu, p.x.data(), 120, 3, cpu);
    EXPECT_EQ(rg.backend, zo::Backend::cuda) << c.label;
    EXPECT_LE(std::fabs(rg.estimate - rc.estimate), 0.05 * rc.std_error + 1e-5 * exact)
        << c.label << ": gpu " << zo::to_string(rg) << " cpu " << zo::to_string(rc);
    EXPECT_LE(std::fabs(rg.estimate - exact), 5.0 * rg.std_error + 1e-5 * exact)
        << c.label << ": " << zo::to_string(rg) << " exact " << exact;
  }
}

// The paper's size: N = 6414 samples, D = 10,001 parameters. m = 1000 second differences are one
// product of the data with 2001 points; the time is printed next to one evaluation of 2001 points.
TEST(TraceCuda, ThousandProbesOfThePaperSizedLogisticModel) {
  ZO_SKIP_WITHOUT_GPU();
  if (zo_test::under_sanitizer()) GTEST_SKIP() << "size test; skipped under compute-sanitizer";
  const LogisticPair p = logistic_pair(6414, 10000);
  const zo::LinearModel& f = *p.gpu;
  TraceOptions gpu;
  gpu.backend = zo::Backend::cuda;
  const double exact = zo::trace_exact(f, p.x.data(), gpu).estimate;
  for (TraceEstimator e :
       {TraceEstimator::zo, TraceEstimator::hutchinson, TraceEstimator::hutchpp}) {
    const std::uint32_t m = e == TraceEstimator::hutchpp ? 450 : 1000;
    zo::estimate_trace(e, f, p.x.data(), 12, 1, gpu);  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    const TraceEstimate r = zo::estimate_trace(e, f, p.x.data(), m, 2, gpu);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ info ] logistic N = 6414, D = 10001 on the GPU: %s, exact %.6g, %.1f ms\n",
                zo::to_string(r).c_str(), exact, ms);
    EXPECT_EQ(r.backend, zo::Backend::cuda);
    EXPECT_LE(std::fabs(r.estimate - exact), 5.0 * r.std_error + 1e-5 * exact)
        << zo::to_string(r) << " exact " << exact;
  }
  // One evaluation of 2001 device points, for comparison with the zo time above.
  std::vector<float> points(2001 * f.dim());
  for (std::size_t k = 0; k < 2001; ++k)
    std::copy(p.x.begin(), p.x.end(), points.begin() + k * f.dim());
  zo::DeviceArray<float> device_points(points);
  zo::DeviceArray<double> values(2001);
  zo::PointBatch batch;
  batch.data = device_points.data();
  batch.count = 2001;
  batch.dim = batch.stride = f.dim();
  batch.space = zo::MemorySpace::device;
  f.evaluate(batch, values.data());  // warm-up
  const auto t0 = std::chrono::steady_clock::now();
  f.evaluate(batch, values.data());
  const std::vector<double> host_values = values.to_host();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ info ] one evaluate() of 2001 points: %.1f ms\n", ms);
  EXPECT_TRUE(std::isfinite(host_values[0]));
}

TEST(TraceCuda, LogsTracesOfACudaRunBatch) {
  ZO_SKIP_WITHOUT_GPU();
  const zo::Example21 f(100);
  std::vector<float> x0(3 * 200);
  zo::gaussian_fill(4, 0, x0.data(), x0.size());
  std::vector<zo::RunSpec> runs(3);
  for (std::size_t k = 0; k < 3; ++k) {
    runs[k].lambda = 0.1f;
    runs[k].eta = 1e-3f;
    runs[k].seed = k;
  }
  zo::BatchOptions bo;
  bo.backend = zo::Backend::cuda;
  zo::RunBatch batch(f, runs, x0.data(), bo);
  batch.run(50);
  TraceOptions gpu, cpu;
  gpu.backend = zo::Backend::cuda;
  cpu.backend = zo::Backend::cpu;
  const auto logged = zo::log_run_traces(batch, f, TraceEstimator::zo, 200, 8, gpu);
  std::vector<float> x(3 * 200);
  batch.copy_points(x.data());
  const auto reference = zo::estimate_traces(TraceEstimator::zo, f, x.data(), 3, 200, 8, cpu);
  std::vector<double> loss(3), trace(3);
  batch.measure(loss.data(), trace.data());
  ASSERT_EQ(logged.size(), 3u);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(logged[k].step, 50u);
    EXPECT_TRUE(zo_test::IsClose(logged[k].exact, trace[k], 1e-9, 0.0));
    EXPECT_TRUE(zo_test::IsClose(logged[k].estimate.estimate, reference[k].estimate, 1e-6, 1e-9));
    EXPECT_LE(std::fabs(logged[k].estimate.estimate - trace[k]),
              5.0 * logged[k].estimate.std_error);
  }
}

}  // namespace

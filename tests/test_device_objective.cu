// User objectives compiled with nvcc: the device-functor objectives of zo/device_objective.cuh
// and a CallbackObjective whose callback launches the user's own kernel on device pointers.
// The host-path tests run everywhere (the same functor evaluates host batches); the device-path
// tests skip without a GPU.
//
// Tolerances: the device evaluates the same functor, but the sum form reduces in a different
// (fixed) order and nvcc may contract a·b + c into an fma in user code: values agree to 1e-12
// relative. Trajectories driven by the CUDA RunBatch agree with the CPU ones to 1e-4 of the
// distance travelled (the order of magnitude argued in tests/test_run_batch_cuda.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/callback_objective.hpp"
#include "zo/device.hpp"
#include "zo/device_objective.cuh"
#include "zo/error.hpp"
#include "zo/run_batch.hpp"

namespace {

/// Rosenbrock as a sum of terms: Σ_{i<d−1} 100 (x_{i+1} − x_i²)² + (1 − x_i)².
struct RosenbrockTerms {
  __host__ __device__ double term(const float* x, std::size_t i, std::size_t d) const {
    if (i + 1 >= d) return 0.0;
    const double a = x[i], b = x[i + 1];
    const double t = b - a * a;
    const double u = 1.0 - a;
    return 100.0 * t * t + u * u;
  }
  __host__ __device__ double finish(double sum, std::size_t) const { return sum; }
};

/// A point functor: ½ Σ w_i x_i² with weights w_i = 1 + i/d; NaN when x_0 > poison.
struct WeightedSquares {
  float poison = std::numeric_limits<float>::infinity();
  __host__ __device__ double operator()(const float* x, std::size_t d) const {
    if (x[0] > poison) return nan("");
    double s = 0.0;
    for (std::size_t i = 0; i < d; ++i) {
      const double w = 1.0 + static_cast<double>(i) / static_cast<double>(d);
      s += 0.5 * w * static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
    return s;
  }
};

/// The same weighted squares, evaluated by a kernel the user launches from a callback.
__global__ void user_weighted_squares(const float* data, std::size_t count, std::size_t d,
                                      std::size_t stride, double* values) {
  for (std::size_t p = blockIdx.x * blockDim.x + threadIdx.x; p < count;
       p += gridDim.x * blockDim.x)
    values[p] = WeightedSquares{}(data + p * stride, d);
}

zo::BatchOptions options(zo::Backend b, zo::NonFinitePolicy policy = zo::NonFinitePolicy::error) {
  zo::BatchOptions o;
  o.backend = b;
  o.on_non_finite = policy;
  return o;
}

std::vector<zo::RunSpec> runs(std::size_t k) {
  std::vector<zo::RunSpec> r(k);
  for (std::size_t i = 0; i < k; ++i) {
    r[i].lambda = 0.01f;
    r[i].eta = 2e-6f;  // stable for Rosenbrock near its valley in d = 64 (η·d·L < 1)
    r[i].seed = 40 + i;
  }
  return r;
}

/// x0 = 1 + 0.1·N(0, 1): near Rosenbrock's minimiser (all ones), where the runs stay finite.
std::vector<float> start(std::size_t k, std::size_t d) {
  std::vector<float> x(k * d);
  zo::gaussian_fill(5, 0, x.data(), x.size());
  for (float& v : x) v = 1.0f + 0.1f * v;
  return x;
}

std::vector<float> run_to_end(const zo::Objective& f, const std::vector<zo::RunSpec>& r,
                              const std::vector<float>& x0, zo::BatchOptions o, int steps) {
  zo::RunBatch b(f, r, x0.data(), o);
  b.run(steps);
  std::vector<float> x(x0.size());
  b.copy_points(x.data());
  return x;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

// Host batches: the functor objectives equal a plain host callback computing the same formula,
// bit for bit, through RunBatch on the CPU (one body, two launchers: this is the CPU launcher).
TEST(DeviceObjectiveHost, FunctorsEvaluateHostBatchesLikePlainCode) {
  const std::size_t d = 37;
  const auto sum = zo::make_sum_objective(d, RosenbrockTerms{}, "rosenbrock");
  const zo::CallbackObjective plain(d, [&](const zo::PointBatch& pts, double* v) {
    for (std::size_t p = 0; p < pts.count; ++p) {
      double s = 0.0;
      for (std::size_t i = 0; i < d; ++i) s += RosenbrockTerms{}.term(pts.point(p), i, d);
      v[p] = s;
    }
  });
  const auto r = runs(3);
  const auto x0 = start(3, d);
  const auto a = run_to_end(sum, r, x0, options(zo::Backend::cpu), 50);
  const auto b = run_to_end(plain, r, x0, options(zo::Backend::cpu), 50);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_GT(max_abs_diff(a, x0), 1e-3);  // it moved
  EXPECT_TRUE(sum.accepts(zo::MemorySpace::host));
  EXPECT_TRUE(sum.accepts(zo::MemorySpace::device));
  EXPECT_EQ(sum.name(), "rosenbrock");
  EXPECT_THROW(zo::make_point_objective(0, WeightedSquares{}), zo::InvalidArgument);
}

TEST(DeviceObjectiveHost, NanFromAFunctorFollowsThePolicyWithTheStep) {
  const std::size_t d = 8;
  WeightedSquares f;
  f.poison = 50.0f;
  const auto obj = zo::make_point_objective(d, f);
  auto x0 = start(3, d);
  x0[d] = 100.0f;  // run 1 starts in the poisoned region
  zo::RunBatch batch(obj, runs(3), x0.data(), options(zo::Backend::cpu));
  try {
    batch.run(5);
    FAIL() << "no ObjectiveError";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 0u);
    EXPECT_EQ(e.run(), 1);
  }
}

// Device batches evaluated by the functor kernels match the host evaluation.
TEST(DeviceObjectiveGpu, FunctorKernelsMatchTheHostPath) {
  ZO_SKIP_WITHOUT_GPU();
  for (std::size_t d : {1u, 37u, 300u, 1025u}) {
    const std::size_t count = 300, stride = d + 3;  // more points than a block, strided
    std::vector<float> x(count * stride, 0.0f);
    zo::gaussian_fill(9, 1, x.data(), x.size());
    const auto sum = zo::make_sum_objective(d, RosenbrockTerms{});
    const auto point = zo::make_point_objective(d, WeightedSquares{});
    zo::PointBatch host{x.data(), count, d, stride};
    std::vector<double> hs(count), hp(count);
    sum.evaluate(host, hs.data());
    point.evaluate(host, hp.data());
    zo::Stream stream;
    zo::DeviceArray<float> dx(x, stream);
    zo::DeviceArray<double> ds(count, stream), dp(count, stream);
    zo::PointBatch dev{dx.data(), count, d, stride, zo::MemorySpace::device, stream.view()};
    sum.evaluate(dev, ds.data());
    point.evaluate(dev, dp.data());
    stream.synchronize();
    EXPECT_TRUE(zo_test::AllClose(ds.to_host().data(), hs.data(), count, 1e-12, 1e-12)) << d;
    EXPECT_TRUE(zo_test::AllClose(dp.to_host().data(), hp.data(), count, 1e-12, 1e-12)) << d;
  }
}

// A host pointer marked device memory is refused before the functor kernel runs (it would fault
// and leave the context unusable): zo::InvalidArgument naming the objective and the argument.
TEST(DeviceObjectiveGpu, HostPointersMarkedDeviceAreRefusedByName) {
  ZO_SKIP_WITHOUT_GPU();
  const std::size_t d = 5, count = 3;
  std::vector<float> x(count * d, 1.0f);
  std::vector<double> host_values(count);
  zo::DeviceArray<float> dx(x);
  zo::DeviceArray<double> dvalues(count);
  const auto sum = zo::make_sum_objective(d, RosenbrockTerms{}, "rosen");
  const zo::PointBatch host_as_device{x.data(), count, d, d, zo::MemorySpace::device, {}};
  const zo::PointBatch device{dx.data(), count, d, d, zo::MemorySpace::device, {}};
  try {
    sum.evaluate(host_as_device, dvalues.data());
    ADD_FAILURE() << "host points accepted as device memory";
  } catch (const zo::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("'rosen': the points"), std::string::npos) << e.what();
  }
  try {
    sum.evaluate(device, host_values.data());
    ADD_FAILURE() << "host values accepted as device memory";
  } catch (const zo::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("the values output"), std::string::npos) << e.what();
  }
  sum.evaluate(device, dvalues.data());  // the context is still usable
  zo::PointBatch host{x.data(), count, d, d};
  sum.evaluate(host, host_values.data());
  EXPECT_TRUE(zo_test::AllClose(dvalues.to_host().data(), host_values.data(), count, 1e-12, 1e-12));
}

// The CUDA RunBatch hands device points to a device-capable objective: functors and a callback
// that launches the user's kernel follow the CPU trajectories, and NaN / throws reach the caller
// with the step.
TEST(DeviceObjectiveGpu, CudaRunBatchDrivesDeviceObjectives) {
  ZO_SKIP_WITHOUT_GPU();
  const std::size_t d = 64;
  const auto r = runs(4);
  const auto x0 = start(4, d);
  const auto sum = zo::make_sum_objective(d, RosenbrockTerms{});
  int device_calls = 0;
  zo::CallbackOptions o;
  o.host = true;
  o.device = true;
  const zo::CallbackObjective user(
      d,
      [&](const zo::PointBatch& pts, double* values) {
        if (pts.space == zo::MemorySpace::host) {
          for (std::size_t p = 0; p < pts.count; ++p)
            values[p] = WeightedSquares{}(pts.point(p), d);
          return;
        }
        ++device_calls;
        cudaPointerAttributes attr{};
        ASSERT_EQ(cudaPointerGetAttributes(&attr, pts.data), cudaSuccess);
        EXPECT_EQ(attr.type, cudaMemoryTypeDevice);
        user_weighted_squares<<<4, 128, 0, static_cast<cudaStream_t>(pts.stream.handle())>>>(
            pts.data, pts.count, pts.dim, pts.stride, values);
        if (cudaGetLastError() != cudaSuccess) throw std::runtime_error("user kernel failed");
      },
      o);
  for (const zo::Objective* f :
       {static_cast<const zo::Objective*>(&sum), static_cast<const zo::Objective*>(&user)}) {
    const auto cpu = run_to_end(*f, r, x0, options(zo::Backend::cpu), 100);
    const auto gpu = run_to_end(*f, r, x0, options(zo::Backend::cuda), 100);
    const double moved = max_abs_diff(cpu, x0);
    ASSERT_GT(moved, 1e-5) << f->name();
    EXPECT_LE(max_abs_diff(gpu, cpu), 1e-4 * moved + 1e-7) << f->name();
  }
  EXPECT_GT(device_calls, 0);

  // NaN on the device: the error policy names step and run; mark_diverged freezes the run.
  WeightedSquares poisoned;
  poisoned.poison = 50.0f;
  const auto bad = zo::make_point_objective(d, poisoned);
  auto x_bad = x0;
  x_bad[2 * d] = 100.0f;  // run 2
  {
    zo::RunBatch batch(bad, r, x_bad.data(), options(zo::Backend::cuda));
    try {
      batch.run(10);
      FAIL() << "no ObjectiveError";
    } catch (const zo::ObjectiveError& e) {
      EXPECT_EQ(e.step(), 0u);
      EXPECT_EQ(e.run(), 2);
    }
    EXPECT_EQ(batch.next_step(), 0u);
  }
  {
    zo::RunBatch batch(bad, r, x_bad.data(),
                       options(zo::Backend::cuda, zo::NonFinitePolicy::mark_diverged));
    batch.run(10);
    EXPECT_TRUE(batch.statuses()[2].diverged);
    EXPECT_EQ(batch.statuses()[2].diverged_at, 0u);
    EXPECT_FALSE(batch.statuses()[1].diverged);
  }
  // A callback that throws on its 4th device call (step 3).
  int calls = 0;
  zo::CallbackOptions device_only;
  device_only.host = false;
  device_only.device = true;
  const zo::CallbackObjective thrower(
      d,
      [&](const zo::PointBatch& pts, double* values) {
        if (calls++ == 3) throw std::runtime_error("user GPU loss failed");
        user_weighted_squares<<<4, 128, 0, static_cast<cudaStream_t>(pts.stream.handle())>>>(
            pts.data, pts.count, pts.dim, pts.stride, values);
      },
      device_only);
  zo::RunBatch batch(thrower, r, x0.data(), options(zo::Backend::cuda));
  try {
    batch.run(10);
    FAIL() << "no ObjectiveError";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 3u);
    EXPECT_NE(std::string(e.what()).find("user GPU loss failed"), std::string::npos) << e.what();
  }
  EXPECT_EQ(batch.next_step(), 3u);
}

// User-defined objectives through CallbackObjective, driven by RunBatch on the CPU: one batched
// call per step, bit-identical results to a built-in objective computing the same formula, and
// errors (throws, NaN/Inf) reaching the caller with the step under every NonFinitePolicy.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "objectives/example21_math.hpp"
#include "zo/callback_objective.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

zo::BatchOptions cpu(zo::NonFinitePolicy policy = zo::NonFinitePolicy::error) {
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  o.on_non_finite = policy;
  return o;
}

/// Example 2.1's value written by a user: h = (yᵀz − 1)²/2 with yᵀz summed in double in order.
void example21_values(const zo::PointBatch& pts, double* values, std::size_t d) {
  for (std::size_t p = 0; p < pts.count; ++p) {
    const float* y = pts.point(p);
    double s = 0.0;
    for (std::size_t i = 0; i < d; ++i)
      s += static_cast<double>(y[i]) * static_cast<double>(y[d + i]);
    values[p] = zo::detail::example21_value(s);
  }
}

std::vector<zo::RunSpec> three_runs() {
  std::vector<zo::RunSpec> runs(3);
  for (std::size_t k = 0; k < 3; ++k) {
    runs[k].lambda = 0.05f;
    runs[k].eta = 0.01f;
    runs[k].seed = 10 + k;
  }
  runs[1].q = 2;
  return runs;
}

std::vector<float> start(std::size_t k, std::size_t dim) {
  std::vector<float> x(k * dim);
  zo::gaussian_fill(3, 0, x.data(), x.size());
  return x;
}

}  // namespace

TEST(CallbackObjective, OneBatchedCallPerStepAndSameBitsAsTheBuiltIn) {
  const std::size_t d = 6;
  std::atomic<int> calls{0};
  std::vector<std::size_t> batch_sizes;
  zo::CallbackObjective user(2 * d, [&](const zo::PointBatch& pts, double* values) {
    ++calls;
    batch_sizes.push_back(pts.count);
    EXPECT_EQ(pts.space, zo::MemorySpace::host);
    example21_values(pts, values, d);
  });
  const zo::Example21 builtin(d);
  const auto runs = three_runs();
  const auto x0 = start(3, 2 * d);
  zo::RunBatch a(user, runs, x0.data(), cpu()), b(builtin, runs, x0.data(), cpu());
  a.run(25);
  b.run(25);
  EXPECT_EQ(calls.load(), 25);
  for (std::size_t n : batch_sizes) EXPECT_EQ(n, 2u * (1 + 2 + 1));  // 2·Σ_k q_k points per call
  std::vector<float> xa(x0.size()), xb(x0.size());
  a.copy_points(xa.data());
  b.copy_points(xb.data());
  EXPECT_EQ(std::memcmp(xa.data(), xb.data(), xa.size() * sizeof(float)), 0);
}

TEST(CallbackObjective, GradientCallbackEnablesGradientMethods) {
  const std::size_t d = 4;
  auto values = [&](const zo::PointBatch& pts, double* v) { example21_values(pts, v, d); };
  zo::RunSpec gd;
  gd.method = zo::Method::gd;
  gd.eta = 0.01f;
  const auto x0 = start(1, 2 * d);
  zo::CallbackObjective no_grad(2 * d, values);
  EXPECT_FALSE(no_grad.has_gradient());
  EXPECT_THROW(zo::RunBatch(no_grad, {gd}, x0.data(), cpu()), zo::NotSupported);
  zo::CallbackOptions o;
  o.gradient = [&](const zo::PointBatch& pts, float* g, std::size_t stride) {
    zo::Example21(d).gradient(pts, g, stride);
  };
  zo::CallbackObjective with_grad(2 * d, values, o);
  zo::RunBatch a(with_grad, {gd}, x0.data(), cpu());
  const zo::Example21 builtin(d);
  zo::RunBatch c(builtin, {gd}, x0.data(), cpu());
  a.run(30);
  c.run(30);
  std::vector<float> xa(2 * d), xc(2 * d);
  a.copy_points(xa.data());
  c.copy_points(xc.data());
  EXPECT_EQ(std::memcmp(xa.data(), xc.data(), xa.size() * sizeof(float)), 0);
}

TEST(CallbackObjective, RejectsBadConstruction) {
  auto values = [](const zo::PointBatch&, double*) {};
  EXPECT_THROW(zo::CallbackObjective(0, values), zo::InvalidArgument);
  EXPECT_THROW(zo::CallbackObjective(3, zo::BatchCallback{}), zo::InvalidArgument);
  zo::CallbackOptions none;
  none.host = false;
  EXPECT_THROW(zo::CallbackObjective(3, values, none), zo::InvalidArgument);
  // A device-only callback cannot be fed host points: the CPU backend's first step fails with
  // an error that names the objective and the step.
  zo::CallbackOptions device_only;
  device_only.host = false;
  device_only.device = true;
  device_only.name = "my-gpu-loss";
  zo::CallbackObjective f(3, values, device_only);
  EXPECT_FALSE(f.accepts(zo::MemorySpace::host));
  const auto x0 = start(1, 3);
  zo::RunBatch batch(f, {zo::RunSpec{}}, x0.data(), cpu());
  try {
    batch.run(1);
    FAIL() << "no error";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 0u);
    EXPECT_NE(std::string(e.what()).find("my-gpu-loss"), std::string::npos) << e.what();
  }
}

// Failures inside the user's code: the call with index `bad_call` (0-based) throws or writes
// NaN/Inf for the points of run 1 (the points whose first coordinate exceeds 50).
class CallbackFailures : public ::testing::Test {
 protected:
  static constexpr std::size_t kDim = 5;
  static constexpr int kBadCall = 4;  // = step 4: one call per step

  zo::CallbackObjective make(bool throw_instead, double bad_value) {
    return zo::CallbackObjective(
        kDim, [=, calls = std::make_shared<int>(0)](const zo::PointBatch& pts, double* values) {
          const int call = (*calls)++;
          if (call == kBadCall && throw_instead) throw std::runtime_error("user loss blew up");
          for (std::size_t p = 0; p < pts.count; ++p) {
            const float* x = pts.point(p);
            double f = 0.0;
            for (std::size_t i = 0; i < kDim; ++i) f += 0.5 * double(x[i]) * x[i];
            values[p] = (call == kBadCall && x[0] > 50.0f) ? bad_value : f;
          }
        });
  }
  std::vector<float> x0() const {
    auto x = start(3, kDim);
    x[kDim] = 100.0f;  // run 1
    return x;
  }
  std::vector<float> reference(std::uint64_t steps) const {
    const auto f = const_cast<CallbackFailures*>(this)->make(false, 0.0);
    auto x = x0();
    zo::RunBatch b(f, three_runs(), x.data(), cpu());
    b.run(steps);
    b.copy_points(x.data());
    return x;
  }
};

TEST_F(CallbackFailures, ThrowReachesTheCallerWithTheStep) {
  const auto f = make(true, 0.0);
  const auto x = x0();
  zo::RunBatch batch(f, three_runs(), x.data(), cpu());
  try {
    batch.run(10);
    FAIL() << "no exception";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 4u);
    EXPECT_NE(std::string(e.what()).find("user loss blew up"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step 4"), std::string::npos) << e.what();
  }
  EXPECT_EQ(batch.next_step(), 4u);  // left at the last completed step
  std::vector<float> now(x.size());
  batch.copy_points(now.data());
  const auto ref = reference(4);
  EXPECT_EQ(std::memcmp(now.data(), ref.data(), now.size() * sizeof(float)), 0);
}

TEST_F(CallbackFailures, NanOrInfUnderEachPolicy) {
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    {
      const auto f = make(false, bad);
      const auto x = x0();
      zo::RunBatch batch(f, three_runs(), x.data(), cpu());
      try {
        batch.run(10);
        FAIL() << "no exception";
      } catch (const zo::ObjectiveError& e) {
        EXPECT_EQ(e.step(), 4u);
        EXPECT_EQ(e.run(), 1);
      }
      EXPECT_EQ(batch.next_step(), 4u);
    }
    {
      const auto f = make(false, bad);
      const auto x = x0();
      zo::RunBatch batch(f, three_runs(), x.data(), cpu(zo::NonFinitePolicy::skip));
      batch.run(10);
      EXPECT_EQ(batch.statuses()[1].skipped_steps, 1u);
      EXPECT_EQ(batch.statuses()[0].skipped_steps, 0u);
    }
    {
      const auto f = make(false, bad);
      const auto x = x0();
      zo::RunBatch batch(f, three_runs(), x.data(), cpu(zo::NonFinitePolicy::mark_diverged));
      batch.run(10);
      EXPECT_TRUE(batch.statuses()[1].diverged);
      EXPECT_EQ(batch.statuses()[1].diverged_at, 4u);
      EXPECT_FALSE(batch.statuses()[2].diverged);
    }
  }
}

// RunBatch on the CUDA backend against the CPU reference.
//
// What may differ, and the tolerances that follow from it. Both backends generate bit-identical
// directions and apply the same element-wise bodies (perturb, projected_gradient,
// update_coefficient, apply_update), so the iterates can differ only through the objective's
// reductions: the device sums f(x ± λu), ∇f and uᵀ∇f in a different (fixed) order than the CPU.
//  * With a host-memory objective (the batch copies the points to the host and back) nothing
//    differs: zo and gd runs are checked bit for bit.
//  * One step from the same state: a rounding difference of a few double ulps in f can flip the
//    float rounding of a coefficient c_j = fl(η g_j / q) by one ulp (2^-23 relative), moving x_i
//    by at most q·2^-23·|c_j u_ji| ≤ 3·2^-23·(step length) < 1e-6·(step length), plus one float
//    ulp of x_i (< 1e-6 relative). Checked at every step of 200 (teacher-forced: the device batch
//    is restored to the CPU state before each step).
//  * Free-running 200-step trajectories: such differences do not grow on these problems. The CPU
//    test TrajectoryTolerance.NoiseInTheObjectiveStaysTenTimesBelowTheGpuTolerance (file
//    test_trajectory_tolerance.cpp, runs everywhere) perturbs f by 1e-13 relative (≈ 20× the
//    reduction bound) and the gradients by 2 float ulps along the same 200 steps and finds the
//    CPU trajectories within a tenth of the tolerance used here (rtol = atol = 1e-5). A wrong
//    direction, coefficient or index moves x by ≥ η·|g|·|u| ≈ 1e-4 per step: far outside it.
// The fused Example 2.1 path and the generic path (materialised points) must agree bit for bit,
// and a run's trajectory must not depend on its batchmates (bit for bit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cuda_test_support.hpp"
#include "test_objectives.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

using zo_test::Forwarding;
using zo_test::mixed_runs;
using zo_test::same_bits;
using zo_test::start_points;

constexpr double kTrajectoryTol = 1e-5;  // see the file comment

zo::BatchOptions on(zo::Backend backend, zo::NonFinitePolicy policy = zo::NonFinitePolicy::error) {
  zo::BatchOptions o;
  o.backend = backend;
  o.on_non_finite = policy;
  return o;
}

std::vector<float> points_of(const zo::RunBatch& b) {
  std::vector<float> x(b.size() * b.dim());
  b.copy_points(x.data());
  return x;
}

std::vector<float> run_steps(const zo::Objective& f, const std::vector<zo::RunSpec>& runs,
                             const std::vector<float>& x0, std::uint64_t steps,
                             zo::BatchOptions options) {
  zo::RunBatch b(f, runs, x0.data(), options);
  b.run(steps);
  return points_of(b);
}

/// Row k of a K × dim matrix.
std::vector<float> row(const std::vector<float>& x, std::size_t k, std::size_t dim) {
  return std::vector<float>(x.begin() + k * dim, x.begin() + (k + 1) * dim);
}

/// One-step agreement (file comment): |gpu − cpu| ≤ 1e-6·|cpu| + 1e-6·(step length of the run).
::testing::AssertionResult StepClose(const std::vector<float>& gpu, const std::vector<float>& cpu,
                                     const std::vector<float>& before, std::size_t dim) {
  for (std::size_t k = 0; k * dim < cpu.size(); ++k) {
    double step = 0.0;
    for (std::size_t i = 0; i < dim; ++i)
      step = std::max(step, std::fabs(static_cast<double>(cpu[k * dim + i]) - before[k * dim + i]));
    for (std::size_t i = 0; i < dim; ++i) {
      auto r = zo_test::IsClose(gpu[k * dim + i], cpu[k * dim + i], 1e-6, 1e-6 * step);
      if (!r)
        return ::testing::AssertionFailure()
               << "run " << k << " coordinate " << i << ": " << r.message();
    }
  }
  return ::testing::AssertionSuccess();
}

/// Which runs of `runs` use `method`.
std::vector<bool> with_method(const std::vector<zo::RunSpec>& runs, zo::Method m) {
  std::vector<bool> out;
  for (const auto& s : runs) out.push_back(s.method == m);
  return out;
}

// ---- host-memory objective: bit for bit -----------------------------------------------------

TEST(RunBatchCuda, HostObjectiveGivesTheCpuBitsForZoAndGd) {
  ZO_SKIP_WITHOUT_GPU();
  const std::size_t dim = 37;  // not a multiple of 4: padded rows
  std::vector<double> a(dim), b(dim);
  for (std::size_t i = 0; i < dim; ++i) {
    a[i] = 0.5 + 0.05 * static_cast<double>(i);
    b[i] = 0.1 * std::sin(static_cast<double>(i));
  }
  const zo_test::Quadratic f(a, b);  // host memory only
  const auto runs = mixed_runs(37);
  const auto x0 = start_points(runs.size(), dim, 3, 1.0f);
  const auto cpu = run_steps(f, runs, x0, 100, on(zo::Backend::cpu));
  const auto gpu = run_steps(f, runs, x0, 100, on(zo::Backend::cuda));
  ASSERT_FALSE(same_bits(cpu, x0));
  const auto zo0 = with_method(runs, zo::Method::zo_limit);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    if (zo0[k]) {  // uᵀ∇f is a device reduction: within the trajectory tolerance
      EXPECT_TRUE(
          zo_test::AllClose(&gpu[k * dim], &cpu[k * dim], dim, kTrajectoryTol, kTrajectoryTol))
          << "run " << k;
    } else {
      EXPECT_EQ(std::memcmp(&gpu[k * dim], &cpu[k * dim], dim * sizeof(float)), 0)
          << "run " << k << " (" << zo::to_string(runs[k].method) << ", "
          << zo::to_string(runs[k].distribution) << ", q = " << runs[k].q << ")";
    }
  }
}

// ---- Example 2.1 (device objective): fused and generic paths --------------------------------

class Example21Runs : public ::testing::Test {
 protected:
  const zo::Example21 f{50};  // dimension 100
  const Forwarding generic{f};
  const std::vector<zo::RunSpec> runs = mixed_runs(37);
  const std::vector<float> x0 = start_points(runs.size(), f.dim(), 11, 0.5f);
};

TEST_F(Example21Runs, EveryStepOfTwoHundredMatchesTheCpuFromTheSameState) {
  ZO_SKIP_WITHOUT_GPU();
  zo::RunBatch cpu(f, runs, x0.data(), on(zo::Backend::cpu));
  zo::RunBatch fused(f, runs, x0.data(), on(zo::Backend::cuda));
  zo::RunBatch mat(generic, runs, x0.data(), on(zo::Backend::cuda));
  std::vector<float> x = x0;
  for (std::uint64_t t = 0; t < zo_test::sanitizer_scaled(200u, 10u); ++t) {
    fused.restore(x.data(), t, cpu.statuses());
    mat.restore(x.data(), t, cpu.statuses());
    cpu.run(1);
    fused.run(1);
    mat.run(1);
    const auto want = points_of(cpu);
    const auto got = points_of(fused);
    ASSERT_TRUE(StepClose(got, want, x, f.dim())) << "step " << t;
    ASSERT_TRUE(same_bits(got, points_of(mat))) << "fused vs generic, step " << t;
    x = want;
  }
}

TEST_F(Example21Runs, TwoHundredStepTrajectoriesStayWithinTheTolerance) {
  ZO_SKIP_WITHOUT_GPU();
  const std::uint64_t steps = zo_test::sanitizer_scaled(200u, 20u);
  const auto cpu = run_steps(f, runs, x0, steps, on(zo::Backend::cpu));
  const auto fused = run_steps(f, runs, x0, steps, on(zo::Backend::cuda));
  const auto mat = run_steps(generic, runs, x0, steps, on(zo::Backend::cuda));
  EXPECT_TRUE(same_bits(fused, mat)) << "fused and generic paths differ";
  EXPECT_TRUE(
      zo_test::AllClose(fused.data(), cpu.data(), cpu.size(), kTrajectoryTol, kTrajectoryTol));
  // It moved, and the runs went different ways (the comparison is not vacuous).
  double moved = 0.0;
  for (std::size_t i = 0; i < cpu.size(); ++i)
    moved = std::max(moved, double(std::fabs(cpu[i] - x0[i])));
  EXPECT_GT(moved, 10 * kTrajectoryTol);
}

TEST_F(Example21Runs, ARunDoesNotDependOnItsBatchmates) {
  ZO_SKIP_WITHOUT_GPU();
  const std::size_t dim = f.dim();
  // Batch B: runs 30, 17, 5, 2 of batch A (reversed, so each sits elsewhere) among new runs.
  const std::size_t picked[] = {30, 17, 5, 2};
  auto others = mixed_runs(9, 5000);
  std::vector<zo::RunSpec> runs_b;
  std::vector<float> x_b;
  const auto x_other = start_points(others.size(), dim, 99, 0.5f);
  for (std::size_t i = 0; i < 4; ++i) {
    runs_b.push_back(others[i]);
    x_b.insert(x_b.end(), x_other.begin() + i * dim, x_other.begin() + (i + 1) * dim);
    runs_b.push_back(runs[picked[i]]);
    const auto r = row(x0, picked[i], dim);
    x_b.insert(x_b.end(), r.begin(), r.end());
  }
  for (const zo::Objective* obj :
       {static_cast<const zo::Objective*>(&f), static_cast<const zo::Objective*>(&generic)}) {
    const auto a = run_steps(*obj, runs, x0, 60, on(zo::Backend::cuda));
    const auto b = run_steps(*obj, runs_b, x_b, 60, on(zo::Backend::cuda));
    for (std::size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(std::memcmp(&b[(2 * i + 1) * dim], &a[picked[i] * dim], dim * sizeof(float)), 0)
          << obj->name() << ": run " << picked[i];
    }
  }
}

TEST_F(Example21Runs, ResumingRestoringAndAUserStreamGiveTheSameBits) {
  ZO_SKIP_WITHOUT_GPU();
  const auto full = run_steps(f, runs, x0, 80, on(zo::Backend::cuda));
  const auto half = run_steps(f, runs, x0, 50, on(zo::Backend::cuda));
  auto resume = on(zo::Backend::cuda);
  resume.start_step = 50;
  EXPECT_TRUE(same_bits(full, run_steps(f, runs, half, 30, resume)));
  zo::RunBatch b(f, runs, x0.data(), on(zo::Backend::cuda));
  b.run(7);
  b.restore(half.data(), 50, std::vector<zo::RunStatus>(runs.size()));
  b.run(20);
  b.run(10);
  EXPECT_EQ(b.next_step(), 80u);
  EXPECT_TRUE(same_bits(full, points_of(b)));
  zo::Stream stream;
  auto mine = on(zo::Backend::cuda);
  mine.stream = stream;
  EXPECT_TRUE(same_bits(full, run_steps(f, runs, x0, 80, mine)));
  auto owned = on(zo::Backend::cuda);  // a stream of the batch's own, asked for by name
  owned.own_stream = true;
  EXPECT_TRUE(same_bits(full, run_steps(f, runs, x0, 80, owned)));
}

TEST_F(Example21Runs, MeasureMatchesTheCpuAndFrozenRunsStayFrozen) {
  ZO_SKIP_WITHOUT_GPU();
  zo::RunBatch cpu(f, runs, x0.data(), on(zo::Backend::cpu));
  zo::RunBatch gpu(f, runs, x0.data(), on(zo::Backend::cuda));
  cpu.run(20);
  const auto x = points_of(cpu);
  std::vector<zo::RunStatus> st(runs.size());
  st[4].diverged = true;  // restored as frozen: must not move on the GPU either
  st[4].diverged_at = 3;
  st[9].skipped_steps = 2;
  gpu.restore(x.data(), 20, st);
  cpu.restore(x.data(), 20, st);
  const std::size_t K = runs.size();
  std::vector<double> l1(K), l2(K), t1(K), t2(K), m1(K), m2(K);
  cpu.measure(l1.data(), t1.data(), m1.data());
  gpu.measure(l2.data(), t2.data(), m2.data());
  for (std::size_t k = 0; k < K; ++k) {
    double s = 0, as = 0, tr = 0;
    for (std::size_t i = 0; i < 50; ++i) {
      const double y = x[k * 100 + i], z = x[k * 100 + 50 + i];
      s += y * z;
      as += std::fabs(y * z);
      tr += y * y + z * z;
    }
    const double ds = zo_test::sum_order_bound(50, as);
    EXPECT_TRUE(zo_test::IsClose(l2[k], l1[k], 8 * zo_test::kU, (std::fabs(s - 1) + ds) * ds));
    EXPECT_TRUE(zo_test::IsClose(t2[k], t1[k], 4 * zo_test::kU, zo_test::sum_order_bound(50, tr)));
    EXPECT_EQ(m2[k], m1[k]) << "metrics are computed on the host from the same floats";
  }
  cpu.run(30);
  gpu.run(30);
  const auto xc = points_of(cpu), xg = points_of(gpu);
  EXPECT_EQ(std::memcmp(&xg[4 * 100], &x[4 * 100], 100 * sizeof(float)), 0) << "frozen run moved";
  EXPECT_TRUE(zo_test::AllClose(xg.data(), xc.data(), xc.size(), kTrajectoryTol, kTrajectoryTol));
  EXPECT_TRUE(gpu.statuses()[4].diverged);
  EXPECT_EQ(gpu.statuses()[4].diverged_at, 3u);
  EXPECT_EQ(gpu.statuses()[9].skipped_steps, 2u);
  EXPECT_EQ(gpu.next_step(), 50u);
}

// Dimensions that exercise padding (2, 6) and the chunked reductions with an odd half (2·12295,
// sphere scales over several 4096-coordinate chunks), with small K: a few teacher-forced steps.
TEST(RunBatchCuda, SmallAndLargeDimensionsMatchTheCpuStepByStep) {
  ZO_SKIP_WITHOUT_GPU();
  for (std::size_t h : {1u, 3u, 12295u}) {
    const zo::Example21 f(h);
    const Forwarding generic(f);
    auto runs = mixed_runs(h > 1000 ? 6 : 18, 300);
    for (auto& s : runs) s.distribution = zo::Distribution::sphere;  // the multi-chunk scale
    runs[1].distribution = zo::Distribution::gaussian;
    const auto x0 = start_points(runs.size(), f.dim(), 5, h > 1000 ? 0.1f : 0.7f);
    zo::RunBatch cpu(f, runs, x0.data(), on(zo::Backend::cpu));
    zo::RunBatch fused(f, runs, x0.data(), on(zo::Backend::cuda));
    zo::RunBatch mat(generic, runs, x0.data(), on(zo::Backend::cuda));
    std::vector<float> x = x0;
    const std::uint64_t steps = zo_test::sanitizer_scaled(h > 1000 ? 4u : 30u, 2u);
    for (std::uint64_t t = 0; t < steps; ++t) {
      fused.restore(x.data(), t, cpu.statuses());
      mat.restore(x.data(), t, cpu.statuses());
      cpu.run(1);
      fused.run(1);
      mat.run(1);
      const auto want = points_of(cpu);
      const auto got = points_of(fused);
      ASSERT_TRUE(StepClose(got, want, x, f.dim())) << "h = " << h << " step " << t;
      ASSERT_TRUE(same_bits(got, points_of(mat))) << "fused vs generic, h = " << h;
      x = want;
    }
  }
}

// ---- the non-finite policy on the GPU --------------------------------------------------------

// Runs 0, 2 and 3 start near 0; run 1 starts with x[0] = 3 and gets NaN from the 6th evaluate()
// (step 5) or gradient() call. Example 2.1 on device memory (generic path) and, as the CPU
// oracle, the same wrapper on host memory.
class NonFiniteCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    x0 = start_points(4, f.dim(), 21, 0.3f);
    x0[1 * f.dim()] = 3.0f;
  }
  std::vector<zo::RunSpec> zo_runs() const {
    auto r = mixed_runs(4, 70);
    for (auto& s : r) s.method = zo::Method::zo;
    return r;
  }
  std::vector<zo::RunSpec> grad_runs() const {  // run 1 (tagged) is gd; 0 zo, 2 zo0, 3 gd
    auto r = mixed_runs(4, 80);
    r[0].method = zo::Method::zo;
    r[1].method = zo::Method::gd;
    r[2].method = zo::Method::zo_limit;
    r[3].method = zo::Method::gd;
    return r;
  }
  const zo::Example21 f{20};
  const zo_test::HostOnly host_f{f};
  std::vector<float> x0;
};

TEST_F(NonFiniteCuda, ErrorPolicyStopsAtTheStepWithTheRunAndNoUpdate) {
  ZO_SKIP_WITHOUT_GPU();
  for (bool gradient : {false, true}) {
    const auto runs = gradient ? grad_runs() : zo_runs();
    const zo_test::NanAtCall dev_obj(f, 5, 2.0f, gradient);
    const zo_test::NanAtCall host_obj(host_f, 5, 2.0f, gradient);
    for (const zo::Objective* obj : {static_cast<const zo::Objective*>(&dev_obj),
                                     static_cast<const zo::Objective*>(&host_obj)}) {
      zo::RunBatch b(*obj, runs, x0.data(), on(zo::Backend::cuda));
      try {
        b.run(10);
        ADD_FAILURE() << "no exception (gradient = " << gradient << ")";
      } catch (const zo::ObjectiveError& e) {
        EXPECT_EQ(e.step(), 5u);
        EXPECT_EQ(e.run(), 1);
        EXPECT_NE(std::string(e.what()).find(gradient ? "the gradient" : "f(x +/- lambda*u)"),
                  std::string::npos)
            << e.what();
      }
      EXPECT_EQ(b.next_step(), 5u);
      // No run advanced past step 4: the same bits as a batch of the same memory path (device:
      // the fused Example 2.1 path, bit-identical to the generic one) that ran exactly 5 steps.
      const zo::Objective& same_path =
          obj == &dev_obj ? static_cast<const zo::Objective&>(f) : host_f;
      EXPECT_TRUE(same_bits(points_of(b), run_steps(same_path, runs, x0, 5, on(zo::Backend::cuda))))
          << obj->name() << " gradient " << gradient;
      // And the CPU oracle stops at the same place.
      const zo_test::NanAtCall cpu_obj(host_f, 5, 2.0f, gradient);
      zo::RunBatch c(cpu_obj, runs, x0.data(), on(zo::Backend::cpu));
      EXPECT_THROW(c.run(10), zo::ObjectiveError);
      EXPECT_TRUE(zo_test::AllClose(points_of(b).data(), points_of(c).data(), x0.size(),
                                    kTrajectoryTol, kTrajectoryTol));
    }
  }
}

TEST_F(NonFiniteCuda, SkipAndMarkDivergedBehaveAsOnTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  for (auto policy : {zo::NonFinitePolicy::skip, zo::NonFinitePolicy::mark_diverged}) {
    for (bool gradient : {false, true}) {
      const auto runs = gradient ? grad_runs() : zo_runs();
      const zo_test::NanAtCall dev_obj(f, 5, 2.0f, gradient);
      const zo_test::NanAtCall cpu_obj(host_f, 5, 2.0f, gradient);
      zo::RunBatch g(dev_obj, runs, x0.data(), on(zo::Backend::cuda, policy));
      zo::RunBatch c(cpu_obj, runs, x0.data(), on(zo::Backend::cpu, policy));
      g.run(4);  // two run() calls: statuses travel to and from the device in between
      g.run(16);
      c.run(20);
      const auto sg = g.statuses(), sc = c.statuses();
      for (std::size_t k = 0; k < runs.size(); ++k) {
        EXPECT_EQ(sg[k].diverged, sc[k].diverged) << "run " << k;
        EXPECT_EQ(sg[k].diverged_at, sc[k].diverged_at) << "run " << k;
        EXPECT_EQ(sg[k].skipped_steps, sc[k].skipped_steps) << "run " << k;
      }
      const bool mark = policy == zo::NonFinitePolicy::mark_diverged;
      EXPECT_EQ(sg[1].diverged, mark);
      EXPECT_EQ(sg[1].skipped_steps, mark ? 0u : 1u);
      if (mark) EXPECT_EQ(sg[1].diverged_at, 5u);
      EXPECT_TRUE(zo_test::AllClose(points_of(g).data(), points_of(c).data(), x0.size(),
                                    kTrajectoryTol, kTrajectoryTol))
          << "policy " << static_cast<int>(policy) << " gradient " << gradient;
      if (mark) {  // run 1 frozen at the start of step 5: the bits of a 5-step device batch
        const auto five = run_steps(f, runs, x0, 5, on(zo::Backend::cuda));
        EXPECT_EQ(std::memcmp(&points_of(g)[f.dim()], &five[f.dim()], f.dim() * sizeof(float)), 0);
      }
    }
  }
}

// The fused Example 2.1 path: a run at x = 1e18 overflows its coefficient (or its gradient) to
// Inf at step 0, on both backends.
TEST_F(NonFiniteCuda, OverflowInTheFusedPathIsCaughtAtStepZero) {
  ZO_SKIP_WITHOUT_GPU();
  auto runs = mixed_runs(6, 90);
  auto x = x0;
  x.resize(runs.size() * f.dim(), 0.1f);
  for (std::size_t i = 0; i < f.dim(); ++i) x[3 * f.dim() + i] = 1e18f;  // run 3: zo
  ASSERT_EQ(runs[3].method, zo::Method::zo);
  zo::RunBatch err(f, runs, x.data(), on(zo::Backend::cuda));
  try {
    err.run(3);
    ADD_FAILURE() << "no exception";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 0u);
    EXPECT_EQ(e.run(), 3);
  }
  EXPECT_EQ(err.next_step(), 0u);
  EXPECT_TRUE(same_bits(points_of(err), x)) << "an update happened at the failed step";
  for (auto policy : {zo::NonFinitePolicy::skip, zo::NonFinitePolicy::mark_diverged}) {
    zo::RunBatch g(f, runs, x.data(), on(zo::Backend::cuda, policy));
    zo::RunBatch c(f, runs, x.data(), on(zo::Backend::cpu, policy));
    g.run(12);
    c.run(12);
    const auto sg = g.statuses(), sc = c.statuses();
    for (std::size_t k = 0; k < runs.size(); ++k) {
      EXPECT_EQ(sg[k].diverged, sc[k].diverged) << "run " << k;
      EXPECT_EQ(sg[k].diverged_at, sc[k].diverged_at) << "run " << k;
      EXPECT_EQ(sg[k].skipped_steps, sc[k].skipped_steps) << "run " << k;
    }
    EXPECT_EQ(sg[3].skipped_steps, policy == zo::NonFinitePolicy::skip ? 12u : 0u);
    const auto xg = points_of(g);
    EXPECT_EQ(std::memcmp(&xg[3 * f.dim()], &x[3 * f.dim()], f.dim() * sizeof(float)), 0);
    EXPECT_TRUE(zo_test::AllClose(xg.data(), points_of(c).data(), x.size(), kTrajectoryTol,
                                  kTrajectoryTol));
  }
}

// An exception thrown by the objective is reported with its step; an earlier non-finite step
// queued on the device takes precedence (it is the first failure).
TEST_F(NonFiniteCuda, AnObjectiveThatThrowsIsReportedWithTheStep) {
  ZO_SKIP_WITHOUT_GPU();
  const zo_test::Poisoned thrower(f, 3, 2.0f, /*throw_instead=*/true);  // host memory
  const auto runs = zo_runs();
  zo::RunBatch b(thrower, runs, x0.data(), on(zo::Backend::cuda));
  try {
    b.run(10);
    ADD_FAILURE() << "no exception";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 3u);
    EXPECT_NE(std::string(e.what()).find("simulated failure"), std::string::npos) << e.what();
  }
  EXPECT_EQ(b.next_step(), 3u);
  EXPECT_TRUE(same_bits(points_of(b), run_steps(host_f, runs, x0, 3, on(zo::Backend::cuda))));
}

}  // namespace

// The persistent kernel of the fused engine against the CPU path (bit for bit, for every GPU
// group size) and against the CPU RunBatch (within the tolerance of fused_harness.hpp), on
// awkward K and d; the log schedule across launches; divergence marking; the RNG ceiling.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#include "fused_harness.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

using namespace fused_test;

/// Under compute-sanitizer (ZO_SANITIZER=1, kernels 10-100× slower) fewer steps and sizes.
bool sanitizer() { return std::getenv("ZO_SANITIZER") != nullptr; }
std::uint64_t test_steps() { return sanitizer() ? 40 : 300; }
std::vector<std::uint64_t> log_its() {
  std::vector<std::uint64_t> out;
  for (auto t : kLogIts)
    if (t <= test_steps()) out.push_back(t);
  return out;
}

TEST(FusedExample21Gpu, BitIdenticalToCpuForEveryGroupSize) {
  ZO_SKIP_WITHOUT_GPU();
  for (std::size_t d : {1, 3, 37, 100, 129, 512}) {
    for (std::size_t K : {1, 7, 133}) {
      const auto runs = mixed_runs(K);
      const auto x0 = initial_points(K, 2 * d, 21);
      const auto cpu = run_fused(d, runs, x0, test_steps(), log_its(), zo::Backend::cpu);
      for (unsigned group : {0u, 4u, 8u, 16u, 32u}) {
        if (group != 0 && group * 4 * 4 < d) continue;  // does not fit in registers
        SCOPED_TRACE("d = " + std::to_string(d) + ", K = " + std::to_string(K) +
                     ", group = " + std::to_string(group));
        const auto gpu = run_fused(d, runs, x0, test_steps(), log_its(), zo::Backend::cuda, group);
        expect_bit_identical(gpu, cpu);
      }
    }
  }
}

TEST(FusedExample21Gpu, MatchesCpuRunBatchOnAwkwardSizes) {
  ZO_SKIP_WITHOUT_GPU();
  for (std::size_t d : {1, 3, 37, 100, 129}) {
    for (std::size_t K : {1, 7, 133}) {
      SCOPED_TRACE("d = " + std::to_string(d) + ", K = " + std::to_string(K));
      const auto runs = mixed_runs(K);
      const auto x0 = initial_points(K, 2 * d, 23);
      const auto gpu = run_fused(d, runs, x0, test_steps(), log_its(), zo::Backend::cuda);
      const auto ref = run_reference(d, runs, x0, test_steps(), log_its());
      expect_close(gpu, ref);
    }
  }
}

TEST(FusedExample21Gpu, LogScheduleAcrossLaunchesAndDivergence) {
  ZO_SKIP_WITHOUT_GPU();
  const std::size_t d = 100;
  const auto runs = runs_with_divergence();
  const auto x0 = initial_points(runs.size(), 2 * d, 29);
  const auto cpu = run_fused(d, runs, x0, test_steps(), log_its(), zo::Backend::cpu);
  // Same steps in several launches, each logging its own iterations.
  fused_test::FusedBatch gpu_owner(d, runs, x0.data(), zo::Backend::cuda);
  zo::RunBatch& gpu = gpu_owner.batch;
  const std::size_t K = runs.size();
  std::vector<double> metrics(cpu.metrics.size());
  const auto all = log_its();
  const std::uint64_t s = test_steps();
  std::size_t logged = 0;
  for (std::uint64_t end : {std::uint64_t{0}, std::uint64_t{2}, s / 6, s / 6 + 1, s}) {
    std::vector<std::uint64_t> its;
    while (logged + its.size() < all.size() && all[logged + its.size()] <= end)
      its.push_back(all[logged + its.size()]);
    std::vector<double> m(its.size() * K * 3);
    gpu.run(end - gpu.next_step(), its, m.data());
    std::copy(m.begin(), m.end(), metrics.begin() + logged * K * 3);
    logged += its.size();
  }
  Trajectory t;
  t.metrics = metrics;
  t.x.resize(K * 2 * d);
  gpu.copy_points(t.x.data());
  t.status = gpu.statuses();
  expect_bit_identical(t, cpu);
  EXPECT_TRUE(t.status[1].diverged);
  EXPECT_TRUE(t.status[3].diverged);
  EXPECT_GT(gpu.last_run_seconds(), 0.0);
}

// The fused engine orders everything on BatchOptions::stream (or on a stream of its own with
// own_stream): on a caller's non-blocking stream it gives the CPU's bits, like on the default.
TEST(FusedExample21Gpu, RunsOnTheCallersStreamOrItsOwn) {
  ZO_SKIP_WITHOUT_GPU();
  const std::size_t d = 37, K = 7;
  const auto runs = mixed_runs(K);
  const auto x0 = initial_points(K, 2 * d, 31);
  const auto cpu = run_fused(d, runs, x0, test_steps(), log_its(), zo::Backend::cpu);
  const zo::Example21 f(d);
  zo::Stream stream;  // outlives the batches below
  for (bool own : {false, true}) {
    zo::BatchOptions o = FusedBatch::options(zo::Backend::cuda, 0);
    o.stream = stream;
    o.own_stream = own;
    zo::RunBatch gpu(f, runs, x0.data(), o);
    ASSERT_EQ(gpu.engine(), zo::Engine::fused);
    Trajectory t;
    t.metrics.resize(log_its().size() * K * 3);
    gpu.run(test_steps(), log_its(), t.metrics.data());
    t.x.resize(K * 2 * d);
    gpu.copy_points(t.x.data());
    t.status = gpu.statuses();
    SCOPED_TRACE(own ? "own stream" : "caller's stream");
    expect_bit_identical(t, cpu);
  }
  const auto a = zo::generate_directions(zo::Backend::cuda, 7, 200, 37);
  const auto b = zo::generate_directions(zo::Backend::cuda, 7, 200, 37, stream);
  // The kernel adds its warp sums with atomics (order-dependent rounding): equal up to that.
  EXPECT_TRUE(zo_test::IsClose(b.checksum, a.checksum, 1e-9, 1e-6));
}

TEST(GenerateDirectionsGpu, ChecksumMatchesCpu) {
  ZO_SKIP_WITHOUT_GPU();
  for (std::size_t runs : {1, 7, 300}) {
    const auto cpu = zo::generate_directions(zo::Backend::cpu, runs, 200, 37);
    const auto gpu = zo::generate_directions(zo::Backend::cuda, runs, 200, 37);
    // Same float block sums, added in double in a different order: rounding ≤ n·2⁻⁵³·Σ|v|.
    EXPECT_TRUE(zo_test::IsClose(gpu.checksum, cpu.checksum, 1e-9, 1e-6)) << runs << " runs";
    EXPECT_GT(gpu.seconds, 0.0);
  }
}

}  // namespace

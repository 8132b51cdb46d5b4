// The fused engine (whole steps of Example 2.1 on chip): the CPU path against RunBatch (the
// oracle), its logging schedule, divergence marking, and invariance to chunking and batch
// composition. The GPU tests (label gpu) compare the persistent kernel with the CPU path bit for
// bit, and with the CPU RunBatch within the tolerance derived below.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "fused_harness.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

using namespace fused_test;

TEST(FusedExample21Cpu, MatchesRunBatchOnAwkwardSizes) {
  for (std::size_t d : {1, 3, 37, 100}) {
    for (std::size_t K : {1, 13}) {
      SCOPED_TRACE("d = " + std::to_string(d) + ", K = " + std::to_string(K));
      const auto runs = mixed_runs(K);
      const auto x0 = initial_points(K, 2 * d, 11);
      const auto fused = run_fused(d, runs, x0, 300, kLogIts, zo::Backend::cpu);
      const auto ref = run_reference(d, runs, x0, 300, kLogIts);
      expect_close(fused, ref);
    }
  }
}

TEST(FusedExample21Cpu, LoggedMetricsAreThoseOfTheIterate) {
  // The metrics logged at iteration t are loss, ‖y‖² + ‖z‖² and B of x_t: check against
  // Example21 applied to the iterate copied out after exactly t steps (independent reductions,
  // so equal to ~1e-15 relative).
  const std::size_t d = 37, K = 5;
  const auto runs = mixed_runs(K);
  const auto x0 = initial_points(K, 2 * d, 3);
  const zo::Example21 objective(d);
  for (std::uint64_t t : {0ull, 1ull, 19ull, 64ull}) {
    fused_test::FusedBatch batch_owner(d, runs, x0.data(), zo::Backend::cpu);
    zo::RunBatch& batch = batch_owner.batch;
    std::vector<double> m(K * 3);
    batch.run(t, {t}, m.data());
    std::vector<float> x(K * 2 * d);
    batch.copy_points(x.data());
    zo::PointBatch pts;
    pts.data = x.data();
    pts.count = K;
    pts.dim = pts.stride = 2 * d;
    std::vector<double> loss(K), trace(K), b(K);
    objective.evaluate(pts, loss.data());
    objective.exact_trace(pts, trace.data());
    objective.metrics(pts, b.data());
    for (std::size_t k = 0; k < K; ++k) {
      // loss = (s − 1)²/2 with s = yᵀz summed in another order: |Δs| ≤ 2d·2⁻⁵³·Σ|y_i z_i|
      // ≤ 2d·2⁻⁵³·trace, so compare |s − 1| = √(2·loss) with that absolute bound.
      const double bound = 2.0 * d * std::ldexp(1.0, -53) * trace[k];
      EXPECT_TRUE(zo_test::IsClose(std::sqrt(2 * m[k * 3]), std::sqrt(2 * loss[k]), 0, bound))
          << "t " << t;
      EXPECT_TRUE(zo_test::IsClose(m[k * 3 + 1], trace[k], 1e-13, 0)) << "t " << t;
      EXPECT_TRUE(zo_test::IsClose(m[k * 3 + 2], b[k], 1e-12, 1e-12)) << "t " << t;
    }
  }
}

TEST(FusedExample21Cpu, ChunkingAndBatchCompositionDoNotChangeBits) {
  const std::size_t d = 37, K = 9;
  const auto runs = mixed_runs(K);
  const auto x0 = initial_points(K, 2 * d, 5);
  const auto whole = run_fused(d, runs, x0, 300, kLogIts, zo::Backend::cpu);

  // The same 300 steps in uneven chunks, logging the iterations that fall in each chunk.
  fused_test::FusedBatch batch_owner(d, runs, x0.data(), zo::Backend::cpu);
  zo::RunBatch& batch = batch_owner.batch;
  Trajectory chunked;
  chunked.metrics.assign(whole.metrics.size(), 0.0);
  std::size_t logged = 0;
  for (std::uint64_t end : {1ull, 2ull, 90ull, 123ull, 299ull, 300ull}) {
    std::vector<std::uint64_t> its;
    while (logged + its.size() < kLogIts.size() && kLogIts[logged + its.size()] <= end)
      its.push_back(kLogIts[logged + its.size()]);
    std::vector<double> m(its.size() * K * 3);
    batch.run(end - batch.next_step(), its, m.data());
    std::copy(m.begin(), m.end(), chunked.metrics.begin() + logged * K * 3);
    logged += its.size();
  }
  chunked.x.resize(K * 2 * d);
  batch.copy_points(chunked.x.data());
  chunked.status = batch.statuses();
  expect_bit_identical(chunked, whole);

  // Run 4 alone gives the same bits as run 4 inside the batch.
  const std::vector<zo::RunSpec> one = {runs[4]};
  const std::vector<float> x4(x0.begin() + 4 * 2 * d, x0.begin() + 5 * 2 * d);
  const auto alone = run_fused(d, one, x4, 300, kLogIts, zo::Backend::cpu);
  EXPECT_EQ(0, std::memcmp(alone.x.data(), &whole.x[4 * 2 * d], 2 * d * sizeof(float)));
  for (std::size_t i = 0; i < kLogIts.size(); ++i)
    for (int c = 0; c < 3; ++c)
      EXPECT_EQ(alone.metrics[i * 3 + c], whole.metrics[(i * K + 4) * 3 + c]);
}

TEST(FusedExample21Cpu, DivergedRunsAreFrozenAndDoNotPoisonOthers) {
  const std::size_t d = 37;
  const auto runs = runs_with_divergence();
  const auto x0 = initial_points(runs.size(), 2 * d, 9);
  const auto fused = run_fused(d, runs, x0, 300, kLogIts, zo::Backend::cpu);
  const auto ref = run_reference(d, runs, x0, 300, kLogIts);
  for (std::size_t k : {1u, 3u}) {
    ASSERT_TRUE(fused.status[k].diverged) << "run " << k;
    EXPECT_EQ(fused.status[k].diverged_at, ref.status[k].diverged_at) << "run " << k;
    EXPECT_LT(fused.status[k].diverged_at, 300u);
  }
  for (std::size_t k : {0u, 2u, 4u}) {
    EXPECT_FALSE(fused.status[k].diverged) << "run " << k;
    // Bit-identical to the same run without the diverging neighbours.
    const auto alone = run_fused(
        d, {runs[k]}, std::vector<float>(x0.begin() + k * 2 * d, x0.begin() + (k + 1) * 2 * d), 300,
        kLogIts, zo::Backend::cpu);
    EXPECT_EQ(0, std::memcmp(alone.x.data(), &fused.x[k * 2 * d], 2 * d * sizeof(float)));
  }
  // A frozen run keeps its iterate: the metrics logged after the divergence step repeat.
  const std::size_t K = runs.size();
  const std::uint64_t at = fused.status[1].diverged_at;
  double last = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < kLogIts.size(); ++i) {
    if (kLogIts[i] <= at) continue;
    const double trace = fused.metrics[(i * K + 1) * 3 + 1];
    if (!std::isnan(last)) EXPECT_EQ(trace, last);
    last = trace;
  }
}

TEST(FusedExample21Cpu, RunsAdvancedTogetherKeepTheirBits) {
  // Batches of ZO runs with one q and distribution (the CPU advances such runs several at a time,
  // one per SIMD lane) against each run alone: per-run λ, η and seeds, some runs diverging. One
  // thread, so that the batch is split into chunks of lanes whatever the machine's core count.
#if defined(_OPENMP)
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
#endif
  // With 19 seeds every group has 8 seeds; with 2 seeds (as a sweep's configurations share
  // them) the runs are regrouped by seed: one group whose lanes share one direction, one group of
  // two seeds, and 3 runs alone.
  const std::size_t K = 19;
  for (std::size_t seeds : {K, std::size_t{2}})
    for (std::size_t d : {37, 100}) {
      for (std::uint32_t q : {1u, 3u}) {
        for (zo::Distribution dist : {zo::Distribution::gaussian, zo::Distribution::rademacher}) {
          SCOPED_TRACE("d = " + std::to_string(d) + ", q = " + std::to_string(q) +
                       ", seeds = " + std::to_string(seeds));
          std::vector<zo::RunSpec> runs(K);
          for (std::size_t k = 0; k < K; ++k) {
            runs[k].method = zo::Method::zo;
            runs[k].q = q;
            runs[k].distribution = dist;
            runs[k].lambda = 0.01f + 0.02f * static_cast<float>(k % 5);
            runs[k].eta = k % 4 == 1 ? std::numeric_limits<float>::max()
                                     : 0.001f + 0.0005f * static_cast<float>(k % 3);
            runs[k].seed = 500 + 13 * (k % seeds);
          }
          const auto x0 = initial_points(K, 2 * d, 21);
          const auto whole = run_fused(d, runs, x0, 300, kLogIts, zo::Backend::cpu);
          std::size_t diverged = 0;
          for (std::size_t k = 0; k < K; ++k) {
            const auto alone =
                run_fused(d, {runs[k]},
                          std::vector<float>(x0.begin() + k * 2 * d, x0.begin() + (k + 1) * 2 * d),
                          300, kLogIts, zo::Backend::cpu);
            EXPECT_EQ(0, std::memcmp(alone.x.data(), &whole.x[k * 2 * d], 2 * d * sizeof(float)))
                << "run " << k;
            for (std::size_t i = 0; i < kLogIts.size(); ++i) {
              for (int c = 0; c < 3; ++c) {
                const double a = alone.metrics[i * 3 + c], w = whole.metrics[(i * K + k) * 3 + c];
                EXPECT_EQ(0, std::memcmp(&a, &w, sizeof a)) << "run " << k << ", log " << i;
              }
            }
            EXPECT_EQ(alone.status[0].diverged, whole.status[k].diverged) << "run " << k;
            EXPECT_EQ(alone.status[0].diverged_at, whole.status[k].diverged_at) << "run " << k;
            diverged += whole.status[k].diverged ? 1 : 0;
          }
          // Both frozen and moving lanes were exercised.
          EXPECT_GT(diverged, 0u);
          EXPECT_LT(diverged, K);
        }
      }
    }
#if defined(_OPENMP)
  omp_set_num_threads(threads);
#endif
}

TEST(FusedExample21Cpu, RejectsWhatItDoesNotSupport) {
  std::vector<float> x(2 * 8, 0.5f);
  zo::RunSpec s;
  s.distribution = zo::Distribution::sphere;
  EXPECT_THROW(fused_test::FusedBatch(8, {s}, x.data(), zo::Backend::cpu), zo::InvalidArgument);
  s.distribution = zo::Distribution::gaussian;
  s.q = 65;
  EXPECT_THROW(fused_test::FusedBatch(8, {s}, x.data(), zo::Backend::cpu), zo::InvalidArgument);
  s.q = 1;
  std::vector<float> big(2 * 513, 0.5f);
  EXPECT_THROW(fused_test::FusedBatch(513, {s}, big.data(), zo::Backend::cpu), zo::InvalidArgument);
  EXPECT_THROW(fused_test::FusedBatch(8, {s}, x.data(), zo::Backend::cpu, 5), zo::InvalidArgument);
  fused_test::FusedBatch ok_owner(8, {s}, x.data(), zo::Backend::cpu);
  zo::RunBatch& ok = ok_owner.batch;
  std::vector<double> m(3);
  EXPECT_THROW(ok.run(10, {11}, m.data()), zo::InvalidArgument);    // beyond the range
  EXPECT_THROW(ok.run(10, {5, 5}, m.data()), zo::InvalidArgument);  // not unique
}

// 19 runs: two groups of 8 generated lane by lane, and 3 runs one at a time.
TEST(GenerateDirections, CpuChecksumIsTheSumOfTheDirections) {
  const std::size_t runs = 19, dim = 10;
  const std::uint64_t steps = 4;
  const auto r = zo::generate_directions(zo::Backend::cpu, runs, dim, steps);
  double sum = 0.0;
  std::vector<float> u(12);  // whole Philox blocks: 3 blocks of 4 cover dim = 10
  for (std::size_t k = 0; k < runs; ++k)
    for (std::uint64_t t = 0; t < steps; ++t) {
      zo::fill_direction(zo::Distribution::gaussian,
                         zo::DirectionKey{k, static_cast<std::uint32_t>(t), 0}, 12, u.data());
      for (int b = 0; b < 3; ++b)
        sum += static_cast<double>((u[4 * b] + u[4 * b + 1]) + (u[4 * b + 2] + u[4 * b + 3]));
    }
  EXPECT_TRUE(zo_test::IsClose(r.checksum, sum, 1e-12, 1e-12));
  EXPECT_GE(r.seconds, 0.0);
}

}  // namespace

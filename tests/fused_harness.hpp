// Shared by test_fused_example21.cpp (CPU) and test_fused_example21_cuda.cpp (GPU): mixed runs,
// initial points, the fused runner, the RunBatch oracle, and the tolerance between them.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace fused_test {

// Tolerance between the fused path and RunBatch. Both perform identical float operations except
// that RunBatch sums yᵀz (and uᵀ∇f) sequentially in double while the fused path uses a 32-way
// tree. The sums differ by at most ~2d·2⁻⁵³·Σ|y_i z_i| (≈ 1e-14 relative for d = 100), which
// changes the float-rounded update coefficient η·g in rare steps by one ulp (2⁻²⁴ ≈ 6e-8
// relative); each such flip moves x by ~6e-8·|c·u| and the dynamics (η ≤ 0.01, a few hundred
// steps, contracting towards yᵀz = 1) do not amplify it by more than a small factor. Measured on
// the CPU: max relative difference 2e-9 (loss), 8e-16 (trace) after 20,000 steps of d = 100.
// We allow 1e-5 relative + 1e-6 absolute on iterates and metrics: over 1000× the measured
// difference, and still far below the distance between trajectories of different seeds (O(1)).
constexpr double kRtol = 1e-5;
constexpr double kAtol = 1e-6;

inline std::vector<float> initial_points(std::size_t K, std::size_t dim, std::uint64_t seed0) {
  std::vector<float> x(K * dim);
  for (std::size_t k = 0; k < K; ++k) zo::gaussian_fill(seed0 + k, 0, &x[k * dim], dim);
  return x;
}

/// Runs covering every method, q ∈ {1, 3}, both supported distributions, per-run λ/η/seed.
inline std::vector<zo::RunSpec> mixed_runs(std::size_t K) {
  std::vector<zo::RunSpec> runs;
  for (std::size_t k = 0; k < K; ++k) {
    zo::RunSpec s;
    s.method = static_cast<zo::Method>(k % 3);
    s.lambda = 0.02f + 0.03f * static_cast<float>(k % 4);
    s.eta = s.method == zo::Method::gd ? 0.01f : 0.002f + 0.001f * static_cast<float>(k % 2);
    s.q = (k / 3) % 2 == 0 ? 1u : 3u;
    s.seed = 1000 + 7 * k;
    s.distribution = (k / 6) % 2 == 0 ? zo::Distribution::gaussian : zo::Distribution::rademacher;
    runs.push_back(s);
  }
  return runs;
}

/// Example 2.1 on the fused engine: the objective and the RunBatch that references it.
struct FusedBatch {
  zo::Example21 objective;
  zo::RunBatch batch;
  FusedBatch(std::size_t d, std::vector<zo::RunSpec> runs, const float* x0, zo::Backend backend,
             unsigned group = 0)
      : objective(d), batch(objective, std::move(runs), x0, options(backend, group)) {}
  static zo::BatchOptions options(zo::Backend backend, unsigned group) {
    zo::BatchOptions o;
    o.backend = backend;
    o.engine = zo::Engine::fused;
    o.on_non_finite = zo::NonFinitePolicy::mark_diverged;
    o.gpu_group = group;
    return o;
  }
};

struct Trajectory {
  std::vector<float> x;
  std::vector<double> metrics;  // [logged i][run k][3]
  std::vector<zo::RunStatus> status;
};

inline Trajectory run_fused(std::size_t d, const std::vector<zo::RunSpec>& runs,
                            const std::vector<float>& x0, std::uint64_t steps,
                            const std::vector<std::uint64_t>& log_its, zo::Backend backend,
                            unsigned group = 0) {
  FusedBatch fused(d, runs, x0.data(), backend, group);
  zo::RunBatch& batch = fused.batch;
  Trajectory t;
  t.metrics.assign(log_its.size() * runs.size() * 3, 0.0);
  batch.run(steps, log_its, t.metrics.data());
  t.x.resize(runs.size() * 2 * d);
  batch.copy_points(t.x.data());
  t.status = batch.statuses();
  return t;
}

/// The oracle: RunBatch on the CPU, measured with Example21 at the same iterations.
inline Trajectory run_reference(std::size_t d, const std::vector<zo::RunSpec>& runs,
                                const std::vector<float>& x0, std::uint64_t steps,
                                const std::vector<std::uint64_t>& log_its) {
  const zo::Example21 objective(d);
  zo::BatchOptions options;
  options.backend = zo::Backend::cpu;
  options.engine = zo::Engine::generic;
  options.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  zo::RunBatch batch(objective, runs, x0.data(), options);
  const std::size_t K = runs.size();
  Trajectory t;
  t.metrics.assign(log_its.size() * K * 3, 0.0);
  std::vector<double> loss(K), trace(K), b(K);
  for (std::size_t i = 0; i < log_its.size(); ++i) {
    batch.run(log_its[i] - batch.next_step());
    batch.measure(loss.data(), trace.data(), b.data());
    for (std::size_t k = 0; k < K; ++k) {
      t.metrics[(i * K + k) * 3 + 0] = loss[k];
      t.metrics[(i * K + k) * 3 + 1] = trace[k];
      t.metrics[(i * K + k) * 3 + 2] = b[k];
    }
  }
  batch.run(steps - batch.next_step());
  t.x.resize(K * 2 * d);
  batch.copy_points(t.x.data());
  t.status = batch.statuses();
  return t;
}

inline void expect_bit_identical(const Trajectory& a, const Trajectory& b) {
  ASSERT_EQ(a.x.size(), b.x.size());
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  EXPECT_EQ(0, std::memcmp(a.x.data(), b.x.data(), a.x.size() * sizeof(float)));
  for (std::size_t i = 0; i < a.metrics.size(); ++i) {
    if (std::isnan(a.metrics[i]) && std::isnan(b.metrics[i])) continue;
    ASSERT_EQ(a.metrics[i], b.metrics[i]) << "metric entry " << i;
  }
  ASSERT_EQ(a.status.size(), b.status.size());
  for (std::size_t k = 0; k < a.status.size(); ++k) {
    EXPECT_EQ(a.status[k].diverged, b.status[k].diverged) << "run " << k;
    EXPECT_EQ(a.status[k].diverged_at, b.status[k].diverged_at) << "run " << k;
  }
}

inline void expect_close(const Trajectory& fused, const Trajectory& ref) {
  EXPECT_TRUE(zo_test::AllClose(fused.x.data(), ref.x.data(), fused.x.size(), kRtol, kAtol));
  // The loss (s − 1)²/2 is compared through its own scale: near a minimiser it is tiny and its
  // relative error is that of s − 1, so an absolute floor is the meaningful bound.
  EXPECT_TRUE(zo_test::AllClose(fused.metrics.data(), ref.metrics.data(), fused.metrics.size(),
                                kRtol, kAtol));
  for (std::size_t k = 0; k < fused.status.size(); ++k) {
    EXPECT_EQ(fused.status[k].diverged, ref.status[k].diverged) << "run " << k;
    EXPECT_EQ(fused.status[k].diverged_at, ref.status[k].diverged_at) << "run " << k;
  }
}

inline const std::vector<std::uint64_t> kLogIts = {0, 1, 2, 7, 50, 123, 300};

/// Three healthy runs around two that blow up (η far too large): the blown-up runs are frozen
/// at the step RunBatch's mark_diverged reports, the others are untouched.
inline std::vector<zo::RunSpec> runs_with_divergence() {
  auto runs = mixed_runs(5);
  runs[1].method = zo::Method::gd;
  runs[1].eta = 50.0f;
  runs[3].method = zo::Method::zo_limit;  // (ZO with a huge η stalls instead: x ± λu rounds to x)
  runs[3].eta = 50.0f;
  return runs;
}

}  // namespace fused_test

// zo::mpi under mpirun (label mpi; run with -np 1, 2 and 4): data-parallel ZO with RunBatch,
// minimize() and GD is bit-identical for any number of ranks (the reference is the same chunked
// objective on MPI_COMM_SELF, computed by every rank) and agrees with one LinearModel of all rows
// to 1e-9 relative; a rank whose parameters differ is caught; the model-parallel Stepper
// (columns split over the ranks with coordinate_offset) equals the single-process Stepper bit for
// bit; the cost-based plan of a sharded sweep.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <vector>

#include "zo/classification_data.hpp"
#include "zo/linear_model.hpp"
#include "zo/mpi.hpp"
#include "zo/run_batch.hpp"
#include "zo/stepper.hpp"

namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

/// A small dense problem (awkward sizes: 203 train rows, 97 test rows, 23 features).
const zo::TrainTestSplit& data() {
  static const zo::TrainTestSplit split = [] {
    zo::SyntheticSpec spec;
    spec.train_rows = 203;
    spec.test_rows = 97;
    spec.features = 23;
    spec.seed = 5;
    return zo::make_synthetic_classification(spec);
  }();
  return split;
}

constexpr std::size_t kChunks = 16;

std::vector<zo::RunSpec> zo_runs() {
  std::vector<zo::RunSpec> runs(2);
  runs[0].method = zo::Method::zo;
  runs[0].lambda = 0.05f;
  runs[0].eta = 0.05f;
  runs[0].q = 2;
  runs[0].seed = 11;
  runs[1] = runs[0];
  runs[1].method = zo::Method::gd;
  runs[1].lambda = 0.0f;
  runs[1].q = 1;
  runs[1].eta = 0.2f;
  return runs;
}

struct Trajectory {
  std::vector<float> x;
  std::vector<double> loss, trace, metrics;
};

Trajectory run_batch(const zo::Objective& objective, std::uint64_t steps,
                     zo::Engine engine = zo::Engine::automatic) {
  const auto runs = zo_runs();
  std::vector<float> x0(runs.size() * objective.dim());
  zo::gaussian_fill(3, 0, x0.data(), x0.size());
  zo::BatchOptions options;
  options.backend = zo::Backend::cpu;
  options.engine = engine;
  zo::RunBatch batch(objective, runs, x0.data(), options);
  batch.run(steps);
  Trajectory t;
  t.x.resize(x0.size());
  batch.copy_points(t.x.data());
  t.loss.resize(runs.size());
  t.trace.resize(runs.size());
  t.metrics.resize(runs.size() * objective.metric_names().size());
  batch.measure(t.loss.data(), t.trace.data(), t.metrics.data());
  return t;
}

std::shared_ptr<zo::mpi::DataParallelObjective> model(MPI_Comm comm) {
  return zo::mpi::make_data_parallel_linear_model(zo::LinearLoss::logistic, data().train,
                                                  &data().test, kChunks, comm,
                                                  zo::LinearModelOptions{zo::Backend::cpu});
}

/// `steps` two-point ZO steps of `s` (perturb, flip, update) with the loss `f`.
template <class F>
void mezo_steps(zo::Stepper& s, const F& f, int steps) {
  for (int t = 0; t < steps; ++t) {
    s.perturb();
    const double fp = f();
    s.flip();
    const double fm = f();
    s.update(fp, fm);
  }
}

double relative(double a, double b) {
  return a == b ? 0.0 : std::fabs(a - b) / std::max(std::fabs(a), std::fabs(b));
}

TEST(DataParallel, RunBatchIsBitIdenticalForAnyNumberOfRanks) {
  const auto distributed = model(MPI_COMM_WORLD);
  const auto alone = model(MPI_COMM_SELF);  // every chunk on this rank: the 1-rank result
  const Trajectory a = run_batch(*distributed, 300);
  const Trajectory b = run_batch(*alone, 300);
  ASSERT_EQ(a.x.size(), b.x.size());
  EXPECT_EQ(0, std::memcmp(a.x.data(), b.x.data(), a.x.size() * sizeof(float)));
  for (std::size_t k = 0; k < a.loss.size(); ++k) {
    EXPECT_EQ(a.loss[k], b.loss[k]);
    EXPECT_EQ(a.trace[k], b.trace[k]);
  }
  for (std::size_t i = 0; i < a.metrics.size(); ++i) EXPECT_EQ(a.metrics[i], b.metrics[i]);
  // Communication: values of 2·q points per ZO run per step, not d-vectors (GD sends those).
  EXPECT_GT(distributed->exchanges(), 300u);
}

TEST(DataParallel, AgreesWithOneLinearModelToRounding) {
  const auto distributed = model(MPI_COMM_WORLD);
  const zo::LinearModel plain(zo::LinearLoss::logistic,
                              std::make_shared<const zo::BinaryDataset>(data().train),
                              std::make_shared<const zo::BinaryDataset>(data().test),
                              zo::LinearModelOptions{zo::Backend::cpu});
  const Trajectory a = run_batch(*distributed, 300);
  // The generic engine, like the data-parallel objective's: what differs is only the order of
  // the sums (automatic would pick the margins engine for a LinearModel, whose incremental
  // margins have their own drift bound: docs/linear-models.md).
  const Trajectory b = run_batch(plain, 300, zo::Engine::generic);
  // ZO (run 0) exchanges double values: only the order of the double sums differs, 1e-9. GD
  // (run 1) adds per-chunk gradients that LinearModel returns in float (each rounded to 2^-24
  // relative) over 300 steps: measured 2.3e-8, bound 1e-6.
  const std::size_t M = distributed->metric_names().size();
  for (std::size_t k = 0; k < a.loss.size(); ++k) {
    const double tol = k == 0 ? 1e-9 : 1e-6;
    EXPECT_LE(relative(a.loss[k], b.loss[k]), tol) << "run " << k;
    EXPECT_LE(relative(a.trace[k], b.trace[k]), tol) << "run " << k;
    for (std::size_t m = 0; m < M; ++m)
      EXPECT_LE(relative(a.metrics[k * M + m], b.metrics[k * M + m]), tol)
          << "run " << k << " metric " << m;
  }
}

TEST(DataParallel, PerRankCombineSendsOneValuePerPointAndAgreesToRounding) {
  const auto by_rank = model(MPI_COMM_WORLD);
  by_rank->set_combine(zo::mpi::DataParallelObjective::Combine::per_rank);
  by_rank->set_replica_check(0);
  const auto again = model(MPI_COMM_WORLD);
  again->set_combine(zo::mpi::DataParallelObjective::Combine::per_rank);
  again->set_replica_check(0);
  const auto alone = model(MPI_COMM_SELF);
  const Trajectory a = run_batch(*by_rank, 300);
  const Trajectory b = run_batch(*again, 300);
  const Trajectory c = run_batch(*alone, 300);
  EXPECT_EQ(0, std::memcmp(a.x.data(), b.x.data(), a.x.size() * sizeof(float)));  // run to run
  const std::size_t M = by_rank->metric_names().size();
  for (std::size_t k = 0; k < a.loss.size(); ++k) {
    const double tol = k == 0 ? 1e-9 : 1e-6;  // as AgreesWithOneLinearModelToRounding
    EXPECT_LE(relative(a.loss[k], c.loss[k]), tol) << "run " << k;
    for (std::size_t m = 0; m < M; ++m)
      EXPECT_LE(relative(a.metrics[k * M + m], c.metrics[k * M + m]), tol) << "run " << k;
  }
  // One f value (8 bytes) per evaluated point, whatever the number of chunks this rank holds.
  const std::vector<float> x(2 * by_rank->dim(), 0.25f);
  const std::uint64_t before = by_rank->bytes_sent();
  std::vector<double> values(2);
  by_rank->evaluate(zo::PointBatch{x.data(), 2, by_rank->dim(), by_rank->dim()}, values.data());
  EXPECT_EQ(by_rank->bytes_sent() - before, 16u);
}

TEST(DataParallel, MinimizeIsBitIdenticalForAnyNumberOfRanks) {
  const auto distributed = model(MPI_COMM_WORLD);
  const auto alone = model(MPI_COMM_SELF);
  zo::RunSpec spec = zo_runs()[0];
  std::vector<float> x(distributed->dim()), y(distributed->dim());
  zo::gaussian_fill(4, 0, x.data(), x.size());
  y = x;
  zo::BatchOptions options;
  options.backend = zo::Backend::cpu;
  const double fa = zo::minimize(*distributed, x.data(), spec, 200, options);
  const double fb = zo::minimize(*alone, y.data(), spec, 200, options);
  EXPECT_EQ(fa, fb);
  EXPECT_EQ(0, std::memcmp(x.data(), y.data(), x.size() * sizeof(float)));
}

TEST(DataParallel, DivergedReplicasAreReported) {
  if (world_size() < 2) GTEST_SKIP() << "needs at least 2 ranks";
  std::vector<float> x(10, 1.0f);
  if (world_rank() == world_size() - 1) x[7] = 1.5f;  // one rank's copy differs
  EXPECT_THROW(zo::mpi::check_replicas(x.data(), x.size(), MPI_COMM_WORLD, "step 3"),
               zo::mpi::MpiError);
  x[7] = 1.0f;
  EXPECT_NO_THROW(zo::mpi::check_replicas(x.data(), x.size(), MPI_COMM_WORLD, "step 4"));

  // The objective's own periodic check: a rank evaluating other points is caught.
  const auto f = model(MPI_COMM_WORLD);
  f->set_replica_check(1);
  std::vector<float> point(f->dim(), 0.5f);
  double value = 0;
  EXPECT_NO_THROW(f->evaluate(zo::PointBatch{point.data(), 1, f->dim(), f->dim()}, &value));
  if (world_rank() == 0) point[f->dim() - 1] = -0.5f;
  EXPECT_THROW(f->evaluate(zo::PointBatch{point.data(), 1, f->dim(), f->dim()}, &value),
               zo::mpi::MpiError);
}

// ---------------------------------------------------------------------------------------------
// Model-parallel Stepper: the columns of a linear model split over the ranks.

constexpr std::size_t kBlocks = 8;  // column blocks; each rank owns a contiguous run of them

std::size_t block_begin(std::size_t b, std::size_t d) { return b * d / kBlocks; }

/// Mean logistic loss of the rows of `a` (dense rows × d) at x, from per-block partial margins
/// added in block order: partial[b][i] = Σ_{j in block b} a_ij x_j. `gather` turns this rank's
/// blocks into all blocks (identity in one process).
template <typename Gather>
double logistic_loss(const zo::DenseMatrix& a, const std::vector<float>& labels,
                     const std::vector<std::size_t>& blocks, const float* x_shard,
                     std::size_t shard_begin, Gather gather) {
  const std::size_t d = a.cols, n = a.rows;
  std::vector<double> partial(blocks.size() * n, 0.0);
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const std::size_t b = blocks[k];
    for (std::size_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (std::size_t j = block_begin(b, d); j < block_begin(b + 1, d); ++j)
        s += static_cast<double>(a.row(i)[j]) * static_cast<double>(x_shard[j - shard_begin]);
      partial[k * n + i] = s;
    }
  }
  const std::vector<double> all = gather(partial);  // kBlocks × n, block order
  double loss = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    double margin = 0.0;
    for (std::size_t b = 0; b < kBlocks; ++b) margin += all[b * n + i];
    loss += std::log1p(std::exp(-static_cast<double>(labels[i]) * margin));
  }
  return loss / static_cast<double>(n);
}

TEST(ModelParallel, StepperWithColumnShardsEqualsOneProcess) {
  const zo::DenseMatrix a = zo::to_dense(std::get<zo::CsrMatrix>(data().train.features));
  const std::size_t d = a.cols;
  const int size = world_size(), rank = world_rank();
  if (static_cast<std::size_t>(size) > kBlocks) GTEST_SKIP() << "more ranks than column blocks";
  std::vector<float> x0(d);
  zo::gaussian_fill(9, 0, x0.data(), d);
  zo::StepperOptions options;
  options.lambda = 0.01f;
  options.eta = 0.05f;
  options.seed = 21;
  options.backend = zo::Backend::cpu;

  // One process: every block, the whole vector.
  std::vector<std::size_t> all_blocks(kBlocks);
  std::iota(all_blocks.begin(), all_blocks.end(), std::size_t{0});
  std::vector<float> full = x0;
  {
    zo::Stepper s({zo::ParamTensor{full.data(), d}}, options);
    const auto f = [&] {
      return logistic_loss(a, data().train.labels, all_blocks, full.data(), 0,
                           [](const std::vector<double>& p) { return p; });
    };
    mezo_steps(s, f, 60);
  }

  // This rank's blocks and its shard [begin, end) of the parameters.
  std::vector<std::size_t> mine;
  std::vector<int> counts(static_cast<std::size_t>(size), 0);
  for (std::size_t b = 0; b < kBlocks; ++b) {
    const int owner = zo::mpi::chunk_owner(b, kBlocks, size);
    ++counts[static_cast<std::size_t>(owner)];
    if (owner == rank) mine.push_back(b);
  }
  const std::size_t begin = block_begin(mine.front(), d), end = block_begin(mine.back() + 1, d);
  std::vector<float> shard(x0.begin() + static_cast<std::ptrdiff_t>(begin),
                           x0.begin() + static_cast<std::ptrdiff_t>(end));
  zo::StepperOptions sharded = options;
  sharded.coordinate_offset = begin;
  zo::Stepper s({zo::ParamTensor{shard.data(), shard.size()}}, sharded);
  const std::size_t n = a.rows;
  const auto gather = [&](const std::vector<double>& partial) {
    std::vector<int> c(counts.size()), off(counts.size());
    int total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
      c[r] = counts[r] * static_cast<int>(n);
      off[r] = total;
      total += c[r];
    }
    std::vector<double> all(static_cast<std::size_t>(total));
    MPI_Allgatherv(partial.data(), static_cast<int>(partial.size()), MPI_DOUBLE, all.data(),
                   c.data(), off.data(), MPI_DOUBLE, MPI_COMM_WORLD);
    return all;  // ranks own contiguous, increasing blocks: already in block order
  };
  const auto f = [&] {
    return logistic_loss(a, data().train.labels, mine, shard.data(), begin, gather);
  };
  mezo_steps(s, f, 60);
  EXPECT_EQ(0, std::memcmp(shard.data(), full.data() + begin, shard.size() * sizeof(float)))
      << "rank " << rank << " shard [" << begin << ", " << end << ")";
  EXPECT_NE(0, std::memcmp(full.data(), x0.data(), d * sizeof(float)));  // it moved
}

// ---------------------------------------------------------------------------------------------
// The plan of a sharded sweep.

TEST(ShardPlan, LongestFirstOntoTheLeastLoadedRank) {
  const std::vector<double> cost = {5, 1, 4, 3, 3, 2};
  const std::vector<bool> todo = {true, true, true, true, true, false};
  const auto owner = zo::mpi::assign_configs(cost, todo, 2);
  // 5 → r0, 4 → r1, 3 → r1 (4 < 5), 3 → r0 (5 < 7), 1 → r1 (7 < 8); the 2 is done already.
  EXPECT_EQ(owner, (std::vector<int>{0, 1, 1, 1, 0, -1}));
  std::vector<double> load(2, 0.0);
  for (std::size_t c = 0; c < cost.size(); ++c)
    if (owner[c] >= 0) load[static_cast<std::size_t>(owner[c])] += cost[c];
  EXPECT_EQ(load[0] + load[1], 16.0);
  EXPECT_LE(std::fabs(load[0] - load[1]), 5.0);  // within the largest job
  EXPECT_EQ(zo::mpi::assign_configs(cost, todo, 1), (std::vector<int>{0, 0, 0, 0, 0, -1}));
}

TEST(ShardPlan, CostGrowsWithStepsDimAndDirections) {
  zo::SweepConfig zo1, zo4, gd;
  zo1.q = 1;
  zo4.q = 4;
  gd.method = zo::Method::gd;
  EXPECT_EQ(zo::mpi::config_cost(zo4, 100, 10, 3), 4 * zo::mpi::config_cost(zo1, 100, 10, 3));
  EXPECT_EQ(zo::mpi::config_cost(zo1, 200, 10, 3), 2 * zo::mpi::config_cost(zo1, 100, 10, 3));
  EXPECT_EQ(zo::mpi::config_cost(gd, 100, 10, 3), zo::mpi::config_cost(zo1, 100, 10, 3));
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  zo::mpi::Session session(&argc, &argv);
  // Only rank 0 prints (the others' failures still fail the test through their exit code).
  if (session.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return failed;
}

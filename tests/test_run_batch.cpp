// RunBatch on the CPU: validation, determinism, resumption, batch independence, and the
// non-finite policy.
#include <gtest/gtest.h>
#include <omp.h>

#include <cstring>
#include <vector>

#include "test_objectives.hpp"
#include "tolerance.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

zo::BatchOptions cpu() {
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  return o;
}

std::vector<zo::RunSpec> mixed_runs() {
  std::vector<zo::RunSpec> runs;
  zo::RunSpec s;
  s.seed = 11;
  s.eta = 1e-3f;
  s.lambda = 0.1f;
  runs.push_back(s);
  s.q = 3;
  s.distribution = zo::Distribution::sphere;
  runs.push_back(s);
  s.q = 2;
  s.distribution = zo::Distribution::rademacher;
  s.method = zo::Method::zo_limit;
  runs.push_back(s);
  s.method = zo::Method::gd;
  s.eta = 1e-2f;
  runs.push_back(s);
  return runs;
}

std::vector<float> initial(std::size_t runs, std::size_t dim, std::uint64_t seed) {
  std::vector<float> x(runs * dim);
  zo::gaussian_fill(seed, 0, x.data(), x.size());
  return x;
}

std::vector<float> trajectory_end(const zo::Objective& f, const std::vector<zo::RunSpec>& runs,
                                  const std::vector<float>& x0, std::uint64_t steps,
                                  zo::BatchOptions options = cpu()) {
  zo::RunBatch batch(f, runs, x0.data(), options);
  batch.run(steps);
  std::vector<float> x(x0.size());
  batch.copy_points(x.data());
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(RunBatchValidation, RejectsBadHyperParameters) {
  const zo::Example21 f(3);
  const auto x0 = initial(1, 6, 0);
  auto make = [&](zo::RunSpec s) { zo::RunBatch b(f, {s}, x0.data(), cpu()); };
  zo::RunSpec s;
  s.lambda = 0.0f;
  EXPECT_THROW(make(s), zo::InvalidArgument);
  s.lambda = -0.1f;
  EXPECT_THROW(make(s), zo::InvalidArgument);
  s.lambda = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(make(s), zo::InvalidArgument);
  s = zo::RunSpec{};
  s.eta = 0.0f;
  EXPECT_THROW(make(s), zo::InvalidArgument);
  s.eta = std::numeric_limits<float>::infinity();
  EXPECT_THROW(make(s), zo::InvalidArgument);
  s = zo::RunSpec{};
  s.q = 0;
  EXPECT_THROW(make(s), zo::InvalidArgument);
  EXPECT_THROW(zo::RunBatch(f, {}, x0.data(), cpu()), zo::InvalidArgument);
  EXPECT_THROW(zo::parse_method("sgd"), zo::InvalidArgument);
  EXPECT_THROW(zo::parse_distribution("cauchy"), zo::InvalidArgument);
  EXPECT_THROW(zo::parse_backend("tpu"), zo::InvalidArgument);
  try {
    s = zo::RunSpec{};
    s.lambda = -1.0f;
    make(s);
    FAIL() << "no exception";
  } catch (const zo::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("lambda"), std::string::npos) << e.what();
  }
}

TEST(RunBatchValidation, GradientMethodsNeedAGradient) {
  const zo_test::Quartic f(4);  // values only
  const auto x0 = initial(1, 4, 0);
  zo::RunSpec s;
  s.method = zo::Method::gd;
  EXPECT_THROW(zo::RunBatch(f, {s}, x0.data(), cpu()), zo::NotSupported);
  s.method = zo::Method::zo_limit;
  EXPECT_THROW(zo::RunBatch(f, {s}, x0.data(), cpu()), zo::NotSupported);
}

TEST(RunBatchDeterminism, SameSeedSameBitsForAnyThreadCount) {
  const zo::Example21 f(37);
  const auto runs = mixed_runs();
  const auto x0 = initial(runs.size(), f.dim(), 3);
  const int saved = omp_get_max_threads();
  std::vector<std::vector<float>> ends;
  for (int threads : {1, 2, 3, 1}) {
    omp_set_num_threads(threads);
    ends.push_back(trajectory_end(f, runs, x0, 300));
  }
  omp_set_num_threads(saved);
  for (std::size_t i = 1; i < ends.size(); ++i) EXPECT_TRUE(same_bits(ends[0], ends[i])) << i;
  EXPECT_FALSE(same_bits(ends[0], x0));  // it did move
}

TEST(RunBatchDeterminism, ResumingFromXSeedAndStepIsBitIdentical) {
  const zo::Example21 f(20);
  const auto runs = mixed_runs();
  const auto x0 = initial(runs.size(), f.dim(), 4);
  const auto full = trajectory_end(f, runs, x0, 200);

  const auto half = trajectory_end(f, runs, x0, 120);
  zo::BatchOptions resume = cpu();
  resume.start_step = 120;
  EXPECT_TRUE(same_bits(full, trajectory_end(f, runs, half, 80, resume)));

  // The same through restore() on an existing batch.
  zo::RunBatch batch(f, runs, x0.data(), cpu());
  batch.run(5);
  batch.restore(half.data(), 120, std::vector<zo::RunStatus>(runs.size()));
  batch.run(80);
  std::vector<float> x(x0.size());
  batch.copy_points(x.data());
  EXPECT_TRUE(same_bits(full, x));
}

TEST(RunBatchDeterminism, ARunDoesNotDependOnItsBatchmates) {
  const zo::Example21 f(15);
  const auto runs = mixed_runs();
  const auto x0 = initial(runs.size(), f.dim(), 5);
  const auto together = trajectory_end(f, runs, x0, 150);
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const std::vector<float> xk(x0.begin() + k * f.dim(), x0.begin() + (k + 1) * f.dim());
    const auto alone = trajectory_end(f, {runs[k]}, xk, 150);
    EXPECT_EQ(std::memcmp(alone.data(), &together[k * f.dim()], f.dim() * sizeof(float)), 0)
        << "run " << k;
  }
}

TEST(RunBatchDeterminism, MinimizeEqualsAOneRunBatch) {
  const zo::Example21 f(10);
  zo::RunSpec s;
  s.seed = 9;
  auto x = initial(1, f.dim(), 9);
  const auto ref = trajectory_end(f, {s}, x, 50);
  const double loss = zo::minimize(f, x.data(), s, 50, cpu());
  EXPECT_TRUE(same_bits(ref, x));
  EXPECT_EQ(loss, zo::evaluate_one(f, x.data()));
}

// The non-finite policy. Three ZO runs; run 1 starts in a region (x[0] > 50) where the 6th
// evaluation call (step 5) returns NaN.
class NonFinite : public ::testing::Test {
 protected:
  NonFinite() : f(std::vector<double>(5, 1.0), std::vector<double>(5, 0.5)) {
    zo::RunSpec s;
    s.lambda = 0.05f;
    s.eta = 0.01f;
    for (std::uint64_t seed : {1, 2, 3}) {
      s.seed = seed;
      runs.push_back(s);
    }
    x0 = initial(3, 5, 8);
    x0[5] = 100.0f;  // run 1, coordinate 0
  }
  std::vector<float> reference(std::uint64_t steps) const {
    return trajectory_end(f, runs, x0, steps);
  }
  zo_test::Quadratic f;
  std::vector<zo::RunSpec> runs;
  std::vector<float> x0;
};

TEST_F(NonFinite, ErrorPolicyThrowsWithStepAndRunAndKeepsTheLastCompletedStep) {
  const zo_test::Poisoned g(f, 5, 50.0f);
  zo::RunBatch batch(g, runs, x0.data(), cpu());
  try {
    batch.run(10);
    FAIL() << "no exception";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 5u);
    EXPECT_EQ(e.run(), 1);
    EXPECT_NE(std::string(e.what()).find("step 5"), std::string::npos) << e.what();
  }
  EXPECT_EQ(batch.next_step(), 5u);
  std::vector<float> x(x0.size());
  batch.copy_points(x.data());
  EXPECT_TRUE(same_bits(x, reference(5)));  // no run advanced past step 4
}

TEST_F(NonFinite, SkipPolicySkipsOnlyThatRunForThatStep) {
  const zo_test::Poisoned g(f, 5, 50.0f);
  zo::BatchOptions o = cpu();
  o.on_non_finite = zo::NonFinitePolicy::skip;
  zo::RunBatch batch(g, runs, x0.data(), o);
  batch.run(6);
  std::vector<float> x(x0.size());
  batch.copy_points(x.data());
  const auto ref5 = reference(5), ref6 = reference(6);
  EXPECT_EQ(std::memcmp(&x[5], &ref5[5], 5 * sizeof(float)), 0);  // run 1 kept step-5 state
  EXPECT_EQ(std::memcmp(&x[0], &ref6[0], 5 * sizeof(float)), 0);  // others advanced
  EXPECT_EQ(std::memcmp(&x[10], &ref6[10], 5 * sizeof(float)), 0);
  EXPECT_EQ(batch.statuses()[1].skipped_steps, 1u);
  EXPECT_FALSE(batch.statuses()[1].diverged);
}

TEST_F(NonFinite, MarkDivergedFreezesTheRunAndOthersContinueUntouched) {
  const zo_test::Poisoned g(f, 5, 50.0f);
  zo::BatchOptions o = cpu();
  o.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  zo::RunBatch batch(g, runs, x0.data(), o);
  batch.run(20);
  std::vector<float> x(x0.size());
  batch.copy_points(x.data());
  const auto ref5 = reference(5), ref20 = reference(20);
  EXPECT_EQ(std::memcmp(&x[5], &ref5[5], 5 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(&x[0], &ref20[0], 5 * sizeof(float)), 0);
  EXPECT_EQ(std::memcmp(&x[10], &ref20[10], 5 * sizeof(float)), 0);
  EXPECT_TRUE(batch.statuses()[1].diverged);
  EXPECT_EQ(batch.statuses()[1].diverged_at, 5u);
  EXPECT_FALSE(batch.statuses()[0].diverged);
}

TEST_F(NonFinite, AnObjectiveThatThrowsIsReportedWithTheStep) {
  const zo_test::Poisoned g(f, 3, 50.0f, /*throw_instead=*/true);
  zo::RunBatch batch(g, runs, x0.data(), cpu());
  try {
    batch.run(10);
    FAIL() << "no exception";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 3u);
    EXPECT_NE(std::string(e.what()).find("simulated failure"), std::string::npos) << e.what();
  }
  EXPECT_EQ(batch.next_step(), 3u);
  std::vector<float> x(x0.size());
  batch.copy_points(x.data());
  EXPECT_TRUE(same_bits(x, reference(3)));
}

TEST(RunBatchSteps, StepIndexIsLimitedTo32Bits) {
  const zo::Example21 f(2);
  const auto x0 = initial(1, 4, 0);
  zo::BatchOptions o = cpu();
  o.start_step = zo::kMaxStep;
  zo::RunBatch batch(f, {zo::RunSpec{}}, x0.data(), o);
  EXPECT_THROW(batch.run(2), zo::InvalidArgument);
  o.start_step = zo::kMaxStep + 1;
  EXPECT_THROW(zo::RunBatch(f, {zo::RunSpec{}}, x0.data(), o), zo::InvalidArgument);
}

}  // namespace

// Engine selection follows the structure the objective declares, the runs and the options.
TEST(RunBatchEngines, SelectionFollowsTheObjectiveTheRunsAndThePolicy) {
  const zo::Example21 example(10);
  const zo_test::Quadratic black_box(std::vector<double>(20, 1.0), std::vector<double>(20, 0.0));
  std::vector<zo::RunSpec> runs(2);
  runs[1].method = zo::Method::gd;
  zo::BatchOptions o = cpu();
  o.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  EXPECT_EQ(zo::select_engine(example, runs, o), zo::Engine::fused);
  EXPECT_EQ(zo::select_engine(black_box, runs, o), zo::Engine::generic);
  o.on_non_finite = zo::NonFinitePolicy::error;  // the fused engine only marks runs diverged
  EXPECT_EQ(zo::select_engine(example, runs, o), zo::Engine::generic);
  o.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  runs[0].distribution = zo::Distribution::sphere;
  EXPECT_EQ(zo::select_engine(example, runs, o), zo::Engine::generic);

  // A forced engine that cannot run the batch says why.
  o.engine = zo::Engine::fused;
  try {
    zo::select_engine(example, runs, o);
    FAIL() << "no InvalidArgument";
  } catch (const zo::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sphere"), std::string::npos) << e.what();
  }
  o.engine = zo::Engine::margins;
  EXPECT_THROW(zo::select_engine(example, runs, o), zo::InvalidArgument);
  o.engine = zo::Engine::generic;
  EXPECT_EQ(zo::select_engine(example, runs, o), zo::Engine::generic);

  // RunBatch reports the engine it built.
  runs[0].distribution = zo::Distribution::gaussian;
  const std::vector<float> x0(2 * example.dim(), 0.5f);
  o.engine = zo::Engine::automatic;
  EXPECT_EQ(zo::RunBatch(example, runs, x0.data(), o).engine(), zo::Engine::fused);
  o.engine = zo::Engine::generic;
  EXPECT_EQ(zo::RunBatch(example, runs, x0.data(), o).engine(), zo::Engine::generic);
  EXPECT_EQ(zo::parse_engine("batched"), zo::Engine::generic);
  EXPECT_THROW(zo::parse_engine("warp"), zo::InvalidArgument);
}

// run(steps, log_iterations, values) records what measure() reports at those iterations.
TEST(RunBatchEngines, LoggedValuesEqualMeasureAtTheLoggedIterations) {
  const zo::Example21 f(6);
  const auto runs = mixed_runs();
  std::vector<float> x0(runs.size() * f.dim());
  for (std::size_t k = 0; k < runs.size(); ++k) zo::gaussian_fill(k, 0, &x0[k * f.dim()], f.dim());
  zo::RunBatch logged(f, runs, x0.data(), cpu()), manual(f, runs, x0.data(), cpu());
  const std::vector<std::uint64_t> its = {0, 3, 17, 40};
  const std::size_t K = runs.size(), W = 3;  // loss, trace, B
  std::vector<double> values(its.size() * K * W, -1.0);
  logged.run(50, its, values.data());
  EXPECT_EQ(logged.next_step(), 50u);
  std::vector<double> loss(K), trace(K), b(K);
  for (std::size_t i = 0; i < its.size(); ++i) {
    manual.run(its[i] - manual.next_step());
    manual.measure(loss.data(), trace.data(), b.data());
    for (std::size_t k = 0; k < K; ++k) {
      EXPECT_EQ(values[(i * K + k) * W + 0], loss[k]);
      EXPECT_EQ(values[(i * K + k) * W + 1], trace[k]);
      EXPECT_EQ(values[(i * K + k) * W + 2], b[k]);
    }
  }
  EXPECT_THROW(logged.run(5, {49}, values.data()), zo::InvalidArgument);  // before next_step
}

// minimize() reports a run that left the divergence bound: it throws under the default policy
// and returns the status otherwise; a converging run is not flagged.
TEST(Minimize, ReportsDivergenceAsAStatusOrAnError) {
  const zo::Example21 f(5);
  std::vector<float> x(f.dim());
  zo::gaussian_fill(3, 0, x.data(), x.size());
  const std::vector<float> x0 = x;
  zo::RunSpec spec;
  spec.eta = 1e30f;  // explodes, yet stays finite for a step or two
  spec.lambda = 0.1f;
  try {
    zo::minimize(f, x.data(), spec, 2, cpu());
    FAIL() << "no ObjectiveError";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
  x = x0;
  zo::BatchOptions marking = cpu();
  marking.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  zo::RunStatus status;
  zo::minimize(f, x.data(), spec, 2, marking, &status);
  EXPECT_TRUE(status.diverged);
  x = x0;
  spec.eta = 1e-3f;
  zo::minimize(f, x.data(), spec, 200, marking, &status);
  EXPECT_FALSE(status.diverged);
}

// Any exception from the objective, of any type, becomes zo::ObjectiveError naming the step, and
// the batch stays at the last completed step.
TEST(NonFiniteAndThrowing, AnObjectiveThatThrowsANonStandardTypeIsReported) {
  struct Thrower : zo::Objective {
    std::size_t dim() const override { return 3; }
    void evaluate(const zo::PointBatch&, double*) const override { throw 42; }
  } f;
  const std::vector<float> x0(3, 1.0f);
  zo::RunBatch batch(f, {zo::RunSpec{}}, x0.data(), cpu());
  try {
    batch.run(5);
    FAIL() << "no ObjectiveError";
  } catch (const zo::ObjectiveError& e) {
    EXPECT_EQ(e.step(), 0u);
    EXPECT_NE(std::string(e.what()).find("not a std::exception"), std::string::npos);
  }
  EXPECT_EQ(batch.next_step(), 0u);
}

// Messages are for users: the source location is kept apart from what().
TEST(Errors, MessagesCarryNoSourcePaths) {
  try {
    zo::parse_method("sgd");
    FAIL();
  } catch (const zo::InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()), "unknown method 'sgd' (expected zo, gd or zo0)");
    EXPECT_EQ(e.location().rfind("src/", 0), 0u) << e.location();  // e.g. src/core/x.hpp:50
  }
  const zo::DataError data("train.svm:2:17: bad token");  // a data position stays in the message
  EXPECT_EQ(std::string(data.what()), "train.svm:2:17: bad token");
  EXPECT_TRUE(data.location().empty());
}

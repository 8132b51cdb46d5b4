// zo::Sweep and zo::run_sweep: the grid, batch-size invariance, resume to byte-identical files,
// divergence marking, the summary statistics, both engines, and a user-defined objective.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "sweep_harness.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/sweep.hpp"

namespace {

using namespace sweep_test;

std::vector<std::map<std::string, std::string>> parse_csv(const std::string& text) {
  std::vector<std::map<std::string, std::string>> rows;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> header;
  {
    std::istringstream h(line);
    std::string cell;
    while (std::getline(h, cell, ',')) header.push_back(cell);
  }
  while (std::getline(in, line)) {
    std::map<std::string, std::string> row;
    std::size_t start = 0;
    for (std::size_t c = 0; c < header.size(); ++c) {
      const std::size_t comma = line.find(',', start);
      row[header[c]] =
          line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? line.size() : comma + 1;
    }
    rows.push_back(row);
  }
  return rows;
}

TEST(SweepGrid, ProductWithoutDuplicates) {
  const auto grid = zo::sweep_grid({zo::Method::gd, zo::Method::zo, zo::Method::zo_limit},
                                   {0.1f, 0.01f}, {1e-3f, 1e-2f}, {1, 4});
  // gd: 2 η (λ and q collapse); zo: 2 λ × 2 η × 2 q; zo0: 2 η × 2 q.
  EXPECT_EQ(grid.size(), 2u + 8u + 4u);
  for (const auto& c : grid) {
    if (c.method != zo::Method::zo) EXPECT_EQ(c.lambda, 0.0f);
    if (c.method == zo::Method::gd) EXPECT_EQ(c.q, 1u);
  }
  EXPECT_THROW(zo::sweep_grid({zo::Method::zo}, {}, {1e-3f}, {1}), zo::InvalidArgument);
  EXPECT_THROW(zo::sweep_grid({zo::Method::zo}, {-0.1f}, {1e-3f}, {1}), zo::InvalidArgument);
  EXPECT_THROW(zo::sweep_grid({zo::Method::zo}, {0.1f}, {1e-3f}, {0}), zo::InvalidArgument);
}

TEST(Sweep, RowsInRunThenIterationOrderWithTheDocumentedColumns) {
  const zo::Example21 objective(10);
  const std::string dir = work_dir("columns");
  const Files f = run_to_files(objective, small_spec(), dir, "t");
  const auto rows = parse_csv(f.table);
  // 5 configs × 4 seeds = 20 runs; logged {0, 1, 3, 10, 31, 100} plus the last step 200.
  ASSERT_EQ(rows.size(), 20u * 7u);
  EXPECT_EQ(f.table.substr(0, f.table.find('\n')),
            "run,config,seed,method,lambda,eta,q,distribution,iteration,loss,trace,B,status,"
            "diverged_at");
  EXPECT_EQ(rows[0].at("run"), "0");
  EXPECT_EQ(rows[0].at("method"), "gd");
  EXPECT_EQ(rows[0].at("eta"), "0.01");
  EXPECT_EQ(rows[6].at("iteration"), "200");
  EXPECT_EQ(rows[7].at("run"), "1");
  EXPECT_EQ(rows[7].at("seed"), "1");
  EXPECT_EQ(rows[4 * 7].at("method"), "zo");  // run 4 = config 1 (zo, λ = 0.1), seed 0
  EXPECT_EQ(rows[4 * 7].at("lambda"), "0.1");
  EXPECT_EQ(rows[4 * 7].at("seed"), "0");
  for (const auto& r : rows) EXPECT_EQ(r.at("status"), "ok");
  // Every configuration of a seed starts from the same point: equal metrics at iteration 0.
  EXPECT_EQ(rows[0].at("trace"), rows[4 * 7].at("trace"));
  EXPECT_EQ(rows[0].at("loss"), rows[16 * 7].at("loss"));
}

TEST(Sweep, BatchSizeDoesNotChangeTheFiles) {
  const zo::Example21 objective(10);
  const std::string dir = work_dir("batches");
  for (auto engine : {zo::Engine::fused, zo::Engine::generic}) {
    SCOPED_TRACE(zo::to_string(engine));
    auto spec = small_spec();
    spec.engine = engine;
    spec.batch_size = 0;
    const Files all = run_to_files(objective, spec, dir, "all");
    for (std::size_t b : {1, 3, 7}) {
      spec.batch_size = b;
      const Files part = run_to_files(objective, spec, dir, "b" + std::to_string(b));
      EXPECT_EQ(part.table, all.table) << "batch size " << b;
      EXPECT_EQ(part.summary, all.summary) << "batch size " << b;
    }
  }
}

TEST(Sweep, EnginesAgreeWithinTheDocumentedTolerance) {
  // Fused vs RunBatch differ only in the order of double reductions (see
  // test_fused_example21.cpp for the derivation of 1e-5 relative + 1e-6 absolute).
  const zo::Example21 objective(10);
  const std::string dir = work_dir("engines");
  auto spec = small_spec();
  spec.engine = zo::Engine::fused;
  const auto fused = parse_csv(run_to_files(objective, spec, dir, "fused").table);
  spec.engine = zo::Engine::generic;
  const auto batched = parse_csv(run_to_files(objective, spec, dir, "batched").table);
  ASSERT_EQ(fused.size(), batched.size());
  for (std::size_t i = 0; i < fused.size(); ++i) {
    for (const char* col : {"loss", "trace", "B"}) {
      EXPECT_TRUE(
          zo_test::IsClose(std::stod(fused[i].at(col)), std::stod(batched[i].at(col)), 1e-5, 1e-6))
          << "row " << i << " column " << col;
    }
  }
}

/// Runs the sweep, stopping after `stop_after` run-steps; then resumes (possibly several
/// times) and returns the final files.
Files interrupted_then_resumed(const zo::Objective& objective, const zo::SweepSpec& spec,
                               const std::string& dir, std::vector<std::uint64_t> stops,
                               bool garbage_after_checkpoint) {
  zo::SweepOutput out;
  out.table_path = dir + "/r.csv";
  out.summary_path = dir + "/r_summary.csv";
  out.checkpoint_path = dir + "/r.ckpt";
  out.checkpoint_seconds = 0;
  fs::remove(out.checkpoint_path);
  fs::remove(out.table_path);
  for (std::size_t attempt = 0; attempt <= stops.size(); ++attempt) {
    zo::Sweep sweep(objective, spec);
    out.resume = attempt > 0;
    zo::SweepCallbacks cb;
    cb.max_steps_per_advance = 7;  // several advances per batch, uneven against the log points
    if (attempt < stops.size()) {
      const std::uint64_t stop = stops[attempt];
      cb.should_stop = [stop](const zo::SweepProgress& p) { return p.config_steps_done >= stop; };
      EXPECT_EQ(zo::run_sweep(sweep, out, cb), zo::SweepStatus::interrupted);
      EXPECT_TRUE(fs::exists(out.checkpoint_path));
      EXPECT_FALSE(fs::exists(out.table_path));  // published only when complete
      EXPECT_TRUE(fs::exists(zo::sweep_part_path(out.table_path)));
      if (garbage_after_checkpoint) {  // a crash after the checkpoint left extra rows behind
        std::ofstream(zo::sweep_part_path(out.table_path), std::ios::app) << "999,0,0,zo,garbage\n";
      }
    } else {
      EXPECT_EQ(zo::run_sweep(sweep, out, cb), zo::SweepStatus::completed);
      EXPECT_FALSE(fs::exists(out.checkpoint_path));  // removed on completion
    }
  }
  return {read_file(out.table_path), read_file(out.summary_path)};
}

TEST(Sweep, ResumeGivesByteIdenticalFiles) {
  const zo::Example21 objective(10);
  for (auto engine : {zo::Engine::fused, zo::Engine::generic}) {
    SCOPED_TRACE(zo::to_string(engine));
    const std::string dir = work_dir(std::string("resume_") + zo::to_string(engine));
    auto spec = small_spec();
    spec.engine = engine;
    spec.batch_size = 6;  // 20 runs → batches of 6, 6, 6, 2: stops land mid-batch and between
    const Files reference = run_to_files(objective, spec, dir, "ref");
    // Stops: inside the first batch; right at its end (6 runs × 200 steps); twice in a row.
    for (const auto& stops :
         std::vector<std::vector<std::uint64_t>>{{500}, {1200}, {700, 2500, 3100}, {1}}) {
      for (bool garbage : {false, true}) {
        const Files resumed = interrupted_then_resumed(objective, spec, dir, stops, garbage);
        EXPECT_EQ(resumed.table, reference.table) << "first stop " << stops[0];
        EXPECT_EQ(resumed.summary, reference.summary) << "first stop " << stops[0];
      }
    }
  }
}

TEST(Sweep, CheckpointOfAnotherSweepIsRejected) {
  const zo::Example21 objective(10);
  const std::string dir = work_dir("mismatch");
  auto spec = small_spec();
  zo::SweepOutput out;
  out.table_path = dir + "/m.csv";
  out.checkpoint_path = dir + "/m.ckpt";
  {
    zo::Sweep sweep(objective, spec);
    zo::SweepCallbacks cb;
    cb.should_stop = [](const zo::SweepProgress& p) { return p.config_steps_done > 100; };
    ASSERT_EQ(zo::run_sweep(sweep, out, cb), zo::SweepStatus::interrupted);
  }
  spec.seeds.push_back(9);
  zo::Sweep other(objective, spec);
  out.resume = true;
  EXPECT_THROW(zo::run_sweep(other, out), zo::InvalidArgument);
}

TEST(Sweep, DivergedRunsAreMarkedWithTheirStepAndDoNotPoisonOthers) {
  const zo::Example21 objective(10);
  const std::string dir = work_dir("diverge");
  for (auto engine : {zo::Engine::fused, zo::Engine::generic}) {
    SCOPED_TRACE(zo::to_string(engine));
    auto spec = small_spec();
    spec.engine = engine;
    const Files healthy = run_to_files(objective, spec, dir, "healthy");
    // Append a configuration whose step size makes every seed blow up.
    spec.configs.push_back(zo::sweep_grid({zo::Method::gd}, {}, {50.0f}, {1})[0]);
    const Files mixed = run_to_files(objective, spec, dir, "mixed");
    const auto a = parse_csv(healthy.table);
    const auto b = parse_csv(mixed.table);
    ASSERT_EQ(b.size(), a.size() + 4 * 7);
    // The healthy runs are byte-identical lines (run ids are unchanged: the new config is last).
    EXPECT_EQ(mixed.table.substr(0, healthy.table.size()), healthy.table);
    std::size_t diverged_rows = 0;
    for (std::size_t i = a.size(); i < b.size(); ++i) {
      if (b[i].at("status") != "diverged") continue;
      ++diverged_rows;
      const auto at = std::stoull(b[i].at("diverged_at"));
      EXPECT_LT(at, std::stoull(b[i].at("iteration")));
    }
    EXPECT_GT(diverged_rows, 0u);
    const auto summary = parse_csv(mixed.summary);
    ASSERT_EQ(summary.size(), 6u);
    EXPECT_EQ(summary[5].at("diverged"), "4");
    EXPECT_EQ(summary[5].at("trace_mean"), "nan");  // no surviving seed
    EXPECT_EQ(summary[0].at("diverged"), "0");
  }
}

TEST(Sweep, SummaryIsMeanStandardErrorAndMedianOverSeeds) {
  const zo::Example21 objective(10);
  auto spec = small_spec();
  zo::Sweep sweep(objective, spec);
  while (!sweep.done()) sweep.advance(1000, nullptr);
  const auto rows = zo::summarize(sweep);
  const auto& f = sweep.finals();
  ASSERT_EQ(f.size(), sweep.num_runs());
  for (const auto& r : rows) {
    // Recompute from the final rows with a two-pass formula.
    std::vector<double> trace;
    for (std::size_t i = 0; i < f.size(); ++i)
      if (sweep.config_of(f.run[i]) == r.config) trace.push_back(f.trace[i]);
    ASSERT_EQ(trace.size(), 4u);
    double mean = 0.0;
    for (double t : trace) mean += t / 4.0;
    double ss = 0.0;
    for (double t : trace) ss += (t - mean) * (t - mean);
    std::sort(trace.begin(), trace.end());
    EXPECT_TRUE(zo_test::IsClose(r.trace_mean, mean, 1e-13, 0));
    EXPECT_TRUE(zo_test::IsClose(r.trace_se, std::sqrt(ss / 3.0) / 2.0, 1e-10, 0));
    EXPECT_TRUE(zo_test::IsClose(r.trace_median, 0.5 * (trace[1] + trace[2]), 1e-15, 0));
    EXPECT_EQ(r.seeds, 4u);
    EXPECT_EQ(r.diverged, 0u);
  }
}

/// A user objective through the library API: f(x) = ½ Σ a_i x_i² with a_i = 1 + i (values and
/// gradient only; no exact trace, so the trace column is NaN).
class Quadratic final : public zo::Objective {
 public:
  explicit Quadratic(std::size_t n) : n_(n) {}
  std::size_t dim() const override { return n_; }
  std::string name() const override { return "quadratic"; }
  void evaluate(const zo::PointBatch& points, double* values) const override {
    for (std::size_t p = 0; p < points.count; ++p) {
      const float* x = points.point(p);
      double s = 0.0;
      for (std::size_t i = 0; i < n_; ++i) s += 0.5 * (1.0 + i) * double(x[i]) * double(x[i]);
      values[p] = s;
    }
  }
  bool has_gradient() const override { return true; }
  void gradient(const zo::PointBatch& points, float* grads, std::size_t stride) const override {
    for (std::size_t p = 0; p < points.count; ++p)
      for (std::size_t i = 0; i < n_; ++i)
        grads[p * stride + i] = static_cast<float>((1.0 + i) * points.point(p)[i]);
  }

 private:
  std::size_t n_;
};

TEST(Sweep, UserObjectiveRunsOnTheBatchedEngine) {
  const Quadratic objective(6);
  const std::string dir = work_dir("user");
  zo::SweepSpec spec;
  spec.configs = zo::sweep_grid({zo::Method::gd, zo::Method::zo}, {0.05f}, {0.05f}, {2});
  spec.seeds = {3, 4};
  spec.steps = 300;
  spec.log_iterations = {0, 10, 100};
  spec.backend = zo::Backend::cpu;
  zo::Sweep probe(objective, spec);
  EXPECT_EQ(probe.engine(), zo::Engine::generic);
  spec.engine = zo::Engine::fused;
  EXPECT_THROW(zo::Sweep(objective, spec), zo::InvalidArgument);
  spec.engine = zo::Engine::automatic;
  const auto rows = parse_csv(run_to_files(objective, spec, dir, "q").table);
  ASSERT_EQ(rows.size(), 4u * 4u);
  for (const auto& r : rows) EXPECT_EQ(r.at("trace"), "nan");
  // Both methods minimise the quadratic: the final loss is far below the initial one.
  for (std::size_t run = 0; run < 4; ++run) {
    EXPECT_LT(std::stod(rows[run * 4 + 3].at("loss")), 1e-3 * std::stod(rows[run * 4].at("loss")));
  }
}

TEST(Sweep, EstimatedTraceColumnAndResume) {
  // Hutchinson (Rademacher probes, unbiased) in place of the exact trace: each logged estimate is
  // within 5 of its standard errors of the exact value (two-sided normal tail 6e-7 per
  // comparison; the seed is fixed, so the test is deterministic), and resuming reproduces it.
  const zo::Example21 objective(6);
  const std::string dir = work_dir("estimator");
  auto spec = small_spec();
  spec.engine = zo::Engine::generic;  // the same iterates with and without the estimator
  const auto exact = parse_csv(run_to_files(objective, spec, dir, "exact").table);
  spec.trace_estimator = zo::TraceEstimator::hutchinson;
  spec.trace_probes = 64;
  spec.trace_seed = 7;
  const Files est_files = run_to_files(objective, spec, dir, "est");
  const auto est = parse_csv(est_files.table);
  ASSERT_EQ(est.size(), exact.size());
  EXPECT_NE(est_files.table.find(",B,trace_se,status,"), std::string::npos);
  for (std::size_t i = 0; i < est.size(); ++i) {
    ASSERT_EQ(est[i].at("loss"), exact[i].at("loss"));
    const double e = std::stod(est[i].at("trace")), se = std::stod(est[i].at("trace_se"));
    EXPECT_LE(std::fabs(e - std::stod(exact[i].at("trace"))), 5 * se + 1e-9) << "row " << i;
  }
  spec.batch_size = 6;
  const Files reference = run_to_files(objective, spec, dir, "est6");
  EXPECT_EQ(reference.table, est_files.table);
  const Files resumed = interrupted_then_resumed(objective, spec, dir, {900}, true);
  EXPECT_EQ(resumed.table, reference.table);
  spec.engine = zo::Engine::fused;
  EXPECT_THROW(zo::Sweep(objective, spec), zo::InvalidArgument);
}

TEST(Sweep, InvalidSpecsNameTheProblem) {
  const zo::Example21 objective(4);
  auto spec = small_spec();
  spec.log_iterations = {0, 500};
  EXPECT_THROW(zo::Sweep(objective, spec), zo::InvalidArgument);
  spec = small_spec();
  spec.seeds.clear();
  EXPECT_THROW(zo::Sweep(objective, spec), zo::InvalidArgument);
  spec = small_spec();
  spec.configs.clear();
  EXPECT_THROW(zo::Sweep(objective, spec), zo::InvalidArgument);
  spec = small_spec();
  spec.configs[0].distribution = zo::Distribution::sphere;
  spec.engine = zo::Engine::fused;
  EXPECT_THROW(zo::Sweep(objective, spec), zo::InvalidArgument);
  spec.engine = zo::Engine::automatic;  // falls back to RunBatch, which supports spheres
  EXPECT_EQ(zo::Sweep(objective, spec).engine(), zo::Engine::generic);
}

}  // namespace

// A failed or interrupted run never touches an existing table or summary; an interrupted run
// without a checkpoint leaves its complete rows in the partial table.
TEST(SweepFiles, ExistingOutputsSurviveInterruptionAndTheRowsSoFarAreKept) {
  const zo::Example21 objective(4);
  zo::SweepSpec spec;
  spec.configs = zo::sweep_grid({zo::Method::zo}, {0.1f}, {1e-3f}, {1});
  spec.seeds = {0, 1};
  spec.steps = 200;
  spec.log_iterations = {0, 10, 50, 100};
  spec.backend = zo::Backend::cpu;
  const std::string dir = work_dir("existing");
  zo::SweepOutput out;
  out.table_path = dir + "/t.csv";
  out.summary_path = dir + "/t_summary.csv";
  std::ofstream(out.table_path) << "precious table\n";
  std::ofstream(out.summary_path) << "precious summary\n";
  zo::Sweep sweep(objective, spec);
  zo::SweepCallbacks cb;
  cb.max_steps_per_advance = 1;
  cb.should_stop = [](const zo::SweepProgress& p) { return p.config_steps_done >= 2 * 60; };
  ASSERT_EQ(zo::run_sweep(sweep, out, cb), zo::SweepStatus::interrupted);
  EXPECT_EQ(read_file(out.table_path), "precious table\n");
  EXPECT_EQ(read_file(out.summary_path), "precious summary\n");
  const std::string partial = read_file(zo::sweep_partial_path(out.table_path));
  EXPECT_EQ(zo::sweep_partial_path(out.table_path), dir + "/t.partial.csv");
  // Header + the rows of iterations 0, 10 and 50 for both runs, nothing else.
  EXPECT_EQ(std::count(partial.begin(), partial.end(), '\n'), 1 + 3 * 2) << partial;
  EXPECT_EQ(partial.find("garbage"), std::string::npos);
  EXPECT_FALSE(fs::exists(zo::sweep_part_path(out.table_path)));

  // An unwritable summary path fails the run after the table part is complete, and the
  // existing table is still untouched.
  zo::Sweep again(objective, spec);
  out.summary_path = dir;  // a directory: cannot be replaced by a file
  EXPECT_THROW(zo::run_sweep(again, out), zo::Error);
  EXPECT_EQ(read_file(out.table_path), "precious table\n");
}

// Finite but exploding runs are marked diverged by the divergence bound at the logged iteration
// where they leave it, frozen there, and left out of the summary; the others go on. A sweep in
// which runs (the last run of a batch among them) have already diverged resumes to the same
// bytes as an uninterrupted one, whatever the engine and wherever it was stopped.
TEST(SweepDivergence, TheBoundMarksExplodingRunsAndResumesByteIdentically) {
  const zo::Example21 objective(6);
  zo::SweepSpec spec;
  // η = 10 explodes (loss ~1e12 after one step, still finite); η = 1e-3 is sane.
  spec.configs = zo::sweep_grid({zo::Method::zo}, {0.1f}, {1e-3f, 10.0f}, {1});
  spec.seeds = {0, 1, 2};
  spec.steps = 300;
  spec.log_iterations = {0, 1, 2, 5, 20, 100};
  spec.backend = zo::Backend::cpu;
  spec.batch_size = 3;  // batch 2 = the three η = 10 runs: its last run diverges too
  for (auto engine : {zo::Engine::fused, zo::Engine::generic}) {
    SCOPED_TRACE(zo::to_string(engine));
    spec.engine = engine;
    const std::string dir = work_dir(std::string("diverge_") + zo::to_string(engine));
    const Files reference = run_to_files(objective, spec, dir, "ref");
    zo::Sweep check(objective, spec);
    while (!check.done()) check.advance(1000, nullptr);
    const zo::SweepRows& f = check.finals();
    ASSERT_EQ(f.size(), 6u);
    for (std::size_t i = 0; i < f.size(); ++i) {
      const bool exploding = check.config_of(f.run[i]) == 1;
      EXPECT_EQ(f.diverged[i] != 0, exploding) << "run " << f.run[i];
      if (exploding) EXPECT_LE(f.diverged_at[i], 4u) << "caught at an early logged iteration";
    }
    const auto summary = zo::summarize(check);
    EXPECT_EQ(summary[0].diverged, 0u);
    EXPECT_EQ(summary[1].diverged, 3u);
    EXPECT_TRUE(std::isnan(summary[1].loss_mean));  // no run left to average
    EXPECT_TRUE(std::isfinite(summary[0].loss_mean));
    for (const auto& stops : std::vector<std::vector<std::uint64_t>>{{1}, {905}, {300, 1150}}) {
      const Files resumed = interrupted_then_resumed(objective, spec, dir, stops, false);
      EXPECT_EQ(resumed.table, reference.table) << "first stop " << stops[0];
      EXPECT_EQ(resumed.summary, reference.summary) << "first stop " << stops[0];
    }
  }
  // A factor of 0 disables the bound: the same runs then end finite and unmarked.
  spec.divergence.loss_factor = spec.divergence.norm_factor = 0;
  spec.steps = 2;
  spec.log_iterations = {0, 1};
  zo::Sweep unbounded(objective, spec);
  while (!unbounded.done()) unbounded.advance(1000, nullptr);
  for (auto d : unbounded.finals().diverged) EXPECT_EQ(d, 0);
}

TEST(SweepDivergence, BoundArithmetic) {
  const zo::DivergenceBound b;  // 1e4 on the loss, 1e4 on the norm
  EXPECT_FALSE(zo::exceeds_divergence_bound(b, 9e4, 10.0, 1.0, 1.0, 1.0));
  EXPECT_TRUE(zo::exceeds_divergence_bound(b, 1.1e5, 10.0, 1.0, 1.0, 1.0));
  EXPECT_FALSE(zo::exceeds_divergence_bound(b, 5e3, 1e-9, 1e-12, 1.0, 1.0));  // floor 1
  EXPECT_TRUE(zo::exceeds_divergence_bound(b, 2e4, 1e-9, 1e-12, 1.0, 1.0));
  EXPECT_TRUE(zo::exceeds_divergence_bound(b, 1.0, 1.0, 1.0, 2e4, 1.0));    // norm
  EXPECT_FALSE(zo::exceeds_divergence_bound(b, 1.0, 1.0, 1.0, 9e3, 0.01));  // ‖x0‖ floor 1
  EXPECT_TRUE(zo::exceeds_divergence_bound(b, std::nan(""), 1.0, 1.0, 1.0, 1.0));
  EXPECT_TRUE(zo::exceeds_divergence_bound(b, 1.0, 1.0, 1.0, INFINITY, 1.0));
}

// zo::Stepper on the CPU backend: every pass against the plain reference loops of
// stepper_harness.hpp, independence from the tensor split, merged vs unmerged, q > 1 against
// RunBatch, exact restore, the residual record's exception list, the state machine, the
// non-finite policy, validation and 64-bit coordinate offsets.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "stepper/bf16.hpp"
#include "stepper/stepper_math.hpp"
#include "stepper_harness.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/objective.hpp"
#include "zo/run_batch.hpp"
#include "zo/stepper.hpp"

namespace {

using zo::DType;
using zo::RestoreMode;
using zo_test::Layout;
using zo_test::SameBits;

zo::StepperOptions options(RestoreMode mode, zo::Distribution dist, std::uint32_t q, bool merged) {
  zo::StepperOptions o;
  o.lambda = 0.01f;
  o.eta = 0.01f;  // large enough that updates move bf16 values
  o.q = q;
  o.seed = 1234;
  o.distribution = dist;
  o.merge_next_perturbation = merged;
  o.restore = mode;
  o.backend = zo::Backend::cpu;
  o.start_step = 5;
  // The awkward test values are ~12% zeros and tiny values, which all escape: keep the residual
  // record residual (the fallback to a copy has its own test).
  o.max_escape_fraction = 1.0;
  return o;
}

const RestoreMode kModes[] = {RestoreMode::arithmetic, RestoreMode::copy, RestoreMode::residual};
const zo::Distribution kDists[] = {zo::Distribution::gaussian, zo::Distribution::rademacher,
                                   zo::Distribution::sphere};

std::string name(RestoreMode m, zo::Distribution d, std::uint32_t q, bool merged, const Layout& l) {
  return std::string(zo::to_string(m)) + "/" + zo::to_string(d) + "/q=" + std::to_string(q) +
         (merged ? "/merged" : "") + "/" + l.describe();
}

/// Runs `ops` on the Stepper and on the reference, comparing the parameters after every call.
void expect_matches_reference(const Layout& layout, const zo::StepperOptions& o,
                              const std::vector<zo_test::Op>& ops) {
  const auto bf = layout.bf16_mask();
  const auto x0 = zo_test::awkward_values(bf, 99);
  zo_test::HostParams params(layout);
  params.set(x0);
  zo::Stepper s(params.tensors(), o);
  zo_test::ReferenceStepper ref(x0, bf, o);
  std::vector<std::vector<float>> got;
  zo_test::drive(s, ops, [&](std::size_t) { got.push_back(params.get()); });
  std::size_t k = 0;
  zo_test::drive(ref, ops, [&](std::size_t i) {
    ASSERT_TRUE(SameBits(got[k++], ref.x())) << "after call " << i;
  });
}

TEST(StepperCpu, EveryPassMatchesTheReferenceLoops) {
  const std::vector<Layout> layouts = {
      {{1}, {DType::f32}, {}},
      {{3}, {DType::bf16}, {}},
      {{5, 1, 3}, {DType::f32, DType::bf16, DType::f32}, {1, 0, 3}},
      {{300, 1029, 7}, {DType::bf16}, {0, 1, 2}},
  };
  for (const Layout& l : layouts)
    for (RestoreMode m : kModes)
      for (zo::Distribution d : kDists)
        for (std::uint32_t q : {1u, 3u})
          for (bool merged : {false, true}) {
            SCOPED_TRACE(name(m, d, q, merged, l));
            expect_matches_reference(l, options(m, d, q, merged),
                                     zo_test::full_steps(2, q, merged));
          }
}

TEST(StepperCpu, RestoreFromEveryPhaseMatchesTheReference) {
  using zo_test::Op;
  const Layout l{{77, 130}, {DType::bf16, DType::f32}, {}};
  const std::vector<std::vector<Op>> scripts = {
      {Op::perturb, Op::restore, Op::perturb, Op::flip, Op::update},
      {Op::perturb, Op::flip, Op::restore, Op::perturb, Op::flip, Op::update},
      {Op::perturb, Op::flip, Op::update, Op::restore, Op::perturb},  // q = 2: from recorded
      {Op::perturb, Op::flip, Op::update, Op::perturb, Op::flip, Op::update, Op::restore,
       Op::restore},
  };
  for (RestoreMode m : kModes)
    for (bool merged : {false, true})
      for (std::size_t k = 0; k < scripts.size(); ++k) {
        SCOPED_TRACE(std::string(zo::to_string(m)) + (merged ? " merged" : "") + " script " +
                     std::to_string(k));
        expect_matches_reference(l, options(m, zo::Distribution::gaussian, 2, merged), scripts[k]);
      }
}

/// The parameters after `ops` for the same concatenated values split as `layout`.
std::vector<float> run_split(const Layout& layout, const std::vector<float>& x0,
                             const zo::StepperOptions& o, const std::vector<zo_test::Op>& ops) {
  zo_test::HostParams params(layout);
  params.set(x0);
  zo::Stepper s(params.tensors(), o);
  zo_test::drive(s, ops, [](std::size_t) {});
  return params.get();
}

TEST(StepperCpu, ResultDoesNotDependOnTheTensorSplit) {
  // 23 coordinates; splits at every position inside and between Philox blocks, and start
  // shifts so no split shares the alignment of the single tensor.
  const std::uint64_t d = 23;
  for (DType dt : {DType::f32, DType::bf16})
    for (RestoreMode m : kModes)
      for (zo::Distribution dist : {zo::Distribution::gaussian, zo::Distribution::sphere}) {
        const zo::StepperOptions o = options(m, dist, 2, true);
        const auto ops = zo_test::full_steps(2, 2, true);
        const Layout whole{{d}, {dt}, {}};
        const auto x0 = zo_test::awkward_values(whole.bf16_mask(), 5);
        const auto expected = run_split(whole, x0, o, ops);
        for (std::uint64_t a = 1; a < d; ++a) {
          if (dist == zo::Distribution::sphere && a % 4 != 1) continue;  // sphere: a sample
          for (std::uint64_t b : {a + 1, a + 6}) {
            if (b >= d) continue;
            const Layout split{{a, b - a, d - b}, {dt}, {1, 2, 3}};
            SCOPED_TRACE(std::string(zo::to_string(m)) + " " + zo::to_string(dist) + " " +
                         split.describe());
            EXPECT_TRUE(SameBits(run_split(split, x0, o, ops), expected));
          }
        }
        const Layout singles{std::vector<std::uint64_t>(d, 1), {dt}, {}};
        EXPECT_TRUE(SameBits(run_split(singles, x0, o, ops), expected));
      }
}

TEST(StepperCpu, MergedAndUnmergedGiveIdenticalResults) {
  const Layout l{{513, 2, 1029}, {DType::bf16, DType::f32, DType::bf16}, {}};
  for (RestoreMode m : kModes)
    for (std::uint32_t q : {1u, 2u}) {
      SCOPED_TRACE(std::string(zo::to_string(m)) + " q=" + std::to_string(q));
      const auto x0 = zo_test::awkward_values(l.bf16_mask(), 3);
      // Snapshots where both sequences are at the same point: after every flip (f₋ is
      // evaluated there) and at the end.
      // Snapshots where both sequences must agree: wherever f is evaluated (after perturb and
      // flip) and at the end. Unmerged ends with perturb + restore so that in arithmetic mode
      // both end with the same (inexact) restore of the same perturbation.
      auto flips = [&](bool merged) {
        zo_test::HostParams params(l);
        params.set(x0);
        zo::Stepper s(params.tensors(), options(m, zo::Distribution::gaussian, q, merged));
        std::vector<std::vector<float>> snaps;
        auto ops = zo_test::full_steps(4, q, false);
        const std::size_t steps_ops = ops.size();
        if (!merged) ops.push_back(zo_test::Op::perturb);
        ops.push_back(zo_test::Op::restore);
        zo_test::drive(s, ops, [&](std::size_t i) {
          if (i < steps_ops && (ops[i] == zo_test::Op::flip || ops[i] == zo_test::Op::perturb))
            snaps.push_back(params.get());
        });
        snaps.push_back(params.get());
        return snaps;
      };
      const auto a = flips(false), b = flips(true);
      ASSERT_EQ(a.size(), b.size());
      for (std::size_t k = 0; k < a.size(); ++k)
        EXPECT_TRUE(SameBits(b[k], a[k])) << "snapshot " << k;
    }
}

/// Minimises Example 2.1 with the stepper (the user's loop) from x (fp32, host).
std::vector<float> stepper_trajectory(const zo::Objective& f, std::vector<float> x,
                                      const zo::StepperOptions& o, std::uint64_t steps) {
  zo::Stepper s({{x.data(), x.size(), DType::f32, zo::MemorySpace::host}}, o);
  for (std::uint64_t t = 0; t < steps; ++t)
    for (std::uint32_t j = 0; j < o.q; ++j) {
      s.perturb();
      const double fp = zo::evaluate_one(f, x.data());
      s.flip();
      const double fm = zo::evaluate_one(f, x.data());
      s.update(fp, fm);
    }
  s.restore();
  return x;
}

TEST(StepperCpu, ExactModesReproduceRunBatchBitForBit) {
  // RunBatch (another implementation of Algorithm 1) evaluates f at round(x ± λu) and applies
  // the q updates in order; the exact restore modes must follow the same trajectory.
  const zo::Example21 f(37);
  std::vector<float> x0(f.dim());
  zo::gaussian_fill(8, 0, x0.data(), x0.size());
  for (zo::Distribution d : kDists)
    for (std::uint32_t q : {1u, 3u}) {
      zo::RunSpec spec;
      spec.lambda = 0.05f;
      spec.eta = 2e-3f;
      spec.q = q;
      spec.seed = 77;
      spec.distribution = d;
      zo::BatchOptions bo;
      bo.backend = zo::Backend::cpu;
      std::vector<float> expected = x0;
      zo::minimize(f, expected.data(), spec, 30, bo);
      for (RestoreMode m : {RestoreMode::copy, RestoreMode::residual})
        for (bool merged : {false, true}) {
          SCOPED_TRACE(std::string(zo::to_string(d)) + " q=" + std::to_string(q) + " " +
                       zo::to_string(m) + (merged ? " merged" : ""));
          zo::StepperOptions o;
          o.lambda = spec.lambda;
          o.eta = spec.eta;
          o.q = q;
          o.seed = spec.seed;
          o.distribution = d;
          o.restore = m;
          o.merge_next_perturbation = merged;
          EXPECT_TRUE(SameBits(stepper_trajectory(f, x0, o, 30), expected));
        }
    }
}

TEST(StepperCpu, OnePassUpdateEqualsSequentialUpdatesInFp32AndRoundsOnceInBf16) {
  // q = 4 updates in one pass: in fp32 identical to four sequential rounded updates; in bf16
  // the fp32 accumulation is rounded once, which differs from rounding after each update.
  const std::uint64_t d = 4096;
  for (DType dt : {DType::f32, DType::bf16}) {
    const Layout l{{d}, {dt}, {}};
    const auto bf = l.bf16_mask();
    const auto x0 = zo_test::awkward_values(bf, 4, 1.0f);
    zo_test::HostParams params(l);
    params.set(x0);
    zo::StepperOptions o = options(RestoreMode::copy, zo::Distribution::gaussian, 4, false);
    o.eta = 0.05f;
    zo::Stepper s(params.tensors(), o);
    zo_test::drive(s, zo_test::full_steps(1, 4, false), [](std::size_t) {});
    const auto got = params.get();
    std::vector<float> sequential = x0, fused = x0;
    for (std::uint32_t j = 0; j < 4; ++j) {
      const zo::DirectionKey key{o.seed, static_cast<std::uint32_t>(o.start_step), j};
      const double g =
          (zo_test::fake_f_plus(o.start_step, j) - zo_test::fake_f_minus(o.start_step, j)) /
          (2.0 * o.lambda);
      const float c = static_cast<float>(static_cast<double>(o.eta) * g / 4.0);
      for (std::uint64_t i = 0; i < d; ++i) {
        const float u = zo::direction_at(o.distribution, key, i, 1.0f);
        sequential[i] = zo_test::round_as(bf[i], zo::detail::fma_f(-c, u, sequential[i]));
        fused[i] = zo::detail::fma_f(-c, u, fused[i]);
      }
    }
    for (auto& v : fused) v = zo_test::round_as(dt == DType::bf16, v);
    EXPECT_TRUE(SameBits(got, fused));
    if (dt == DType::f32) {
      EXPECT_TRUE(SameBits(got, sequential));
    } else {
      std::size_t differ = 0;
      for (std::uint64_t i = 0; i < d; ++i) differ += got[i] != sequential[i];
      EXPECT_GT(differ, 0u) << "bf16 data too coarse to tell one rounding from four";
    }
  }
}

/// Perturbs, flips and restores; returns how many coordinates differ from x0.
std::size_t restore_changes(const Layout& l, const std::vector<float>& x0, RestoreMode m, bool flip,
                            std::vector<float>* after) {
  zo_test::HostParams params(l);
  params.set(x0);
  zo::StepperOptions o = options(m, zo::Distribution::gaussian, 1, false);
  o.lambda = 1e-2f;
  zo::Stepper s(params.tensors(), o);
  s.perturb();
  if (flip) s.flip();
  s.restore();
  EXPECT_EQ(s.restore_mode(), m);
  *after = params.get();
  std::size_t changed = 0;
  for (std::size_t i = 0; i < x0.size(); ++i)
    changed += zo_test::bits_of((*after)[i]) != zo_test::bits_of(x0[i]);
  return changed;
}

TEST(StepperCpu, ExactRestoreModesRestoreBitExactly) {
  for (DType dt : {DType::f32, DType::bf16}) {
    const Layout l{{20000, 333}, {dt}, {0, 1}};
    const auto x0 = zo_test::awkward_values(l.bf16_mask(), 21, 0.02f);
    std::vector<float> after;
    // The data must be able to show drift, or the exactness check below proves nothing.
    EXPECT_GT(restore_changes(l, x0, RestoreMode::arithmetic, true, &after), x0.size() / 10)
        << zo::to_string(dt);
    for (RestoreMode m : {RestoreMode::copy, RestoreMode::residual})
      for (bool flip : {false, true}) {
        SCOPED_TRACE(std::string(zo::to_string(dt)) + " " + zo::to_string(m) +
                     (flip ? " after flip" : " after perturb"));
        EXPECT_EQ(restore_changes(l, x0, m, flip, &after), 0u);
        EXPECT_TRUE(SameBits(after, x0));
      }
  }
}

TEST(StepperCpu, ResidualExceptionListGrowsAndFallsBackToCopy) {
  // All-zero and tiny parameters cannot be recovered from round(x ± λu): every one escapes.
  const std::uint64_t d = 50000;
  for (DType dt : {DType::f32, DType::bf16}) {
    SCOPED_TRACE(zo::to_string(dt));
    const Layout l{{d}, {dt}, {}};
    std::vector<float> x0(d, 0.0f);
    for (std::uint64_t i = 0; i < d; i += 3)
      x0[i] = zo_test::round_as(dt == DType::bf16, 1e-7f * static_cast<float>(i % 11));
    const auto ops = zo_test::full_steps(3, 2, true);
    const auto expected =
        run_split(l, x0, options(RestoreMode::copy, zo::Distribution::gaussian, 2, true), ops);

    zo_test::HostParams params(l);
    params.set(x0);
    zo::StepperOptions grow = options(RestoreMode::residual, zo::Distribution::gaussian, 2, true);
    grow.max_escape_fraction = 1.0;
    zo::Stepper s(params.tensors(), grow);
    const std::uint64_t initial_bytes = s.record_bytes();
    s.perturb();
    EXPECT_GT(s.escapes(), d / 2) << "zeros must escape";
    EXPECT_GT(s.record_bytes(), initial_bytes) << "the list must have grown past its start";
    EXPECT_EQ(s.restore_mode(), RestoreMode::residual);
    s.restore();
    EXPECT_TRUE(SameBits(params.get(), x0));
    zo_test::drive(s, ops, [](std::size_t) {});
    EXPECT_TRUE(SameBits(params.get(), expected)) << "residual and copy must agree bit for bit";

    // With a limit below the escape count the stepper switches to a copy and stays exact.
    params.set(x0);
    zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 2, true);
    o.max_escape_fraction = 0.01;
    std::vector<std::string> log;
    zo::set_log_sink([&](const std::string& line) { log.push_back(line); });
    zo::Stepper fallback(params.tensors(), o);
    zo_test::drive(fallback, ops, [](std::size_t) {});
    zo::set_log_sink([](const std::string&) {});
    EXPECT_EQ(fallback.restore_mode(), RestoreMode::copy);
    EXPECT_EQ(fallback.record_bytes(), d * zo::dtype_size(dt));
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("switching to RestoreMode::copy"), std::string::npos) << log[0];
    EXPECT_TRUE(SameBits(params.get(), expected));
  }
}

/// A residual-mode stepper over `x0` with the given check, driven by the caller loop with
/// retries (zo_test::run_with_retries).
zo_test::RetryRun run_checked(const Layout& l, const std::vector<float>& x0, zo::StepperOptions o,
                              RestoreMode mode, zo::ResidualCheck check, std::uint64_t steps,
                              const std::vector<std::vector<float>>* iterates = nullptr) {
  zo_test::HostParams params(l);
  params.set(x0);
  o.restore = mode;
  o.residual_check = check;
  zo::Stepper s(params.tensors(), o);
  return zo_test::run_with_retries(s, params, steps, iterates);
}

TEST(StepperCpu, ResidualCheckAtUpdateRetriesAndMatchesPerPassAndCopy) {
  // The retry scenarios of zo_test::for_each_retry_case: each against per_pass and copy mode.
  const std::uint64_t steps = 3;
  const auto residual = [](std::uint32_t q, bool merged) {
    return options(RestoreMode::residual, zo::Distribution::gaussian, q, merged);
  };
  zo_test::for_each_retry_case(
      residual, [&](const Layout& l, const zo::StepperOptions& o, const std::vector<float>& x0,
                    std::uint32_t first_pair) {
        const bool bf = l.dtypes[0] == DType::bf16;
        if (first_pair > 0) {
          std::size_t escaping = 0;
          for (float v : x0) escaping += v != zo_test::round_as(bf, 1.37f);
          ASSERT_GT(escaping, 2048u) << "the data must overflow the list in pair " << first_pair;
        }
        // Copy mode, unmerged: the trajectory, and x_t at each step for the retry checks.
        zo::StepperOptions plain = o;
        plain.merge_next_perturbation = false;
        const zo_test::RetryRun copy =
            run_checked(l, x0, plain, RestoreMode::copy, zo::ResidualCheck::per_pass, steps);
        ASSERT_EQ(copy.iterates.size(), steps);
        const zo_test::RetryRun per_pass =
            run_checked(l, x0, o, RestoreMode::residual, zo::ResidualCheck::per_pass, steps);
        EXPECT_TRUE(per_pass.retry_directions.empty()) << "per_pass never returns retry";
        EXPECT_TRUE(SameBits(per_pass.x, copy.x)) << "per_pass vs copy";
        const zo_test::RetryRun at_update = run_checked(
            l, x0, o, RestoreMode::residual, zo::ResidualCheck::at_update, steps, &copy.iterates);
        EXPECT_TRUE(SameBits(at_update.x, copy.x)) << "at_update vs copy";
        EXPECT_EQ(at_update.final_mode, RestoreMode::residual);
        ASSERT_FALSE(at_update.retry_directions.empty()) << "the list must have overflowed";
        EXPECT_EQ(at_update.retry_directions[0], first_pair);
        // The iterates must move, or the comparison would not see a pair taken at a wrong point.
        EXPECT_FALSE(SameBits(copy.x, x0));
      });
}

TEST(StepperCpu, ResidualCheckAtUpdateFallsBackToCopyThroughRetry) {
  const std::uint64_t d = 50000;
  for (bool merged : {false, true}) {
    SCOPED_TRACE(merged ? "merged" : "unmerged");
    const Layout l{{d}, {DType::bf16}, {}};
    const std::vector<float> x0 = zo_test::mostly_zero_values(d, true);
    zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 2, merged);
    o.eta = 1e-4f;
    o.max_escape_fraction = 0.01;  // 500 entries: the first pass needs far more
    const zo_test::RetryRun copy =
        run_checked(l, x0, o, RestoreMode::copy, zo::ResidualCheck::per_pass, 3);
    std::vector<std::string> log;
    zo::set_log_sink([&](const std::string& line) { log.push_back(line); });
    const zo_test::RetryRun at_update =
        run_checked(l, x0, o, RestoreMode::residual, zo::ResidualCheck::at_update, 3);
    zo::set_log_sink([](const std::string&) {});
    ASSERT_EQ(at_update.retry_directions.size(), 1u);
    EXPECT_EQ(at_update.final_mode, RestoreMode::copy);
    ASSERT_EQ(log.size(), 1u);
    EXPECT_NE(log[0].find("switching to RestoreMode::copy"), std::string::npos) << log[0];
    EXPECT_TRUE(SameBits(at_update.x, copy.x));
  }
}

TEST(StepperCpu, ResidualCheckAtUpdateLeavesTheStepWhereItWas) {
  const std::uint64_t d = 20000;
  const Layout l{{d}, {DType::f32}, {}};
  const std::vector<float> x0 = zo_test::mostly_zero_values(d, false);
  zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 2, false);
  o.residual_check = zo::ResidualCheck::at_update;
  zo_test::HostParams params(l);
  params.set(x0);
  zo::Stepper s(params.tensors(), o);
  const std::uint64_t bytes = s.record_bytes();
  s.perturb();
  EXPECT_EQ(s.record_bytes(), bytes) << "perturb() must not look at the count";
  EXPECT_GT(s.escapes(), 1024u) << "the pass overflowed its list of 1024 entries";
  s.flip();
  EXPECT_EQ(s.update(1.0, 2.0), zo::UpdateResult::retry);
  EXPECT_EQ(s.step(), 5u);
  EXPECT_EQ(s.direction(), 0u);
  EXPECT_EQ(s.phase(), zo::StepperPhase::ready);
  EXPECT_GT(s.record_bytes(), bytes) << "the list must have grown";
  EXPECT_TRUE(SameBits(params.get(), x0));
  EXPECT_TRUE(s.projected_gradients().empty()) << "no step was applied";
  // The same pair again: the list now holds every exception.
  s.perturb();
  EXPECT_LE(s.escapes(), (s.record_bytes() - (d + 3) / 4) / 12);
  s.flip();
  EXPECT_EQ(s.update(1.0, 2.0), zo::UpdateResult::recorded);
  EXPECT_EQ(s.direction(), 0u);

  // restore() after an overflow nobody has read yet: exact, and the list grows.
  params.set(x0);
  zo::Stepper r(params.tensors(), o);
  r.perturb();
  r.restore();
  EXPECT_TRUE(SameBits(params.get(), x0));
  EXPECT_GT(r.record_bytes(), bytes);
  EXPECT_EQ(r.phase(), zo::StepperPhase::ready);
  r.perturb();
  r.flip();
  EXPECT_EQ(r.update(1.0, 2.0), zo::UpdateResult::recorded) << "the grown list holds the pass";
}

TEST(StepperCpu, ResidualCheckAtUpdateSeesTheMergedPassInTheNextCall) {
  // η = 0 keeps x_{t+1} = x_t, and the values escape first for u_0 of step t+1: the first pass
  // that overflows is the merged U+P inside update(), which returns `applied`; the next update()
  // (or restore()) must see it.
  const std::uint64_t d = 30000;
  const Layout l{{d}, {DType::f32}, {}};
  zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 1, true);
  o.eta = 0.0f;
  o.residual_check = zo::ResidualCheck::at_update;
  const std::vector<float> x0 = zo_test::values_escaping_first_at(o, d, false, o.start_step + 1, 0);
  zo_test::HostParams params(l);
  for (bool through_restore : {false, true}) {
    SCOPED_TRACE(through_restore ? "restore()" : "update()");
    params.set(x0);
    zo::Stepper s(params.tensors(), o);
    const std::uint64_t bytes = s.record_bytes();
    s.perturb();
    s.flip();
    ASSERT_EQ(s.update(1.0, 2.0), zo::UpdateResult::applied) << "step 5 must not overflow";
    EXPECT_GT(s.escapes(), 1024u) << "the merged pass overflowed the list of 1024 entries";
    EXPECT_EQ(s.record_bytes(), bytes) << "update() must not look at its own pass's count";
    EXPECT_EQ(s.phase(), zo::StepperPhase::perturbed);
    if (through_restore) {
      s.restore();
    } else {
      s.perturb();
      s.flip();
      EXPECT_EQ(s.update(1.0, 2.0), zo::UpdateResult::retry);
    }
    EXPECT_EQ(s.step(), 6u);
    EXPECT_EQ(s.direction(), 0u);
    EXPECT_EQ(s.phase(), zo::StepperPhase::ready);
    EXPECT_GT(s.record_bytes(), bytes) << "the list must have grown";
    EXPECT_TRUE(SameBits(params.get(), x0)) << "x_6 = x_5 = x0 (η = 0)";
    s.perturb();
    s.flip();
    EXPECT_EQ(s.update(1.0, 2.0), zo::UpdateResult::applied) << "the grown list holds the pass";
    s.restore();
    EXPECT_TRUE(SameBits(params.get(), x0));
  }
}

TEST(StepperCpu, ResidualCheckNamesAndUpdateResults) {
  EXPECT_STREQ(zo::to_string(zo::ResidualCheck::per_pass), "per_pass");
  EXPECT_STREQ(zo::to_string(zo::ResidualCheck::at_update), "at_update");
  EXPECT_EQ(zo::parse_residual_check("per_pass"), zo::ResidualCheck::per_pass);
  EXPECT_EQ(zo::parse_residual_check("at_update"), zo::ResidualCheck::at_update);
  EXPECT_THROW(zo::parse_residual_check("later"), zo::InvalidArgument);
  EXPECT_STREQ(zo::to_string(zo::UpdateResult::recorded), "recorded");
  EXPECT_STREQ(zo::to_string(zo::UpdateResult::applied), "applied");
  EXPECT_STREQ(zo::to_string(zo::UpdateResult::skipped), "skipped");
  EXPECT_STREQ(zo::to_string(zo::UpdateResult::retry), "retry");
  EXPECT_EQ(zo::StepperOptions{}.residual_check, zo::ResidualCheck::per_pass);
  std::vector<float> x(8, 1.0f);
  zo::StepperOptions o;
  o.residual_check = static_cast<zo::ResidualCheck>(7);
  EXPECT_THROW(zo::Stepper({{x.data(), x.size(), DType::f32, zo::MemorySpace::host}}, o),
               zo::InvalidArgument);
}

TEST(StepperCpu, RecordBytesAreAsDocumented) {
  const std::uint64_t d = 100003;
  std::vector<float> x(d, 0.5f);
  auto make = [&](RestoreMode m) {
    zo::StepperOptions o;
    o.restore = m;
    return zo::Stepper({{x.data(), d, DType::f32, zo::MemorySpace::host}}, o);
  };
  EXPECT_EQ(make(RestoreMode::arithmetic).record_bytes(), 0u);
  EXPECT_EQ(make(RestoreMode::copy).record_bytes(), 4 * d);
  // ⌈d/4⌉ bytes of codes + 12 bytes × initial capacity max(1024, d/256).
  EXPECT_EQ(make(RestoreMode::residual).record_bytes(), (d + 3) / 4 + 12 * 1024);
}

TEST(StepperCpu, ResultsDoNotDependOnTheThreadCount) {
  const Layout l{{30001, 5}, {DType::bf16, DType::f32}, {1, 0}};
  const auto x0 = zo_test::awkward_values(l.bf16_mask(), 2);
  const int threads = omp_get_max_threads();
  for (RestoreMode m : kModes) {
    const auto o = options(m, zo::Distribution::sphere, 2, true);
    const auto ops = zo_test::full_steps(2, 2, true);
    omp_set_num_threads(1);
    const auto one = run_split(l, x0, o, ops);
    omp_set_num_threads(3);
    const auto three = run_split(l, x0, o, ops);
    omp_set_num_threads(threads);
    EXPECT_TRUE(SameBits(three, one)) << zo::to_string(m);
  }
}

TEST(StepperCpu, CallsInTheWrongOrderThrowAndChangeNothing) {
  std::vector<float> x(10, 0.25f);
  zo::StepperOptions o;
  o.q = 2;
  zo::Stepper s({{x.data(), x.size(), DType::f32, zo::MemorySpace::host}}, o);
  auto unchanged = [&](auto&& call, zo::StepperPhase phase) {
    const std::vector<float> before = x;
    EXPECT_THROW(call(), zo::InvalidArgument);
    EXPECT_EQ(s.phase(), phase);
    EXPECT_TRUE(SameBits(x, before));
  };
  EXPECT_EQ(s.phase(), zo::StepperPhase::ready);
  unchanged([&] { s.flip(); }, zo::StepperPhase::ready);
  unchanged([&] { s.update(1, 2); }, zo::StepperPhase::ready);
  s.perturb();
  EXPECT_EQ(s.phase(), zo::StepperPhase::plus);
  unchanged([&] { s.perturb(); }, zo::StepperPhase::plus);
  unchanged([&] { s.update(1, 2); }, zo::StepperPhase::plus);
  s.flip();
  EXPECT_EQ(s.phase(), zo::StepperPhase::minus);
  unchanged([&] { s.flip(); }, zo::StepperPhase::minus);
  unchanged([&] { s.perturb(); }, zo::StepperPhase::minus);
  EXPECT_EQ(s.update(1, 2), zo::UpdateResult::recorded);
  EXPECT_EQ(s.phase(), zo::StepperPhase::recorded);
  unchanged([&] { s.flip(); }, zo::StepperPhase::recorded);
  unchanged([&] { s.update(1, 2); }, zo::StepperPhase::recorded);
  s.perturb();
  EXPECT_EQ(s.direction(), 1u);
  s.flip();
  EXPECT_EQ(s.update(1, 2), zo::UpdateResult::applied);
  EXPECT_EQ(s.step(), 1u);
  EXPECT_EQ(s.direction(), 0u);
  EXPECT_EQ(s.projected_gradients().size(), 2u);
  EXPECT_EQ(s.phase(), zo::StepperPhase::ready);
  try {
    s.flip();
    FAIL() << "flip() in phase ready must throw";
  } catch (const zo::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("flip()"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("ready"), std::string::npos) << e.what();
  }
}

TEST(StepperCpu, NonFiniteValuesNeverReachTheParameters) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const Layout l{{999}, {DType::bf16}, {}};
  const auto x0 = zo_test::awkward_values(l.bf16_mask(), 6, 0.02f);
  for (RestoreMode m : kModes)
    for (std::uint32_t bad_j : {0u, 1u}) {
      SCOPED_TRACE(std::string(zo::to_string(m)) + " j=" + std::to_string(bad_j));
      zo_test::HostParams params(l);
      params.set(x0);
      zo::StepperOptions o = options(m, zo::Distribution::gaussian, 2, false);
      zo::Stepper s(params.tensors(), o);
      // What the parameters hold after an arithmetic restore from x − λu_j (the reference).
      zo_test::ReferenceStepper ref(x0, l.bf16_mask(), o);
      for (std::uint32_t j = 0; j < bad_j; ++j) {
        s.perturb(), ref.perturb();
        s.flip(), ref.flip();
        s.update(1.0, 0.5), ref.update(1.0, 0.5);
      }
      s.perturb(), ref.perturb();
      s.flip(), ref.flip();
      ref.restore();
      try {
        s.update(nan, 1.0);
        FAIL() << "NaN must throw under NonFinitePolicy::error";
      } catch (const zo::ObjectiveError& e) {
        EXPECT_EQ(e.step(), o.start_step);
        EXPECT_NE(std::string(e.what()).find("step " + std::to_string(o.start_step)),
                  std::string::npos)
            << e.what();
      }
      EXPECT_EQ(s.phase(), zo::StepperPhase::ready);
      EXPECT_EQ(s.step(), o.start_step);
      EXPECT_TRUE(SameBits(params.get(), ref.x()));
      if (m != RestoreMode::arithmetic) EXPECT_TRUE(SameBits(params.get(), x0));
      // The stepper carries on from x_t.
      s.perturb();
      s.flip();
      EXPECT_EQ(s.update(1.0, 0.5), zo::UpdateResult::recorded);

      // skip: x_t kept, the step advances.
      params.set(x0);
      o.on_non_finite = zo::NonFinitePolicy::skip;
      zo::Stepper skip(params.tensors(), o);
      skip.perturb();
      skip.flip();
      EXPECT_EQ(skip.update(1.0, inf), zo::UpdateResult::skipped);
      EXPECT_EQ(skip.step(), o.start_step + 1);
      EXPECT_EQ(skip.skipped_steps(), 1u);
      if (m != RestoreMode::arithmetic) EXPECT_TRUE(SameBits(params.get(), x0));

      // mark_diverged: frozen at x_t.
      params.set(x0);
      o.on_non_finite = zo::NonFinitePolicy::mark_diverged;
      zo::set_log_sink([](const std::string&) {});
      zo::Stepper frozen(params.tensors(), o);
      frozen.perturb();
      frozen.flip();
      EXPECT_EQ(frozen.update(-inf, 0.0), zo::UpdateResult::skipped);
      EXPECT_EQ(frozen.phase(), zo::StepperPhase::diverged);
      EXPECT_THROW(frozen.perturb(), zo::Error);
      if (m != RestoreMode::arithmetic) EXPECT_TRUE(SameBits(params.get(), x0));
      zo::set_log_sink([](const std::string&) {});
      o.on_non_finite = zo::NonFinitePolicy::error;
    }
}

TEST(StepperCpu, InvalidArgumentsAreRejected) {
  std::vector<float> x(16, 1.0f);
  std::vector<std::uint16_t> h(16, 0);
  const zo::ParamTensor good{x.data(), 16, DType::f32, zo::MemorySpace::host};
  auto make = [&](std::vector<zo::ParamTensor> p, zo::StepperOptions o) {
    zo::Stepper s(std::move(p), o);
  };
  zo::StepperOptions o;
  EXPECT_NO_THROW(make({good}, o));
  auto bad = [&](auto mutate) {
    zo::StepperOptions b;
    mutate(b);
    EXPECT_THROW(make({good}, b), zo::InvalidArgument);
  };
  bad([](zo::StepperOptions& b) { b.lambda = 0.0f; });
  bad([](zo::StepperOptions& b) { b.lambda = std::numeric_limits<float>::quiet_NaN(); });
  bad([](zo::StepperOptions& b) { b.eta = -1e-3f; });
  bad([](zo::StepperOptions& b) { b.q = 0; });
  bad([](zo::StepperOptions& b) { b.q = zo::kMaxStepperQ + 1; });
  bad([](zo::StepperOptions& b) { b.start_step = zo::kMaxStep + 1; });
  bad([](zo::StepperOptions& b) { b.max_escape_fraction = 0.0; });
  bad([](zo::StepperOptions& b) { b.backend = zo::Backend::cuda; });
  bad([](zo::StepperOptions& b) {
    b.distribution = zo::Distribution::sphere;
    b.coordinate_offset = 4;
  });
  EXPECT_THROW(make({}, o), zo::InvalidArgument);
  EXPECT_THROW(make({{nullptr, 4, DType::f32, zo::MemorySpace::host}}, o), zo::InvalidArgument);
  EXPECT_THROW(
      make({{reinterpret_cast<char*>(x.data()) + 2, 4, DType::f32, zo::MemorySpace::host}}, o),
      zo::InvalidArgument);
  EXPECT_THROW(make({good, {x.data() + 8, 4, DType::f32, zo::MemorySpace::host}}, o),
               zo::InvalidArgument);  // overlap
  EXPECT_NO_THROW(make({good,
                        {h.data(), 16, DType::bf16, zo::MemorySpace::host},
                        {nullptr, 0, DType::f32, zo::MemorySpace::host}},
                       o));  // empty tensors are ignored
  EXPECT_THROW(make({good, {h.data(), 16, DType::bf16, zo::MemorySpace::device}}, o),
               zo::InvalidArgument);  // mixed spaces
  EXPECT_THROW(make({{x.data(), 16, static_cast<DType>(7), zo::MemorySpace::host}}, o),
               zo::InvalidArgument);
  if (!zo::cuda_available()) {
    // Device memory without a usable device: NotCompiled or DeviceUnavailable, never a crash.
    EXPECT_THROW(make({{x.data(), 16, DType::f32, zo::MemorySpace::device}}, o), zo::Error);
  }
}

TEST(StepperCpu, CoordinateOffsetsBeyond32BitsMatchTheReference) {
  // A shard starting at global coordinate `offset` uses the directions of its global
  // coordinates: checked against the reference and against a longer vector that contains it.
  for (std::uint64_t offset : {std::uint64_t{0xFFFFFFFFull} - 6, std::uint64_t{1} << 33 | 3,
                               (std::uint64_t{1} << 62) - 77})
    for (RestoreMode m : kModes) {
      SCOPED_TRACE(std::to_string(offset) + " " + zo::to_string(m));
      zo::StepperOptions o = options(m, zo::Distribution::gaussian, 2, true);
      o.coordinate_offset = offset;
      const Layout l{{9, 14}, {DType::bf16, DType::f32}, {}};
      expect_matches_reference(l, o, zo_test::full_steps(2, 2, true));

      const auto x0 = zo_test::awkward_values(l.bf16_mask(), 13);
      const auto ops = zo_test::full_steps(2, 2, true);
      const auto shard = run_split(l, x0, o, ops);
      o.coordinate_offset = offset - 5;
      std::vector<float> padded(5, 0.5f);
      padded.insert(padded.end(), x0.begin(), x0.end());
      const auto longer =
          run_split({{5, 9, 14}, {DType::f32, DType::bf16, DType::f32}, {}}, padded, o, ops);
      EXPECT_TRUE(SameBits(std::vector<float>(longer.begin() + 5, longer.end()), shard));
    }
}

TEST(StepperCpu, SphereDirectionsAreThoseOfFillDirection) {
  // From x = 0 in fp32, x + λu = λ·u exactly rounded: compare with fill_direction.
  const std::uint64_t d = 10007;
  std::vector<float> x(d, 0.0f);
  zo::StepperOptions o;
  o.lambda = 1.0f;
  o.seed = 42;
  o.start_step = 3;
  o.distribution = zo::Distribution::sphere;
  o.restore = RestoreMode::copy;
  zo::Stepper s({{x.data(), 4000, DType::f32, zo::MemorySpace::host},
                 {x.data() + 4000, d - 4000, DType::f32, zo::MemorySpace::host}},
                o);
  s.perturb();
  std::vector<float> u(d);
  zo::fill_direction(zo::Distribution::sphere, {42, 3, 0}, d, u.data());
  EXPECT_TRUE(SameBits(x, u));
}

TEST(StepperMath, Bf16RoundingIsNearestEven) {
  using zo::detail::bf16_to_float;
  using zo::detail::float_to_bf16;
  // Exhaustive over the 16 dropped bits for a few upper halves, against a direct definition.
  for (std::uint32_t hi :
       {0x0000u, 0x0001u, 0x3F80u, 0x3F81u, 0x7F7Fu, 0x8000u, 0xBF80u, 0xFF7Fu}) {
    for (std::uint32_t lo = 0; lo < 0x10000u; ++lo) {
      const std::uint32_t bits = (hi << 16) | lo;
      float x;
      std::memcpy(&x, &bits, 4);
      std::uint32_t expect = hi;
      if (lo > 0x8000u || (lo == 0x8000u && (hi & 1u))) expect = hi + 1;
      ASSERT_EQ(float_to_bf16(x), static_cast<std::uint16_t>(expect)) << std::hex << bits;
    }
  }
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80u);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000u);
  EXPECT_EQ(float_to_bf16(3.4e38f), 0x7F80u);  // rounds past the largest bf16: +Inf
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  float snan;
  const std::uint32_t snan_bits = 0x7F800001u;  // NaN whose payload lives in the dropped bits
  std::memcpy(&snan, &snan_bits, 4);
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(snan))));
}

TEST(StepperMath, OrderedBitsAreAMonotoneBijection) {
  using zo::detail::bits_from_ordered;
  using zo::detail::ordered_from_bits;
  // bf16, exhaustively: sorting the non-NaN patterns by value (−0 before +0) must sort their
  // ordered integers, with no gaps, so ±1 means the neighbouring representable value.
  std::vector<std::pair<float, std::uint32_t>> all;
  for (std::uint32_t b = 0; b < 0x10000u; ++b) {
    ASSERT_EQ(bits_from_ordered(true, ordered_from_bits(true, b)), b);
    const float v = zo::detail::bf16_to_float(static_cast<std::uint16_t>(b));
    if (!std::isnan(v)) all.emplace_back(v, b);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return std::signbit(a.first) && !std::signbit(b.first);
  });
  for (std::size_t k = 1; k < all.size(); ++k) {
    ASSERT_EQ(ordered_from_bits(true, all[k].second),
              ordered_from_bits(true, all[k - 1].second) + 1)
        << all[k - 1].first << " -> " << all[k].first;
  }
  // f32: bijection on samples, and +1 is std::nextafter across zero and binade edges.
  for (std::uint32_t k = 0; k < 200000; ++k) {
    const std::uint32_t b = k * 2654435761u;
    ASSERT_EQ(bits_from_ordered(false, ordered_from_bits(false, b)), b);
  }
  for (float v : {-2.0f, -1.0f, -1e-30f, -1e-45f, 0.0f, 1e-45f, 1e-30f, 1.0f, 2.0f, 3e38f}) {
    const std::uint32_t o = ordered_from_bits(false, zo_test::bits_of(v));
    EXPECT_EQ(zo_test::bits_of(zo::detail::param_value(false, bits_from_ordered(false, o + 1))),
              zo_test::bits_of(std::nextafter(v, 1e38f * 10.0f)))
        << v;
  }
  EXPECT_EQ(ordered_from_bits(false, zo_test::bits_of(-0.0f)) + 1,
            ordered_from_bits(false, zo_test::bits_of(0.0f)));
}

TEST(StepperMath, ResidualCodesDecodeExactlyWithinOneStep) {
  using zo::detail::kCodeEscape;
  using zo::detail::residual_code;
  using zo::detail::residual_decode;
  for (bool bf : {false, true})
    for (float v : {-3.0f, -1.0f, -0.0f, 0.0f, 1e-38f, 0.1f, 1.0f, 65504.0f}) {
      const float base = zo_test::round_as(bf, v);
      const std::uint32_t o = zo::detail::ordered_from_bits(bf, zo::detail::param_bits(bf, base));
      for (int delta = -3; delta <= 3; ++delta) {
        const float estimate = zo::detail::param_value(
            bf, zo::detail::bits_from_ordered(bf, o + static_cast<std::uint32_t>(delta)));
        const std::uint32_t code = residual_code(bf, base, estimate);
        if (delta < -1 || delta > 1) {
          EXPECT_EQ(code, kCodeEscape);
        } else {
          ASSERT_NE(code, kCodeEscape);
          EXPECT_EQ(zo_test::bits_of(residual_decode(bf, estimate, code)), zo_test::bits_of(base))
              << v << " delta " << delta;
        }
      }
    }
}

}  // namespace

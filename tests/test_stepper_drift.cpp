// Drift of the in-place MeZO sequence (+λu, −2λu, +λu) in fp32 and bf16, measured on the CPU
// backend and printed as a table (the numbers in docs/stepper.md come from this test), and the
// exact restore modes checked to have none. Parameters ~ N(0, σ²), Gaussian directions.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "stepper/stepper_math.hpp"
#include "stepper_harness.hpp"
#include "zo/stepper.hpp"

namespace {

using zo::DType;
using zo::RestoreMode;

struct Drift {
  double changed = 0;  ///< fraction of coordinates not restored bit-exactly
  double max_ulp = 0;  ///< largest |Δ| in representable steps of the parameter type
  double rms_ulp = 0;  ///< RMS of |Δ| in representable steps
  double rel = 0;      ///< ‖x_after − x_before‖₂ / ‖x_before‖₂
};

Drift compare(const std::vector<float>& before, const std::vector<float>& after, bool bf) {
  Drift d;
  double sq = 0, ulp_sq = 0, norm = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const auto ob = zo::detail::ordered_from_bits(bf, zo::detail::param_bits(bf, before[i]));
    const auto oa = zo::detail::ordered_from_bits(bf, zo::detail::param_bits(bf, after[i]));
    const double steps = std::fabs(static_cast<double>(oa) - static_cast<double>(ob));
    d.changed += steps != 0;
    d.max_ulp = std::max(d.max_ulp, steps);
    ulp_sq += steps * steps;
    const double diff = static_cast<double>(after[i]) - before[i];
    sq += diff * diff;
    norm += static_cast<double>(before[i]) * before[i];
  }
  d.changed /= static_cast<double>(before.size());
  d.rms_ulp = std::sqrt(ulp_sq / static_cast<double>(before.size()));
  d.rel = std::sqrt(sq / norm);
  return d;
}

TEST(StepperDrift, ArithmeticRestoreDriftsAndExactModesDoNot) {
  // One thread: the numbers do not depend on it (the CPU backend is deterministic), and the
  // measurement stays fast on a shared, oversubscribed machine.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::uint64_t d = 1 << 13;
  const std::uint64_t steps = 100;
  std::printf(
      "\n| dtype | sigma | lambda | mode | changed/step | max ulp/step | rms ulp/step | "
      "rel/step | rel after %llu steps (exact modes: 4) | residual escapes/d |\n"
      "|---|---|---|---|---|---|---|---|---|---|\n",
      static_cast<unsigned long long>(steps));
  for (DType dt : {DType::f32, DType::bf16})
    for (float sigma : {0.02f, 1.0f})
      for (float lambda : {1e-3f, 1e-2f})
        for (RestoreMode m : {RestoreMode::arithmetic, RestoreMode::copy, RestoreMode::residual}) {
          const bool bf = dt == DType::bf16;
          std::vector<float> x0(d);
          zo::gaussian_fill(11, 3, x0.data(), d);
          for (auto& v : x0) v = zo_test::round_as(bf, sigma * v);
          const zo_test::Layout l{{d}, {dt}, {}};
          zo_test::HostParams params(l);
          params.set(x0);
          zo::StepperOptions o;
          o.lambda = lambda;
          o.eta = 0.0f;  // measure the restore only
          o.seed = 5;
          o.restore = m;
          o.max_escape_fraction = 1.0;
          o.backend = zo::Backend::cpu;
          zo::Stepper s(params.tensors(), o);
          // One step: x_t + λu, x_t − λu, then restore.
          s.perturb();
          const double escapes = static_cast<double>(s.escapes()) / static_cast<double>(d);
          s.flip();
          s.restore();
          const Drift one = compare(x0, params.get(), bf);
          // `steps` steps of the full sequence with η = 0 (the update pass only restores);
          // 4 for the exact modes, which must not move at all.
          params.set(x0);
          zo::Stepper many(params.tensors(), o);
          const std::uint64_t n = m == RestoreMode::arithmetic ? steps : 4;
          for (std::uint64_t t = 0; t < n; ++t) {
            many.perturb();
            many.flip();
            many.update(1.0, 1.0);
          }
          const Drift after = compare(x0, params.get(), bf);
          std::printf("| %s | %g | %g | %s | %.4f | %.0f | %.3g | %.3g | %.3g | %s |\n",
                      zo::to_string(dt), sigma, lambda, zo::to_string(m), one.changed, one.max_ulp,
                      one.rms_ulp, one.rel, after.rel,
                      m == RestoreMode::residual ? std::to_string(escapes).c_str() : "-");
          if (m == RestoreMode::arithmetic) {
            // MeZO's sequence moves a sizeable fraction of coordinates (about half when λ|u|
            // spans several ulps): the drift this mode documents.
            EXPECT_GT(one.changed, 0.01);
            EXPECT_GT(after.rel, one.rel);
          } else {
            EXPECT_EQ(one.changed, 0.0);
            EXPECT_EQ(after.changed, 0.0);
          }
        }
  std::fflush(stdout);
  omp_set_num_threads(threads);
}

}  // namespace

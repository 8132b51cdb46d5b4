// The calibration behind the trajectory tolerance of the CUDA RunBatch tests
// (test_run_batch_cuda.cpp): on the CPU, perturb Example 2.1's values by 1e-13 relative (about 20×
// the bound on the rounding difference of two summation orders of its 50-term inner products,
// 2·51·2^-53 ≈ 1.1e-14) and its gradients by up to 2 float ulps, run the same 37-run mix for the
// same 200 steps, and require the perturbed trajectories to stay within a tenth of the GPU
// tolerance (rtol = atol = 1e-5) of the clean ones. If the dynamics amplified rounding noise,
// this test would fail here, without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <vector>

#include "cuda_test_support.hpp"
#include "tolerance.hpp"
#include "zo/example21.hpp"
#include "zo/philox.hpp"
#include "zo/run_batch.hpp"

namespace {

/// Example 2.1 with deterministic relative noise on every value and gradient coordinate.
class NoisyExample21 : public zo_test::Forwarding {
 public:
  NoisyExample21(const zo::Example21& f, double value_noise, double gradient_noise)
      : Forwarding(f), value_noise_(value_noise), gradient_noise_(gradient_noise) {}
  bool accepts(zo::MemorySpace s) const override { return s == zo::MemorySpace::host; }
  void evaluate(const zo::PointBatch& p, double* v) const override {
    inner_.evaluate(p, v);
    for (std::size_t i = 0; i < p.count; ++i) v[i] *= 1.0 + value_noise_ * noise(i);
    ++calls_;
  }
  void gradient(const zo::PointBatch& p, float* g, std::size_t stride) const override {
    inner_.gradient(p, g, stride);
    for (std::size_t i = 0; i < p.count; ++i)
      for (std::size_t c = 0; c < dim(); ++c) {
        float& x = g[i * stride + c];
        x = static_cast<float>(x * (1.0 + gradient_noise_ * noise(i * dim() + c)));
      }
    ++calls_;
  }

 private:
  /// Uniform in [−1, 1), a pure function of (call, index).
  double noise(std::uint64_t index) const {
    const auto w = zo::philox4x32_10(
        {{static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32), calls_, 0}},
        {{12345u, 678u}});
    return static_cast<double>(w.v[0]) / 2147483648.0 - 1.0;
  }
  double value_noise_, gradient_noise_;
  mutable std::uint32_t calls_ = 0;
};

TEST(TrajectoryTolerance, NoiseInTheObjectiveStaysTenTimesBelowTheGpuTolerance) {
  const zo::Example21 f(50);
  const auto runs = zo_test::mixed_runs(37);
  const auto x0 = zo_test::start_points(runs.size(), f.dim(), 11, 0.5f);  // as the GPU test
  const NoisyExample21 noisy(f, 1e-13, 0x1p-22);
  zo::BatchOptions cpu;
  cpu.backend = zo::Backend::cpu;
  zo::RunBatch clean(f, runs, x0.data(), cpu), perturbed(noisy, runs, x0.data(), cpu);
  clean.run(200);
  perturbed.run(200);
  std::vector<float> a(x0.size()), b(x0.size());
  clean.copy_points(a.data());
  perturbed.copy_points(b.data());
  double worst = 0.0;
  std::size_t differing = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / (1.0 + std::fabs(double(a[i]))));
    differing += a[i] != b[i];
  }
  EXPECT_GT(differing, 0u) << "the noise changed nothing: the calibration is vacuous";
  EXPECT_TRUE(zo_test::AllClose(b.data(), a.data(), a.size(), 1e-6, 1e-6))
      << "worst |Δx|/(1+|x|) = " << worst;
  std::ostringstream os;
  os << worst << " over " << differing << " differing coordinates";
  RecordProperty("worst_relative_deviation", os.str());
}

}  // namespace

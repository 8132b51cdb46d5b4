// Internal: the fused Example 2.1 engine (zo::Engine::fused), shared by its CPU loop and its
// persistent CUDA kernel: each run's whole step in one pass, directions generated once per step
// and kept on chip, the logged metrics written from the loop or the kernel.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "batch/example21_fused_math.hpp"
#include "batch/run_batch_engine.hpp"
#include "zo/directions.hpp"

namespace zo {
namespace detail {

/// State of the fused engine on either backend. Iterates are run-major K × 2d floats. The per-run
/// divergence state (FusedRunState) mirrors statuses(): it is refreshed from them before every
/// advance and copied back after it, so RunBatch::restore() and statuses() behave as for every
/// engine.
class FusedExample21Engine : public BatchEngine {
 public:
  FusedExample21Engine(const Objective& objective, std::vector<RunSpec> runs,
                       const BatchOptions& options);
  ~FusedExample21Engine() override;

  Engine kind() const override { return Engine::fused; }
  void advance(std::uint64_t steps) override;
  void advance_logged(std::uint64_t steps, const std::vector<std::uint64_t>& log_its,
                      double* values) override;
  void measure(double* loss, double* trace, double* metrics) const override;

  std::uint32_t half_dim() const { return d_; }
  const std::vector<RunDescription>& params() const { return params_; }

 protected:
  /// Steps [next_step, next_step + steps) of every run on `states`, logging `log_its` (already
  /// validated) into `metrics` ([i][k][kFusedMetrics]); sets last_seconds.
  virtual void run_fused(std::uint64_t steps, const std::vector<std::uint64_t>& log_its,
                         double* metrics, std::vector<FusedRunState>& states) = 0;

 private:
  std::uint32_t d_;
  std::vector<RunDescription> params_;
};

/// The direction-generation ceiling on the GPU, on `stream` (blocking: returns the host result;
/// kernels/batch/example21_fused_cuda.cu; NotCompiled stub).
DirectionThroughput cuda_generate_directions(std::size_t runs, std::size_t dim, std::uint64_t steps,
                                             StreamView stream);

}  // namespace detail
}  // namespace zo

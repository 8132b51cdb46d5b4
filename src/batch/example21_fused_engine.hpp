// Internal: the backend interface of FusedExample21Batch and the per-backend factories.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "batch/example21_fused_math.hpp"
#include "zo/fused_example21.hpp"

namespace zo {
namespace detail {

/// State and entry points of one backend. Iterates are run-major K × 2d floats.
class FusedExample21Impl {
 public:
  FusedExample21Impl(std::uint32_t d, std::vector<RunSpec> runs);
  virtual ~FusedExample21Impl();

  virtual Backend backend() const = 0;
  virtual unsigned group_size() const = 0;
  /// Steps [next_step, next_step + steps), logging `log_its` (already validated) into `metrics`.
  virtual void run(std::uint64_t steps, const std::vector<std::uint64_t>& log_its,
                   double* metrics) = 0;
  virtual void copy_points(float* x_host) const = 0;
  virtual void set_points(const float* x_host) = 0;
  virtual std::vector<FusedRunState> states() const = 0;
  virtual void set_states(const std::vector<FusedRunState>& states) = 0;

  std::uint32_t half_dim() const { return d_; }
  const std::vector<RunSpec>& runs() const { return runs_; }
  const std::vector<FusedRunParams>& params() const { return params_; }
  std::uint64_t next_step = 0;
  double last_seconds = 0.0;

 private:
  std::uint32_t d_;
  std::vector<RunSpec> runs_;
  std::vector<FusedRunParams> params_;
};

std::unique_ptr<FusedExample21Impl> make_cpu_fused_example21(std::uint32_t d,
                                                             std::vector<RunSpec> runs,
                                                             const float* x0);

/// Defined in kernels/batch/example21_fused_cuda.cu on CUDA builds; throws zo::NotCompiled otherwise.
/// `group` is 4, 8, 16 or 32 threads per run, or 0 for automatic.
std::unique_ptr<FusedExample21Impl> make_cuda_fused_example21(std::uint32_t d,
                                                              std::vector<RunSpec> runs,
                                                              const float* x0, unsigned group);

/// The direction-generation ceiling on the GPU (kernels/batch/example21_fused_cuda.cu; NotCompiled stub).
DirectionThroughput cuda_generate_directions(std::size_t runs, std::size_t dim,
                                             std::uint64_t steps);

}  // namespace detail
}  // namespace zo

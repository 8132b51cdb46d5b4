// Internal: the backend-independent state of a RunBatch and the per-backend factories.
#pragma once

#include <memory>
#include <vector>

#include "zo/run_batch.hpp"

namespace zo {
namespace detail {

/// State shared by every backend; the step itself is backend-specific.
class RunBatchImpl {
 public:
  RunBatchImpl(const Objective& objective, std::vector<RunSpec> runs, const BatchOptions& options);
  virtual ~RunBatchImpl();

  virtual Backend backend() const = 0;
  /// Runs one step with index `step` for every active run (statuses_ updated by the policy).
  virtual void step(std::uint64_t step) = 0;
  virtual void copy_points(float* x_host) const = 0;
  virtual void set_points(const float* x_host) = 0;
  virtual void measure(double* loss, double* trace, double* metrics) const = 0;
  /// Called by RunBatch::run before its first step() call. Backends that keep per-run state on a
  /// device upload statuses() here (restore() may have replaced them). Default: nothing.
  virtual void begin_run() {}
  /// Called by RunBatch::run after its last step() call. Backends that queue steps without
  /// waiting for them (CUDA) wait here, bring statuses() up to date and throw the pending
  /// zo::ObjectiveError of NonFinitePolicy::error, setting next_step to the failed step.
  virtual void end_run() {}

  const Objective& objective() const { return objective_; }
  const std::vector<RunSpec>& runs() const { return runs_; }
  std::vector<RunStatus>& statuses() { return statuses_; }
  const std::vector<RunStatus>& statuses() const { return statuses_; }
  NonFinitePolicy policy() const { return policy_; }
  std::uint64_t next_step = 0;

 protected:
  /// Applies the non-finite policy to run k at `step`. Returns true when the run must not be
  /// updated this step. Under NonFinitePolicy::error it throws (before any update happened).
  bool reject_non_finite(std::size_t k, std::uint64_t step, const char* what);

 private:
  const Objective& objective_;
  std::vector<RunSpec> runs_;
  std::vector<RunStatus> statuses_;
  NonFinitePolicy policy_;
};

std::unique_ptr<RunBatchImpl> make_cpu_run_batch(const Objective& objective,
                                                 std::vector<RunSpec> runs, const float* x0,
                                                 const BatchOptions& options);

/// Defined in kernels/ on CUDA builds; throws zo::NotCompiled otherwise.
std::unique_ptr<RunBatchImpl> make_cuda_run_batch(const Objective& objective,
                                                  std::vector<RunSpec> runs, const float* x0,
                                                  const BatchOptions& options);

}  // namespace detail
}  // namespace zo

// Internal: the engine interface behind zo::RunBatch, the state every engine shares, and the
// factories of the engines (generic CPU/CUDA, fused Example 2.1 CPU/CUDA, linear-model margins).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "zo/device.hpp"
#include "zo/run_batch.hpp"

namespace zo {
namespace detail {

/// One way of advancing K runs. RunBatch validates the runs and the options, chooses the engine
/// (select_engine) and forwards to it; an engine holds the iterates wherever it computes.
class BatchEngine {
 public:
  BatchEngine(const Objective& objective, std::vector<RunSpec> runs, const BatchOptions& options);
  virtual ~BatchEngine();
  BatchEngine(const BatchEngine&) = delete;
  BatchEngine& operator=(const BatchEngine&) = delete;

  virtual Engine kind() const = 0;
  virtual Backend backend() const = 0;
  /// GPU threads per run (the fused engine on the GPU); 1 otherwise.
  virtual unsigned gpu_group() const { return 1; }

  /// Steps [next_step, next_step + steps) of every active run. The default runs step() for each
  /// step between begin_run() and end_run(), turning any exception but zo::ObjectiveError into
  /// an ObjectiveError that names the step. next_step ends at the first step not completed.
  virtual void advance(std::uint64_t steps);
  /// advance() with the values of the logged iterations (see RunBatch::run). The default
  /// advances to each logged iteration and calls measure() there.
  virtual void advance_logged(std::uint64_t steps, const std::vector<std::uint64_t>& log_its,
                              double* values);

  virtual void copy_points(float* x_host) const = 0;
  virtual void set_points(const float* x_host) = 0;
  virtual void measure(double* loss, double* trace, double* metrics) const = 0;
  /// The margins engine's kept margins A·x_k (detail::kept_margins); empty otherwise.
  virtual std::vector<double> kept_margins() const { return {}; }

  const Objective& objective() const { return objective_; }
  const std::vector<RunSpec>& runs() const { return runs_; }
  std::vector<RunStatus>& statuses() { return statuses_; }
  const std::vector<RunStatus>& statuses() const { return statuses_; }
  NonFinitePolicy policy() const { return policy_; }
  std::uint64_t next_step = 0;
  double last_seconds = 0.0;

 protected:
  /// One step with index `step` for every active run (statuses updated by the policy); engines
  /// that keep the default advance() implement it.
  virtual void step(std::uint64_t step);
  /// Called by the default advance() before its first step() call. Engines that keep per-run
  /// state on a device upload statuses() here (restore() may have replaced them).
  virtual void begin_run() {}
  /// Called by the default advance() after its last step() call. Engines that queue steps
  /// without waiting for them (CUDA) wait here, bring statuses() up to date and throw the pending
  /// zo::ObjectiveError of NonFinitePolicy::error, setting next_step to the failed step.
  virtual void end_run() {}

  /// Applies the non-finite policy to run k at `step`: `what` names the value that is not
  /// finite. Returns true when the run must not be updated this step. Under
  /// NonFinitePolicy::error it throws (before any update happened).
  bool reject_non_finite(std::size_t k, std::uint64_t step, const char* what);

  /// measure() for iterates held in host memory (K × dim, run-major).
  void measure_host(const float* x, double* loss, double* trace, double* metrics) const;

 private:
  const Objective& objective_;
  std::vector<RunSpec> runs_;
  std::vector<RunStatus> statuses_;
  NonFinitePolicy policy_;
};

/// The stream a CUDA engine orders all its work on: a new non-blocking stream it owns when
/// options.own_stream, else options.stream (the legacy default stream unless the caller gave
/// one), wrapped without ownership.
inline Stream batch_stream(const BatchOptions& options) {
  return options.own_stream ? Stream() : Stream::wrap(options.stream);
}

/// A host PointBatch of `count` contiguous points of dimension `dim`.
PointBatch host_points(const float* data, std::size_t count, std::size_t dim);

std::unique_ptr<BatchEngine> make_cpu_run_batch(const Objective& objective,
                                                std::vector<RunSpec> runs, const float* x0,
                                                const BatchOptions& options);

/// Defined in kernels/batch/run_batch_cuda.cu on CUDA builds; throws zo::NotCompiled otherwise.
std::unique_ptr<BatchEngine> make_cuda_run_batch(const Objective& objective,
                                                 std::vector<RunSpec> runs, const float* x0,
                                                 const BatchOptions& options);

/// The fused Example 2.1 engine on the CPU (src/batch/example21_fused_cpu.cpp) and on the GPU
/// (kernels/batch/example21_fused_cuda.cu; NotCompiled stub). The objective is Example 2.1.
std::unique_ptr<BatchEngine> make_cpu_fused_example21(const Objective& objective,
                                                      std::vector<RunSpec> runs, const float* x0,
                                                      const BatchOptions& options);
std::unique_ptr<BatchEngine> make_cuda_fused_example21(const Objective& objective,
                                                       std::vector<RunSpec> runs, const float* x0,
                                                       const BatchOptions& options);

/// The margins engine (src/batch/linear_margins_cpu.cpp). The objective is a LinearModel.
std::unique_ptr<BatchEngine> make_linear_margins(const Objective& objective,
                                                 std::vector<RunSpec> runs, const float* x0,
                                                 const BatchOptions& options);

}  // namespace detail
}  // namespace zo

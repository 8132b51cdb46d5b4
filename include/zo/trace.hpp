// Estimators of the Hessian trace tr ∇²f(x): the exact closed form, Hutchinson with
// Hessian-vector products (analytic, or central differences of gradients), zeroth-order
// estimates from function values only (the symmetric second difference and the paper's one-sided
// "expected sharpness"), and Hutch++ (Meyer, Musco, Musco, Woodruff 2021). Every estimator
// returns its estimate with a standard error and the number of evaluations it used, so a caller
// can say "tr H = 27.9 ± 0.4". See docs/trace.md for which estimator to use when.
//
// Probes. Probe j of a call with seed s is the counter-based direction (zo/direction.hpp)
//   DirectionKey{seed = s, step = j, substream = kTraceProbeSubstream}   (Hutchinson, ZO,
//                                             sharpness, Hutch++ residual probes)
//   DirectionKey{seed = s, step = j, substream = kTraceSketchSubstream}  (Hutch++ sketch)
// Optimisation runs use substreams 0..q−1 at step t, so trace probes never coincide with a run's
// directions even when the seeds are equal (the whole key space: zo/substreams.hpp). Probes are
// regenerated, never read from storage, except where the objective needs them in memory (the
// batch of perturbed points, the vectors handed to hvp()).
//
// Batching. All points one estimate needs are evaluated in ONE batched objective call: the
// 2m + 1 points x, x ± εv_j of the second difference, the m + 1 points of the sharpness estimate,
// the m Hessian-vector products of Hutchinson (one hvp() call), the 2m gradients of
// gradient-difference Hutchinson (one gradient() call); Hutch++ makes two batched calls (the
// sketch, then the projected products). With the CUDA backend and an objective that accepts
// device memory, the points are built, evaluated and reduced on the GPU, all of it ordered on
// TraceOptions::stream (which the objective receives as PointBatch::stream).
//
// Blocking: every estimator returns host results, so it waits for its device work before it
// returns (zo's rule, see zo/device.hpp); its device buffers are freed in stream order.
//
// Determinism. On the CPU the result is bit-identical for any number of OpenMP threads. On the
// GPU the points and probes are bit-identical to the CPU's; reductions differ only in rounding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zo/backend.hpp"
#include "zo/direction.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"
#include "zo/stream_view.hpp"
#include "zo/substreams.hpp"

namespace zo {

class RunBatch;

/// Former name of kTraceProbeSubstream (zo/substreams.hpp).
[[deprecated("use zo::kTraceProbeSubstream")]] constexpr std::uint32_t kTraceProbeStream =
    kTraceProbeSubstream;
/// Former name of kTraceSketchSubstream (zo/substreams.hpp).
[[deprecated("use zo::kTraceSketchSubstream")]] constexpr std::uint32_t kTraceSketchStream =
    kTraceSketchSubstream;

/// Which estimator of tr ∇²f(x).
enum class TraceEstimator {
  exact,       ///< the objective's closed form (exact_trace()); no probes
  hutchinson,  ///< (1/m) Σ vⱼᵀ H vⱼ with Hessian-vector products (or gradient differences)
  zo,          ///< (1/m) Σ (f(x+εvⱼ) + f(x−εvⱼ) − 2f(x)) / ε², values only
  sharpness,   ///< (2/δ²)(mean f(x+δuⱼ) − f(x)), the paper's one-sided expected sharpness
  hutchpp,     ///< Hutch++: low-rank part exactly, Hutchinson on the deflated rest
};

/// "exact", "hutchinson", "zo", "sharpness" or "hutch++".
ZO_API const char* to_string(TraceEstimator estimator);

/// Parses the names of to_string() (also "hutchpp", "zo2", "fd"); throws zo::InvalidArgument.
ZO_API TraceEstimator parse_trace_estimator(const std::string& text);

/// Where Hutchinson and Hutch++ take Hessian-vector products from.
enum class HessianSource {
  automatic,  ///< hvp() when the objective has it, else central differences of gradient()
  hvp,        ///< the objective's hvp() (zo::NotSupported when absent)
  gradient,   ///< (∇f(x+hv) − ∇f(x−hv)) / (2h) (zo::NotSupported without a gradient)
};

/// Options shared by the estimators. Defaults suit float32 points and double-accumulated values.
struct TraceOptions {
  /// Where to run: `cuda` runs on the GPU when the objective accepts device memory (else on the
  /// host); `automatic` picks `cuda` when a device is usable.
  Backend backend = Backend::automatic;
  /// Probe distribution: gaussian or rademacher (sphere is rejected). `automatic_distribution`
  /// (the default) means Rademacher for Hutchinson/Hutch++ (lower variance) and Gaussian for the
  /// zeroth-order estimators (the paper's choice).
  bool automatic_distribution = true;
  Distribution distribution = Distribution::gaussian;
  /// Finite-difference step: ε of the second difference, δ of the sharpness estimate, h of the
  /// gradient differences. 0 (the default) picks it with default_step().
  double epsilon = 0.0;
  /// Relative precision of the objective's values, used by default_step() for the zeroth-order
  /// estimators: 2^-24 (values computed from float32 data, e.g. a float GEMM) by default; pass
  /// 2^-52 for objectives that accumulate in double from exact inputs.
  double value_precision = 0x1p-24;
  /// Hessian-vector products for Hutchinson and Hutch++.
  HessianSource hessian = HessianSource::automatic;
  /// CUDA backend: the stream that orders every device buffer, kernel and objective call of an
  /// estimate (default: the legacy default stream). Ignored on the CPU.
  StreamView stream{};
};

/// One trace estimate with its error bar and its cost.
struct TraceEstimate {
  TraceEstimator estimator = TraceEstimator::exact;
  double estimate = 0.0;   ///< the estimate of tr ∇²f(x)
  double std_error = 0.0;  ///< standard error (sample std / √probes); 0 for exact, NaN if m < 2
  std::uint64_t value_evaluations = 0;     ///< points at which f was evaluated
  std::uint64_t gradient_evaluations = 0;  ///< points at which ∇f was evaluated
  std::uint64_t hvp_evaluations = 0;       ///< Hessian-vector products (analytic ones)
  std::uint32_t probes = 0;                ///< random probe vectors drawn
  double epsilon = 0.0;                    ///< finite-difference step used (0 when none)
  /// Estimated error of the estimate due to rounding. zo/sharpness: the float32 perturbed points
  /// that could not be made exactly symmetric and the values at `value_precision` (a noise
  /// already contained in std_error; reported to show whether ε is too small). hutch++: the
  /// float32 floor of its deterministic low-rank part (added into std_error). 0 otherwise.
  double rounding_error = 0.0;
  Backend backend = Backend::cpu;  ///< where the work ran
};

/// Formats "tr H = 27.9 ± 0.4 (hutchinson, m = 100, 100 HVPs)": the estimate rounded to the
/// second significant digit of its standard error.
ZO_API std::string to_string(const TraceEstimate& estimate);

/// The default finite-difference step for `estimator` at x (dim floats, host memory):
///   scale = the smallest power of two ≥ max(1, rms(x)),
///   zo, sharpness: ε = value_precision^(1/4) · scale, rounded to the nearest power of two
///     (2^-6 · scale by default), which balances
///     the O(ε²) truncation bias against the O(u/ε²) cancellation of the values,
///   gradient differences: h = (2^-24)^(1/3) · scale = 2^-8 · scale (gradients are float32).
/// Powers of two keep ε·v exact in float32. Returns 0 for estimators that need no step.
ZO_API double default_step(TraceEstimator estimator, const Objective& objective, const float* x,
                           const TraceOptions& options = {});

/// Estimates tr ∇²f at `count` points (host memory, count × objective.dim() floats, point-major)
/// with m probes each; the probes of every point are the same (common random numbers: differences
/// between points are estimated with less noise, each estimate is unbiased on its own). All
/// points of all `count` estimates go into the same batched objective call(s). `probes` is
/// ignored by `exact`; Hutch++ needs probes ≥ 3 and spends them as ⌊m/3⌋ sketch products,
/// ⌊m/3⌋ products with the basis and m − 2⌊m/3⌋ residual products.
///
/// Blocking: returns when the estimates are on the host (device work runs on options.stream).
/// Throws zo::NotSupported when the objective lacks what the estimator needs (exact trace;
/// Hessian-vector products or a gradient for hutchinson/hutch++), zo::InvalidArgument for bad
/// arguments, zo::Error when the objective returns a non-finite value.
ZO_API std::vector<TraceEstimate> estimate_traces(TraceEstimator estimator,
                                                  const Objective& objective, const float* points,
                                                  std::size_t count, std::uint32_t probes,
                                                  std::uint64_t seed,
                                                  const TraceOptions& options = {});

/// estimate_traces() for one point x (host memory, objective.dim() floats). Blocking.
ZO_API TraceEstimate estimate_trace(TraceEstimator estimator, const Objective& objective,
                                    const float* x, std::uint32_t probes, std::uint64_t seed,
                                    const TraceOptions& options = {});

/// The objective's closed-form trace at x (zo::NotSupported when it has none). Blocking.
ZO_API TraceEstimate trace_exact(const Objective& objective, const float* x,
                                 const TraceOptions& options = {});

/// Hutchinson: (1/m) Σⱼ vⱼᵀ(H vⱼ), Rademacher probes by default. Hv from objective.hvp(), or
/// from central differences of gradients, (∇f(x+δ) − ∇f(x−δ))/2 with δ ≈ h·v made exactly
/// symmetric in float32 and the quadratic form taken with δ/h; variance 2(‖H‖²_F − Σ Hᵢᵢ²)/m
/// (Rademacher) or 2‖H‖²_F/m (Gaussian).
/// Blocking (host results).
ZO_API TraceEstimate trace_hutchinson(const Objective& objective, const float* x,
                                      std::uint32_t probes, std::uint64_t seed,
                                      const TraceOptions& options = {});

/// Zeroth-order second difference, values only: (1/m) Σⱼ (f(x+δⱼ) + f(x−δⱼ) − 2f(x)) / ε², with
/// δⱼ ≈ εvⱼ, Gaussian vⱼ by default; 2m + 1 values in one batched call. Bias ε²/12 ·
/// E[∇⁴f[v,v,v,v]]
/// + O(ε⁴); variance as Hutchinson's with Gaussian probes.
/// Blocking (host results).
ZO_API TraceEstimate trace_zo(const Objective& objective, const float* x, std::uint32_t probes,
                              std::uint64_t seed, const TraceOptions& options = {});

/// The paper's one-sided expected sharpness (2/δ²)(mean_j f(x+δuⱼ) − f(x)), Gaussian uⱼ by
/// default; m + 1 values in one batched call. Same expectation as trace_zo() (the odd terms
/// vanish in expectation), but its variance contains 4‖∇f‖²/δ² per probe, so away from
/// stationary points it needs far more probes.
/// Blocking (host results).
ZO_API TraceEstimate trace_sharpness(const Objective& objective, const float* x,
                                     std::uint32_t probes, std::uint64_t seed,
                                     const TraceOptions& options = {});

/// Hutch++ with m ≥ 3 Hessian-vector products: S (k = ⌊m/3⌋ probes), Q = orth(H S) (Householder
/// QR in double on the host), tr(QᵀHQ) + Hutchinson on (I − QQᵀ)H(I − QQᵀ) with the remaining
/// m − 2k probes. std_error is that of the residual Hutchinson part (the projected part is
/// exact given Q) combined with a float32 rounding floor of 2^-22 Σ|qᵢᵀHqᵢ| (also reported as
/// rounding_error). Beats Hutchinson when H has a decaying spectrum; with m ≥ 3·dim the sketch
/// spans everything and the result is exact up to that floor, using 2·dim products.
/// Blocking (host results).
ZO_API TraceEstimate trace_hutchpp(const Objective& objective, const float* x, std::uint32_t probes,
                                   std::uint64_t seed, const TraceOptions& options = {});

/// A seed for the probes of a trace logged at `step` of a run with seed `run_seed` (SplitMix64
/// of both): pass it to estimate the trace with fresh, independent probes at every logged step.
/// Passing the same seed at every step instead gives common random numbers (smoother curves,
/// errors correlated in time).
ZO_API std::uint64_t trace_seed(std::uint64_t run_seed, std::uint64_t step);

/// One logged trace of one run of a RunBatch.
struct RunTrace {
  std::size_t run = 0;     ///< index of the run in the batch
  std::uint64_t step = 0;  ///< batch.next_step() when measured
  TraceEstimate estimate;  ///< the estimate at the run's current iterate
  double exact = 0.0;      ///< the closed-form trace, NaN when the objective has none
};

/// Logging helper for sweeps and the CLI: estimates the trace at the current iterate of every
/// run of `batch` (all runs in one batched call) next to the exact trace where it exists.
/// `objective` must be the batch's objective. Call it every N steps:
///
///     if (batch.next_step() % every == 0)
///       for (const RunTrace& t : log_run_traces(batch, objective, TraceEstimator::zo, 100,
///                                               trace_seed(seed, batch.next_step())))
///         csv << t.run << ',' << t.step << ',' << t.estimate.estimate << ','
///             << t.estimate.std_error << ',' << t.exact << '\n';
///
/// Cost: one copy of the K iterates to the host plus the estimator's batched calls. Blocking.
ZO_API std::vector<RunTrace> log_run_traces(const RunBatch& batch, const Objective& objective,
                                            TraceEstimator estimator, std::uint32_t probes,
                                            std::uint64_t seed, const TraceOptions& options = {});

}  // namespace zo

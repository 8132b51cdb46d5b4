// In-place zeroth-order steps on one huge parameter vector (the memory-bound case of ZO
// fine-tuning): the direction is regenerated on the fly from (seed, step, j) and never stored,
// the parameters are perturbed in place, and the user's own objective (a forward pass) runs
// between the passes. See docs/stepper.md for the pass structure, bytes moved and restore modes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zo/backend.hpp"
#include "zo/direction.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"
#include "zo/run_batch.hpp"
#include "zo/stream_view.hpp"

namespace zo {

/// Element type of a parameter tensor. Arithmetic is always done in fp32; bf16 results are
/// rounded to nearest-even.
enum class DType : std::uint32_t {
  f32 = 0,   ///< IEEE-754 binary32
  bf16 = 1,  ///< bfloat16 (the upper 16 bits of a binary32)
};

/// "f32" or "bf16".
ZO_API const char* to_string(DType dtype);

/// Bytes per element of `dtype` (4 or 2).
ZO_API std::size_t dtype_size(DType dtype);

/// One parameter tensor, updated in place: `count` elements of `dtype` at `data` in `space`.
/// The stepper treats its list of tensors as ONE vector, the concatenation in list order, so the
/// directions (and hence the results) do not depend on how the parameters are split.
struct ParamTensor {
  void* data = nullptr;
  std::uint64_t count = 0;
  DType dtype = DType::f32;
  MemorySpace space = MemorySpace::host;
};

/// How the parameters are brought back to x_t after f(x − λu) has been evaluated.
enum class RestoreMode : std::uint32_t {
  /// MeZO's sequence x + λu, − 2λu, + λu: no extra memory, but each step drifts by rounding
  /// (about half the coordinates move by one ulp per step; see docs/stepper.md).
  arithmetic = 0,
  /// A copy of the parameters (memory = the parameters' size); bit-exact.
  copy = 1,
  /// A 2-bit code per coordinate (d/4 bytes) saying how the rounded restore differs from x_t
  /// (0, +1 or −1 ulp), plus an exception list (12 bytes per entry) holding x_t verbatim where it
  /// differs by more; bit-exact. Falls back to `copy` (with a log line) when the exceptions exceed
  /// StepperOptions::max_escape_fraction of d.
  residual = 2,
};

/// "arithmetic", "copy" or "residual".
ZO_API const char* to_string(RestoreMode mode);

/// Parses "arithmetic", "copy", "residual"; throws zo::InvalidArgument otherwise.
ZO_API RestoreMode parse_restore_mode(const std::string& text);

/// RestoreMode::residual: when the stepper reads how many coordinates a recording pass (one that
/// ends perturbed: perturb(), flip(), the merged update) sent to the exception list, and so when
/// it finds out that the list overflowed.
enum class ResidualCheck : std::uint32_t {
  /// After every recording pass, before the call returns: on overflow the pass is undone and redone
  /// with a larger list at once, so the caller always evaluates f at the right point. On the cuda
  /// backend perturb() and flip() (and a merged update()) wait for their pass to finish.
  per_pass = 0,
  /// Deferred to the next update() (or restore()): perturb() and flip() never wait. An overflow
  /// leaves the coordinates that found no slot at x_t, so the f values of that pair were taken at
  /// a point that was not fully perturbed: update() then restores x_t, grows the list (or switches
  /// to copy) and returns UpdateResult::retry, and the caller evaluates the pair again.
  at_update = 1,
};

/// "per_pass" or "at_update".
ZO_API const char* to_string(ResidualCheck check);

/// Parses "per_pass", "at_update"; throws zo::InvalidArgument otherwise.
ZO_API ResidualCheck parse_residual_check(const std::string& text);

/// Options of a Stepper. The directions of step t are those of DirectionKey{seed, t, j},
/// j = 0..q−1, over the concatenated coordinates (the same directions RunBatch uses for a run
/// with this seed), so a run is resumable from (parameters, seed, step).
struct StepperOptions {
  float lambda = 1e-3f;  ///< smoothing radius λ > 0
  float eta = 1e-6f;     ///< step size η ≥ 0 (η = 0 perturbs and restores only)
  std::uint32_t q = 1;   ///< directions per step, 1 ≤ q ≤ kMaxStepperQ
  std::uint64_t seed = 0;
  Distribution distribution = Distribution::gaussian;
  /// Fuse the next step's +λu perturbation into the update pass (two memory passes per step
  /// instead of three). After update() the parameters then hold x_{t+1} + λu; call restore() to
  /// get x_{t+1} itself (e.g. before evaluating or saving it).
  bool merge_next_perturbation = false;
  RestoreMode restore = RestoreMode::arithmetic;
  /// What update() does with a NaN/Inf f value (see Stepper::update).
  NonFinitePolicy on_non_finite = NonFinitePolicy::error;
  /// `automatic` picks the backend from where the tensors live (device memory → cuda).
  Backend backend = Backend::automatic;
  /// CUDA stream that orders all device work (default: the legacy default stream). It must
  /// outlive the stepper.
  StreamView stream{};
  std::uint64_t start_step = 0;  ///< index of the first step (resume)
  /// Global index of the first coordinate: a shard of a larger vector uses the directions of its
  /// global coordinates. Must be 0 for the sphere distribution (its norm is global).
  std::uint64_t coordinate_offset = 0;
  /// RestoreMode::residual: largest exception list, as a fraction of d, before falling back to a
  /// copy (1/16 keeps the residual record ≤ 1 byte per coordinate).
  double max_escape_fraction = 1.0 / 16.0;
  /// RestoreMode::residual: check the exception list after every recording pass (per_pass, the
  /// default) or once per pair in update() (at_update: no host wait in perturb() and flip();
  /// update() may return UpdateResult::retry). Ignored by the other modes.
  ResidualCheck residual_check = ResidualCheck::per_pass;
  /// CUDA backend, Distribution::gaussian: generate the directions with the GPU's hardware
  /// approximations (fast log2, rsqrt, sin/cos) from the same Philox words. Faster, and
  /// deterministic on a given GPU and driver, but the directions are no longer bit-identical to
  /// the CPU backend's (which always uses the exact generator, as do the other distributions).
  /// Off by default. See docs/cuda-backend.md for its statistics.
  bool gpu_fast_gaussian = false;
};

/// Largest q a Stepper accepts (the q update coefficients travel as kernel arguments).
constexpr std::uint32_t kMaxStepperQ = 256;

/// Where a Stepper is in its step.
enum class StepperPhase {
  ready,      ///< parameters hold x_t; next: perturb() (of direction() > 0 after a retry)
  plus,       ///< parameters hold x_t + λu_j; evaluate f₊, then flip()
  minus,      ///< parameters hold x_t − λu_j; evaluate f₋, then update(f₊, f₋)
  recorded,   ///< the pair of direction j < q−1 is recorded; next: perturb() (direction j+1)
  perturbed,  ///< merged: parameters already hold x_t + λu_0; next: perturb() (no pass)
  diverged,   ///< NonFinitePolicy::mark_diverged froze the stepper; parameters hold x_t
};

/// "ready", "plus", "minus", "recorded", "perturbed" or "diverged".
ZO_API const char* to_string(StepperPhase phase);

/// What an update() call did.
enum class UpdateResult {
  recorded,  ///< the pair of direction j < q−1 was recorded; the step continues with perturb()
  applied,   ///< the step's update was applied; step() advanced
  skipped,   ///< a non-finite value under NonFinitePolicy::skip: x_t kept, step() advanced
  /// ResidualCheck::at_update only: an exception-list overflow during this pair's passes: the f
  /// values were taken at a point that was not fully perturbed; the parameters hold x_t again
  /// (step() and direction() unchanged, phase ready, the pairs recorded before it kept); call
  /// perturb() and evaluate the pair again.
  retry,
};

/// "recorded", "applied", "skipped" or "retry".
ZO_API const char* to_string(UpdateResult result);

namespace detail {
class StepperImpl;
}

/// The MeZO sequence on parameters the caller owns, with the order enforced:
///
///     zo::Stepper s(params, options);
///     for (t...) for (j = 0; j < q; ++j) {
///       s.perturb();                      // x ← x_t + λu_j
///       double fp = forward();
///       s.flip();                         // x ← x_t − λu_j
///       double fm = forward();
///       s.update(fp, fm);                 // j < q−1: recorded; j = q−1: x ← x_{t+1}
///     }
///
/// With ResidualCheck::at_update, update() can also return UpdateResult::retry; the pair is then
/// evaluated again (the loop over j does not advance):
///
///     for (std::uint32_t j = 0; j < q;) {
///       s.perturb(); double fp = forward(); s.flip(); double fm = forward();
///       if (s.update(fp, fm) != zo::UpdateResult::retry) ++j;
///     }
///
/// The last update of a step applies all q updates x_{t+1} = x_t − Σ_j (η g_j / q) u_j,
/// g_j = (f₊ − f₋)/(2λ), in one pass fused with the restore (and, if merged, with the next
/// step's perturbation). Calls in the wrong order throw zo::InvalidArgument and change nothing.
/// A NaN/Inf f value never reaches the parameters: update() restores x_t, then applies
/// `on_non_finite` (error: throws zo::ObjectiveError naming the step and direction, step()
/// unchanged; skip: the step is skipped; mark_diverged: the stepper freezes).
///
/// Memory: the parameters are modified in place; the parameters must not be written by anyone
/// else between stepper calls. On the cuda backend all work is ordered on `options.stream`.
///
/// Blocking (zo's rule, zo/device.hpp): the passes only touch device memory, so perturb(), flip(),
/// update() and restore() are asynchronous on the cuda backend: they queue their pass on
/// `options.stream` and return (order your forward pass on the same stream). Residual mode reads
/// an 8-byte counter of each recording pass back to the host: with ResidualCheck::per_pass
/// perturb(), flip() and a merged update() wait for their own pass; with ResidualCheck::at_update
/// they never wait, and update() and restore() wait for the counts of the passes before them
/// (one event, normally already complete once the caller has its f values on the host).
/// Reallocating an overflowing record also waits. synchronize() waits explicitly. On the cpu
/// backend every call is synchronous.
class ZO_API Stepper {
 public:
  /// Validates the tensors and options (throws zo::InvalidArgument naming the bad one), picks
  /// the backend and allocates the restore record. The tensors must all be host memory (cpu
  /// backend) or all device memory of the current device (cuda backend). Blocking (it uploads
  /// the tensor list).
  Stepper(std::vector<ParamTensor> params, StepperOptions options = {});
  /// Waits for the stepper's device work, then frees the restore record (never throws). It does
  /// not restore the parameters: call restore() first if they may be perturbed.
  ~Stepper();
  /// Moves the stepper; the moved-from object may only be destroyed or assigned to.
  Stepper(Stepper&&) noexcept;
  /// Move assignment (see the move constructor).
  Stepper& operator=(Stepper&&) noexcept;
  Stepper(const Stepper&) = delete;
  Stepper& operator=(const Stepper&) = delete;

  /// Moves the parameters to x_t + λu_j (phases ready, recorded and perturbed). Asynchronous on
  /// the cuda backend (see the class comment).
  void perturb();
  /// Moves the parameters from x_t + λu_j to x_t − λu_j (phase plus). Asynchronous on the cuda
  /// backend.
  void flip();
  /// Records f₊ = f(x_t + λu_j), f₋ = f(x_t − λu_j) (phase minus). For j = q−1 also restores
  /// and applies the step's q updates in one pass. See the class comment for non-finite values.
  /// ResidualCheck::at_update: first checks this pair's passes for an exception-list overflow
  /// and, if one overflowed, returns UpdateResult::retry (before looking at f₊, f₋).
  /// Asynchronous on the cuda backend (f₊ and f₋ are host values the caller already has), except
  /// for the wait of at_update described in the class comment.
  UpdateResult update(double f_plus, double f_minus);
  /// Brings the parameters back to the current iterate from any phase (exactly, except in
  /// arithmetic mode) and discards the pairs recorded for the step; step() is unchanged.
  /// ResidualCheck::at_update: also reads the counts of the recording passes since the last
  /// update() and grows an overflowed list (the restore is exact either way). Asynchronous on the
  /// cuda backend, except for that wait.
  void restore();
  /// Blocks until the stepper's device work has finished (no-op on the cpu backend).
  void synchronize() const;

  /// Index t of the current step.
  std::uint64_t step() const;
  /// Index j of the current direction within the step.
  std::uint32_t direction() const;
  /// Where the stepper is in its step (which call comes next).
  StepperPhase phase() const;
  /// The backend in use: cpu for host tensors, cuda for device tensors.
  Backend backend() const;
  /// The restore mode in use (residual may have fallen back to copy).
  RestoreMode restore_mode() const;
  /// d, the total number of coordinates.
  std::uint64_t dimension() const;
  /// Steps skipped under NonFinitePolicy::skip.
  std::uint64_t skipped_steps() const;
  /// Bytes of memory (host or device, as the parameters) held for the restore record.
  std::uint64_t record_bytes() const;
  /// Residual mode: the coordinates the last recording pass sent to the exception list (0 once
  /// a later pass has written them back, and in the other modes). With
  /// ResidualCheck::at_update this waits for that pass on the cuda backend, and a value above the
  /// list's capacity means the pass overflowed (the next update() returns retry).
  std::uint64_t escapes() const;
  /// The q projected gradients g_j of the last applied step.
  const std::vector<double>& projected_gradients() const;
  /// The options the stepper was built with.
  const StepperOptions& options() const;

 private:
  std::unique_ptr<detail::StepperImpl> impl_;
};

}  // namespace zo

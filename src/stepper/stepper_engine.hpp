// Internal: the memory side of a Stepper. The state machine (src/stepper/stepper.cpp) decides which
// fused pass runs; an engine runs it over the tensor list and owns the restore record (backup
// copy, residual codes, exception list). One engine per backend: src/stepper/stepper_cpu.cpp (the
// reference) and kernels/stepper/stepper_cuda.cu; CPU-only builds get a NotCompiled stub.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "stepper/stepper_math.hpp"
#include "zo/stepper.hpp"

namespace zo {
namespace detail {

/// One tensor of the concatenated vector: local coordinates [begin, begin + count).
struct StepperTensor {
  void* data;
  void* backup;  ///< copy mode: the tensor's saved values (same dtype); else nullptr
  std::uint64_t begin;
  std::uint64_t count;
  std::uint32_t bf16;
};

/// Geometry shared by both engines: d coordinates starting at global coordinate `offset`.
struct StepperGeometry {
  std::uint64_t dim = 0;
  std::uint64_t offset = 0;
  /// Global Philox block of unit 0.
  std::uint64_t first_block() const { return offset / 4; }
  /// Number of units (Philox blocks touching the vector).
  std::uint64_t units() const { return (offset + dim + 3) / 4 - offset / 4; }
};

class StepperEngine {
 public:
  /// run_pass()'s answer for a pass that writes no exception list.
  static constexpr std::uint64_t kNoTicket = ~std::uint64_t{0};
  /// How many recording passes' counts an engine keeps (the state machine never has more than
  /// three unread).
  static constexpr std::uint64_t kCountSlots = 8;

  virtual ~StepperEngine();

  virtual Backend backend() const = 0;

  /// Allocates the record of `mode` (frees any other): copy → a backup per tensor;
  /// residual → units() bytes of codes and an exception list of `escape_capacity` entries.
  virtual void allocate_record(RestoreMode mode, std::uint64_t escape_capacity) = 0;
  /// Grows the exception list to at least `capacity` entries (contents are not kept).
  virtual void reserve_escapes(std::uint64_t capacity) = 0;
  virtual std::uint64_t escape_capacity() const = 0;
  /// Bytes held by the record.
  virtual std::uint64_t record_bytes() const = 0;

  /// Runs one pass over every tensor, without waiting for it. Residual mode with
  /// spec.exit_sign ≠ 0 (a recording pass): the exception list is rewritten, and the pass's entry
  /// count is kept under the returned ticket (read it with escape_count()); a count above the
  /// capacity the list had during the pass means the list overflowed and the coordinates that
  /// found no slot were left holding their base (code 3). Other passes return kNoTicket.
  virtual std::uint64_t run_pass(const PassSpec& spec) = 0;
  /// The entry count of the recording pass `ticket`, one of the last kCountSlots recording
  /// passes (the GPU engine waits for that pass's copy of its count, not for later work).
  virtual std::uint64_t escape_count(std::uint64_t ticket) = 0;
  /// Writes the exceptions of the last recording pass back into the parameters (x[i] ← base
  /// bits): its first min(count, escape_capacity()) entries, the count read where it lies (the
  /// GPU engine reads it on the device: no host wait). No-op when the list was reallocated after
  /// that pass.
  virtual void scatter_escapes() = 0;
  /// √d/‖g‖ of the Gaussian direction `key` over the whole vector (zo::sphere_scale).
  virtual float sphere_scale(DirectionKey key) = 0;
  /// True when the engine computes the sphere scales of a pass's directions itself, on the
  /// device, and ignores PassSpec's scale fields (so the host never waits for them); the state
  /// machine then does not call sphere_scale().
  virtual bool scales_on_device() const { return false; }
  virtual void synchronize() = 0;
};

std::unique_ptr<StepperEngine> make_cpu_stepper_engine(const std::vector<ParamTensor>& params,
                                                       StepperGeometry geometry);

/// Defined in kernels/stepper/stepper_cuda.cu on CUDA builds; throws zo::NotCompiled otherwise.
/// `fast_gaussian`: StepperOptions::gpu_fast_gaussian.
std::unique_ptr<StepperEngine> make_cuda_stepper_engine(const std::vector<ParamTensor>& params,
                                                        StepperGeometry geometry, StreamView stream,
                                                        bool fast_gaussian);

}  // namespace detail
}  // namespace zo

// zo::StreamView: a non-owning, strongly typed reference to a CUDA stream, in plain C++17 (no CUDA
// types). Everything in zo that queues device work takes one: PointBatch::stream,
// BatchOptions::stream, StepperOptions::stream, TraceOptions::stream, the calls of zo/device.hpp.
//
// The one rule for "no stream given": a default-constructed StreamView is the CUDA legacy default
// stream (stream 0, as in RMM's cuda_stream_view). zo never creates a stream behind the caller's
// back unless an option says so by name (BatchOptions::own_stream). The legacy default stream
// waits for, and is waited for by, every blocking stream of the device; it does not order work
// with non-blocking streams (such as those zo::Stream creates), so pass the stream your own work
// runs on.
#pragma once

#include <cstdint>

#include "zo/export.hpp"

namespace zo {

/// A view of a CUDA stream: the `cudaStream_t` as an opaque pointer. Cheap to copy; never owns
/// or destroys the stream (see zo::Stream for an owner). It can only be built explicitly from a
/// `void*` that is a `cudaStream_t` (`zo::StreamView view(my_cuda_stream);`): no pointer converts
/// to it implicitly.
class ZO_API StreamView {
 public:
  /// The CUDA legacy default stream (stream 0): what "no stream given" means everywhere in zo.
  constexpr StreamView() noexcept = default;
  /// Views `cuda_stream`, a `cudaStream_t` (nullptr: the legacy default stream). Never throws.
  constexpr explicit StreamView(void* cuda_stream) noexcept : handle_(cuda_stream) {}

  /// The legacy default stream; the same as StreamView().
  static constexpr StreamView legacy_default() noexcept { return StreamView(); }
  /// CUDA's per-thread default stream (`cudaStreamPerThread`).
  static StreamView per_thread_default() noexcept {
    return StreamView(reinterpret_cast<void*>(std::uintptr_t{2}));
  }

  /// The `cudaStream_t`, as `void*` (cast it back with static_cast in CUDA code).
  constexpr void* handle() const noexcept { return handle_; }
  /// Whether this is the legacy default stream (stream 0, or the `cudaStreamLegacy` handle).
  bool is_legacy_default() const noexcept {
    return handle_ == nullptr || handle_ == reinterpret_cast<void*>(std::uintptr_t{1});
  }
  /// Blocks until all work queued on the stream has finished. Throws zo::NotCompiled in a
  /// CPU-only build, zo::DeviceUnavailable without a usable device.
  void synchronize() const;

  /// Two views are equal when they hold the same handle.
  friend constexpr bool operator==(StreamView a, StreamView b) noexcept {
    return a.handle_ == b.handle_;
  }
  /// Two views differ when they hold different handles.
  friend constexpr bool operator!=(StreamView a, StreamView b) noexcept {
    return a.handle_ != b.handle_;
  }

 private:
  void* handle_ = nullptr;
};

}  // namespace zo

// Device memory, streams and events of the CUDA backend, as plain C++17 types: RAII owners that
// never expose CUDA types (a stream is a zo::StreamView, see zo/stream_view.hpp; "no stream
// given" is the legacy default stream).
//
// Every function here needs the CUDA backend. In a CPU-only build of libzo the API is the same
// and throws zo::NotCompiled; in a CUDA build without a usable device it throws
// zo::DeviceUnavailable. Default-constructed (empty) objects, moves and destructors never need a
// device and never throw. All objects use the current CUDA device of the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "zo/direction.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"
#include "zo/stream_view.hpp"

namespace zo {

/// Free and total global memory of the current CUDA device, in bytes.
struct DeviceMemoryInfo {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
};

/// Queries the current device's memory (cudaMemGetInfo).
ZO_API DeviceMemoryInfo device_memory_info();

/// A CUDA stream: either owned (created by the default constructor, destroyed with the object)
/// or a non-owning wrapper of a stream that the caller (e.g. a deep-learning framework) manages,
/// see wrap(). view() (or the implicit conversion) is what PointBatch::stream,
/// BatchOptions::stream and every other stream parameter take.
class ZO_API Stream {
 public:
  /// Creates a new non-blocking stream owned by this object (it does not synchronise with the
  /// legacy default stream).
  Stream();
  /// Wraps the caller's stream without taking ownership. Needs no device; never throws.
  static Stream wrap(StreamView stream) noexcept;
  /// Wraps the caller's `cudaStream_t` (as void*; nullptr is the legacy default stream) without
  /// taking ownership. Needs no device; never throws.
  static Stream wrap(void* cuda_stream) noexcept;
  /// Destroys the stream if owned (CUDA finishes its queued work first); never throws.
  ~Stream();
  /// Moves the stream and its ownership; the source becomes an unowned view of the legacy default
  /// stream.
  Stream(Stream&& other) noexcept;
  /// Move assignment: destroys an owned stream first.
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  /// A view of the stream, valid while this object lives.
  StreamView view() const& noexcept { return StreamView(handle_); }
  /// No view of a temporary Stream: it would dangle.
  StreamView view() const&& = delete;
  /// The same as view(), so that a Stream can be passed where a StreamView is expected.
  operator StreamView() const& noexcept { return view(); }  // NOLINT(google-explicit-constructor)
  /// No view of a temporary Stream: it would dangle.
  operator StreamView() const&& = delete;
  /// The `cudaStream_t` as void* (for interoperation, e.g. cublasSetStream).
  void* handle() const noexcept { return handle_; }
  /// Whether this object destroys the stream.
  bool owns() const noexcept { return owns_; }
  /// Blocks until all work queued on the stream has finished.
  void synchronize() const;

 private:
  Stream(void* handle, bool owns) noexcept : handle_(handle), owns_(owns) {}
  void* handle_ = nullptr;
  bool owns_ = false;
};

/// A CUDA event for timing device work: record() it on a stream before and after the work, then
/// elapsed_ms(). Timing-only events are not created with cudaEventDisableTiming.
class ZO_API Event {
 public:
  /// Creates the event.
  Event();
  /// Destroys the event; never throws.
  ~Event();
  /// Moves the event; the source becomes empty.
  Event(Event&& other) noexcept;
  /// Move assignment: destroys this event first.
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Records the event on `stream` (it completes when the work queued before it has).
  void record(StreamView stream = {});
  /// Blocks until the event has completed.
  void synchronize() const;
  /// Milliseconds of device time between two recorded events; waits for `stop`.
  static float elapsed_ms(const Event& start, const Event& stop);

 private:
  void* event_ = nullptr;
};

/// Copies `bytes` between two pointers, each in host or device memory (the CUDA runtime infers
/// the direction from unified addressing). Ordered on `stream` and synchronous: the copy has
/// finished when the call returns, so host buffers can be reused at once.
ZO_API void copy_bytes(void* dst, const void* src, std::size_t bytes, StreamView stream = {});

/// Like copy_bytes, but returns once the copy is queued on `stream`. Host memory must stay valid
/// until the stream reaches the copy (and must be page-locked for the copy to overlap).
ZO_API void copy_bytes_async(void* dst, const void* src, std::size_t bytes, StreamView stream = {});

/// An owned block of device global memory (cudaMalloc'd, at least 256-byte aligned). Move-only;
/// the destructor frees it and never throws.
class ZO_API DeviceMemory {
 public:
  /// An empty block (no allocation, no device needed).
  DeviceMemory() noexcept = default;
  /// Allocates `bytes` bytes (uninitialised); throws zo::CudaError when the device is out of
  /// memory. Zero bytes gives an empty block.
  explicit DeviceMemory(std::size_t bytes);
  ~DeviceMemory();
  DeviceMemory(DeviceMemory&& other) noexcept;
  DeviceMemory& operator=(DeviceMemory&& other) noexcept;
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  /// Device pointer to the first byte (nullptr when empty).
  void* data() noexcept { return data_; }
  const void* data() const noexcept { return data_; }
  /// Size in bytes.
  std::size_t bytes() const noexcept { return bytes_; }
  bool empty() const noexcept { return bytes_ == 0; }

  /// Copies `bytes` bytes from host memory `src` to offset `offset` of this block (synchronous,
  /// ordered on `stream`). Throws zo::InvalidArgument if the range does not fit.
  void copy_from_host(const void* src, std::size_t bytes, std::size_t offset = 0,
                      StreamView stream = {});
  /// Copies `bytes` bytes at offset `offset` of this block to host memory `dst` (synchronous).
  void copy_to_host(void* dst, std::size_t bytes, std::size_t offset = 0,
                    StreamView stream = {}) const;
  /// Sets every byte to zero (queued on `stream`; asynchronous).
  void fill_zero(StreamView stream = {});
  /// Frees the block now (waits for the device first); the object becomes empty. Never throws.
  void reset() noexcept;

 private:
  void* data_ = nullptr;
  std::size_t bytes_ = 0;
};

/// A typed, owned device array of `size()` elements of a trivially copyable T, built on
/// DeviceMemory. Move-only; copies to and from the host are synchronous.
template <typename T>
class DeviceArray {
 public:
  /// An empty array.
  DeviceArray() noexcept = default;
  /// `count` uninitialised elements.
  explicit DeviceArray(std::size_t count) : memory_(count * sizeof(T)), size_(count) {}
  /// `count` elements copied from host memory `src`.
  DeviceArray(const T* src, std::size_t count, StreamView stream = {}) : DeviceArray(count) {
    copy_from_host(src, count, 0, stream);
  }
  /// The elements of `host`.
  explicit DeviceArray(const std::vector<T>& host, StreamView stream = {})
      : DeviceArray(host.data(), host.size(), stream) {}
  DeviceArray(DeviceArray&& other) noexcept
      : memory_(std::move(other.memory_)), size_(std::exchange(other.size_, 0)) {}
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    memory_ = std::move(other.memory_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  /// Number of elements.
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  /// Device pointer to element 0 (nullptr when empty).
  T* data() noexcept { return static_cast<T*>(memory_.data()); }
  const T* data() const noexcept { return static_cast<const T*>(memory_.data()); }

  /// Copies `count` elements from host `src` to elements [first, first + count).
  void copy_from_host(const T* src, std::size_t count, std::size_t first = 0,
                      StreamView stream = {}) {
    memory_.copy_from_host(src, count * sizeof(T), first * sizeof(T), stream);
  }
  /// Copies elements [first, first + count) to host `dst`.
  void copy_to_host(T* dst, std::size_t count, std::size_t first = 0,
                    StreamView stream = {}) const {
    memory_.copy_to_host(dst, count * sizeof(T), first * sizeof(T), stream);
  }
  /// All elements as a host vector.
  std::vector<T> to_host(StreamView stream = {}) const {
    std::vector<T> out(size_);
    copy_to_host(out.data(), size_, 0, stream);
    return out;
  }
  /// Sets every element's bytes to zero (asynchronous on `stream`).
  void fill_zero(StreamView stream = {}) { memory_.fill_zero(stream); }
  /// Frees the array; it becomes empty. Never throws.
  void reset() noexcept {
    memory_.reset();
    size_ = 0;
  }

 private:
  DeviceMemory memory_;
  std::size_t size_ = 0;
};

/// Writes coordinates [0, d) of the direction (`dist`, `key`) to device memory `out`, queued on
/// `stream` (asynchronous). Bit-identical to fill_direction() on the host, including the sphere
/// scale (the same chunked reduction, computed on the device).
ZO_API void fill_direction_device(Distribution dist, DirectionKey key, std::uint64_t d, float* out,
                                  StreamView stream = {});

}  // namespace zo

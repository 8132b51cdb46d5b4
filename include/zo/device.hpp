// Device memory, streams and events of the CUDA backend, as plain C++17 types: RAII owners that
// never expose CUDA types (a stream is a zo::StreamView, see zo/stream_view.hpp).
//
// Blocking and asynchronous calls: ONE rule for the whole library.
//  * A call that returns results to the host (a return value computed on the device, a host
//    output buffer, an error found by device work) or that reads host memory blocks until those
//    results are there and the host memory may be reused.
//  * A call that only touches device memory (kernels, device-to-device copies, fills, allocations
//    and frees) is queued on its stream and returns at once: it is asynchronous, and its doc
//    comment says so. Synchronise the stream (StreamView::synchronize, Stream::synchronize) before
//    reading its results on the host.
//  * A call that breaks the rule says so in its name (copy_bytes_async) or, where a small host
//    round trip is unavoidable inside an otherwise asynchronous call, in its doc comment.
// "No stream given" always means the legacy default stream (a default-constructed StreamView).
//
// Memory: DeviceBuffer is the one owner of device memory in zo (every component allocates
// through it); DeviceArray<T> is its typed form. A buffer is associated with one stream: it is
// allocated and freed in that stream's order (cudaMallocAsync / cudaFreeAsync where the device
// supports memory pools, which every GPU zo targets does; cudaMalloc / cudaFree otherwise), and
// its copies and fills are queued there. Work on another stream that uses the buffer must be
// ordered with its stream by the caller (an event, or a synchronisation), or the buffer moved to
// that stream with set_stream(). The stream must outlive the buffer (or the buffer be reset()
// first).
//
// Every function here needs the CUDA backend. In a CPU-only build of libzo the API is the same
// and throws zo::NotCompiled; in a CUDA build without a usable device it throws
// zo::DeviceUnavailable. Default-constructed (empty) objects, moves, destructors, and size
// arithmetic that allocates nothing never need a device and never throw. All objects use the
// current CUDA device of the calling thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "zo/direction.hpp"
#include "zo/export.hpp"
#include "zo/objective.hpp"
#include "zo/stream_view.hpp"

namespace zo {

/// Free and total global memory of the current CUDA device, in bytes.
struct DeviceMemoryInfo {
  std::size_t free_bytes = 0;   ///< free global memory
  std::size_t total_bytes = 0;  ///< total global memory
};

/// Queries the current device's memory (cudaMemGetInfo). Blocking (a host query).
ZO_API DeviceMemoryInfo device_memory_info();

/// A CUDA stream: either owned (created by the default constructor, destroyed with the object)
/// or a non-owning wrapper of a stream that the caller (e.g. a deep-learning framework) manages,
/// see wrap(). view() is what PointBatch::stream, BatchOptions::stream and the other stream
/// parameters take.
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
  /// Asynchronous.
  void record(StreamView stream = {});
  /// Blocks until the event has completed.
  void synchronize() const;
  /// Milliseconds of device time between two recorded events. Blocking: waits for `stop`.
  static float elapsed_ms(const Event& start, const Event& stop);

 private:
  void* event_ = nullptr;
};

/// Copies `bytes` between two pointers, each in host or device memory (the CUDA runtime infers
/// the direction from unified addressing), ordered on `stream`. Blocking: the copy has finished
/// when the call returns, so host buffers can be reused at once.
ZO_API void copy_bytes(void* dst, const void* src, std::size_t bytes, StreamView stream = {});

/// Like copy_bytes, but asynchronous: returns once the copy is queued on `stream`. Host memory
/// must stay valid until the stream reaches the copy (and must be page-locked for the copy to
/// overlap).
ZO_API void copy_bytes_async(void* dst, const void* src, std::size_t bytes, StreamView stream = {});

/// An owned, stream-ordered block of device global memory: `size()` bytes in use out of
/// `capacity()` allocated, at least 256-byte aligned, associated with the stream `stream()` (see
/// the file comment for the ordering rules). Growth is geometric (next_capacity()) and the block
/// never shrinks unless asked (shrink_to_fit(), reset()). Move-only; the destructor frees the
/// block in stream order and never throws.
class ZO_API DeviceBuffer {
 public:
  /// An empty buffer on the legacy default stream (no allocation, no device needed).
  DeviceBuffer() noexcept = default;
  /// Allocates `bytes` bytes (uninitialised) in the order of `stream`. Asynchronous: the memory
  /// may be used by work queued on `stream` after this call. Zero bytes allocates nothing.
  /// Throws zo::CudaError when the device is out of memory.
  explicit DeviceBuffer(std::size_t bytes, StreamView stream = {});
  /// Frees the block in the order of stream() (asynchronous); never throws.
  ~DeviceBuffer();
  /// Moves the block and its stream; the source becomes empty.
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  /// Move assignment: frees this block first (in the order of its stream).
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  /// Device pointer to the first byte (nullptr when nothing is allocated).
  void* data() noexcept { return data_; }
  /// Device pointer to the first byte (nullptr when nothing is allocated).
  const void* data() const noexcept { return data_; }
  /// Bytes in use.
  std::size_t size() const noexcept { return size_; }
  /// Former name of size().
  std::size_t bytes() const noexcept { return size_; }
  /// Bytes allocated (≥ size()).
  std::size_t capacity() const noexcept { return capacity_; }
  /// Whether size() is 0.
  bool empty() const noexcept { return size_ == 0; }
  /// The stream that orders the allocation, the frees, the copies and the fills.
  StreamView stream() const noexcept { return stream_; }
  /// Associates the buffer with `stream` from now on (no device work). The caller orders the
  /// work already queued on the old stream before the new stream's (e.g. with an event).
  void set_stream(StreamView stream) noexcept { stream_ = stream; }

  /// The capacity that growing a block of `capacity` bytes to hold `requested` bytes allocates:
  /// `capacity` when it is enough, else max(requested, 2·capacity) (saturating). Pure arithmetic.
  static std::size_t next_capacity(std::size_t capacity, std::size_t requested) noexcept;
  /// Ensures capacity() ≥ `bytes`, growing to next_capacity(capacity(), bytes); size() and the
  /// contents are kept (a device-to-device copy). Asynchronous on stream(). On failure (zo::
  /// CudaError) the buffer is unchanged.
  void reserve(std::size_t bytes);
  /// Sets size() to `bytes`, growing like reserve() when needed (never shrinking the block); the
  /// first min(size(), bytes) bytes are kept, new bytes are uninitialised. Asynchronous.
  void resize(std::size_t bytes);
  /// Reallocates to capacity() = size() (frees everything when size() is 0). Asynchronous.
  void shrink_to_fit();
  /// Frees the block in the order of stream() (asynchronous); size and capacity become 0.
  /// Never throws.
  void reset() noexcept;

  /// Copies `bytes` bytes from host memory `src` to offset `offset` of this buffer, on stream().
  /// Blocking (the host memory may be reused on return). Throws zo::InvalidArgument if the range
  /// does not fit in size().
  void copy_from_host(const void* src, std::size_t bytes, std::size_t offset = 0);
  /// Copies `bytes` bytes at offset `offset` of this buffer to host memory `dst`, on stream().
  /// Blocking. Throws zo::InvalidArgument if the range does not fit in size().
  void copy_to_host(void* dst, std::size_t bytes, std::size_t offset = 0) const;
  /// Sets the size() bytes to zero. Asynchronous on stream().
  void fill_zero();

 private:
  void reallocate(std::size_t capacity);
  void* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  StreamView stream_;
};

/// Former name of DeviceBuffer.
using DeviceMemory = DeviceBuffer;

/// A typed, owned device array of `size()` elements of a trivially copyable T: a DeviceBuffer of
/// size() · sizeof(T) bytes, with the same stream, growth and blocking rules. Move-only.
template <typename T>
class DeviceArray {
 public:
  /// An empty array on the legacy default stream.
  DeviceArray() noexcept = default;
  /// `count` uninitialised elements allocated in the order of `stream` (asynchronous).
  explicit DeviceArray(std::size_t count, StreamView stream = {})
      : buffer_(count * sizeof(T), stream) {}
  /// `count` elements copied from host memory `src` on `stream`. Blocking.
  DeviceArray(const T* src, std::size_t count, StreamView stream = {})
      : DeviceArray(count, stream) {
    copy_from_host(src, count);
  }
  /// The elements of `host`, copied on `stream`. Blocking.
  explicit DeviceArray(const std::vector<T>& host, StreamView stream = {})
      : DeviceArray(host.data(), host.size(), stream) {}
  /// Moves the elements and the stream; the source becomes empty.
  DeviceArray(DeviceArray&& other) noexcept = default;
  /// Move assignment: frees this array first (in the order of its stream).
  DeviceArray& operator=(DeviceArray&& other) noexcept = default;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  /// Number of elements.
  std::size_t size() const noexcept { return buffer_.size() / sizeof(T); }
  /// Elements allocated (≥ size()).
  std::size_t capacity() const noexcept { return buffer_.capacity() / sizeof(T); }
  /// Whether size() is 0.
  bool empty() const noexcept { return buffer_.empty(); }
  /// Device pointer to element 0 (nullptr when nothing is allocated).
  T* data() noexcept { return static_cast<T*>(buffer_.data()); }
  /// Device pointer to element 0 (nullptr when nothing is allocated).
  const T* data() const noexcept { return static_cast<const T*>(buffer_.data()); }
  /// The stream of the underlying buffer.
  StreamView stream() const noexcept { return buffer_.stream(); }
  /// Associates the array with `stream` (see DeviceBuffer::set_stream).
  void set_stream(StreamView stream) noexcept { buffer_.set_stream(stream); }
  /// The underlying bytes.
  DeviceBuffer& buffer() noexcept { return buffer_; }
  /// The underlying bytes.
  const DeviceBuffer& buffer() const noexcept { return buffer_; }

  /// Ensures capacity() ≥ `count`, keeping the elements (DeviceBuffer::reserve). Asynchronous.
  void reserve(std::size_t count) { buffer_.reserve(count * sizeof(T)); }
  /// Sets size() to `count`, keeping the first elements (DeviceBuffer::resize). Asynchronous.
  void resize(std::size_t count) { buffer_.resize(count * sizeof(T)); }
  /// Releases unused capacity (DeviceBuffer::shrink_to_fit). Asynchronous.
  void shrink_to_fit() { buffer_.shrink_to_fit(); }
  /// Frees the array in stream order; it becomes empty. Never throws.
  void reset() noexcept { buffer_.reset(); }

  /// Copies `count` elements from host `src` to elements [first, first + count). Blocking.
  void copy_from_host(const T* src, std::size_t count, std::size_t first = 0) {
    buffer_.copy_from_host(src, count * sizeof(T), first * sizeof(T));
  }
  /// Copies elements [first, first + count) to host `dst`. Blocking.
  void copy_to_host(T* dst, std::size_t count, std::size_t first = 0) const {
    buffer_.copy_to_host(dst, count * sizeof(T), first * sizeof(T));
  }
  /// All elements as a host vector. Blocking.
  std::vector<T> to_host() const {
    std::vector<T> out(size());
    copy_to_host(out.data(), out.size());
    return out;
  }
  /// Sets every element's bytes to zero. Asynchronous on stream().
  void fill_zero() { buffer_.fill_zero(); }

 private:
  DeviceBuffer buffer_;
};

/// Throws zo::InvalidArgument, naming `what`, unless `ptr` is device or managed memory that
/// kernels on the current device may use. Every pointer that a PointBatch, a ParamTensor or an
/// output marks MemorySpace::device is checked this way before zo launches a kernel on it: a
/// host pointer would fault in the kernel and leave the CUDA context unusable. Null passes (an
/// empty batch). Does not synchronise. CPU-only builds: zo::NotCompiled.
ZO_API void require_device_pointer(const void* ptr, const std::string& what);

/// Writes coordinates [0, d) of the direction (`dist`, `key`) to device memory `out`, queued on
/// `stream`. Asynchronous. Bit-identical to fill_direction() on the host, including the sphere
/// scale (the same chunked reduction, computed on the device).
ZO_API void fill_direction_device(Distribution dist, DirectionKey key, std::uint64_t d, float* out,
                                  StreamView stream = {});

}  // namespace zo

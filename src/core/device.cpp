// The public device-memory, stream and event types (zo/device.hpp). The CUDA calls live behind
// cuda_device.hpp, so this file is the same in CPU-only and CUDA builds.
#include "zo/device.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "core/cuda_device.hpp"
#include "zo/error.hpp"

namespace zo {

DeviceMemoryInfo device_memory_info() { return detail::cuda::memory_info(); }

void require_device_pointer(const void* ptr, const std::string& what) {
  if (ptr == nullptr) return;
  int current = 0;
  const detail::PointerFacts facts = detail::cuda::pointer_facts(ptr, &current);
  const std::string problem = detail::device_pointer_problem(facts, current, what);
  if (!problem.empty()) ZO_FAIL(InvalidArgument, problem);
}

// ---- Stream ----------------------------------------------------------------------------------

Stream::Stream() : handle_(detail::cuda::stream_create()), owns_(true) {}

Stream Stream::wrap(StreamView stream) noexcept { return Stream(stream.handle(), false); }

Stream Stream::wrap(void* cuda_stream) noexcept { return Stream(cuda_stream, false); }

Stream::~Stream() {
  if (owns_) detail::cuda::stream_destroy(handle_);
}

Stream::Stream(Stream&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), owns_(std::exchange(other.owns_, false)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (owns_) detail::cuda::stream_destroy(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    owns_ = std::exchange(other.owns_, false);
  }
  return *this;
}

void Stream::synchronize() const { detail::cuda::stream_synchronize(view()); }

void StreamView::synchronize() const { detail::cuda::stream_synchronize(*this); }

// ---- Event -----------------------------------------------------------------------------------

Event::Event() : event_(detail::cuda::event_create()) {}

Event::~Event() {
  if (event_) detail::cuda::event_destroy(event_);
}

Event::Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}

Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    if (event_) detail::cuda::event_destroy(event_);
    event_ = std::exchange(other.event_, nullptr);
  }
  return *this;
}

void Event::record(StreamView stream) {
  ZO_EXPECTS(event_ != nullptr, "Event::record on a moved-from event");
  detail::cuda::event_record(event_, stream);
}

void Event::synchronize() const {
  ZO_EXPECTS(event_ != nullptr, "Event::synchronize on a moved-from event");
  detail::cuda::event_synchronize(event_);
}

float Event::elapsed_ms(const Event& start, const Event& stop) {
  ZO_EXPECTS(start.event_ != nullptr && stop.event_ != nullptr,
             "Event::elapsed_ms on a moved-from event");
  return detail::cuda::event_elapsed_ms(start.event_, stop.event_);
}

// ---- copies ----------------------------------------------------------------------------------

void copy_bytes(void* dst, const void* src, std::size_t bytes, StreamView stream) {
  if (bytes == 0) return;
  ZO_EXPECTS(dst != nullptr && src != nullptr, "copy_bytes: null pointer");
  detail::cuda::copy(dst, src, bytes, stream, /*wait=*/true);
}

void copy_bytes_async(void* dst, const void* src, std::size_t bytes, StreamView stream) {
  if (bytes == 0) return;
  ZO_EXPECTS(dst != nullptr && src != nullptr, "copy_bytes_async: null pointer");
  detail::cuda::copy(dst, src, bytes, stream, /*wait=*/false);
}

// ---- DeviceBuffer ----------------------------------------------------------------------------

DeviceBuffer::DeviceBuffer(std::size_t bytes, StreamView stream) : stream_(stream) {
  if (bytes == 0) return;
  data_ = detail::cuda::device_allocate(bytes, stream_);
  size_ = capacity_ = bytes;
}

DeviceBuffer::~DeviceBuffer() { reset(); }

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      stream_(other.stream_) {}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    stream_ = other.stream_;
  }
  return *this;
}

std::size_t DeviceBuffer::next_capacity(std::size_t capacity, std::size_t requested) noexcept {
  if (requested <= capacity) return capacity;
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  const std::size_t doubled = capacity > max / 2 ? max : 2 * capacity;
  return std::max(requested, doubled);
}

void DeviceBuffer::reallocate(std::size_t capacity) {
  // Allocate first: on failure nothing has changed. The copy and the free of the old block are
  // queued behind the new allocation on the same stream.
  void* fresh = capacity == 0 ? nullptr : detail::cuda::device_allocate(capacity, stream_);
  const std::size_t keep = std::min(size_, capacity);
  if (keep > 0) {
    try {
      detail::cuda::copy(fresh, data_, keep, stream_, /*wait=*/false);
    } catch (...) {
      detail::cuda::device_free(fresh, stream_);
      throw;
    }
  }
  if (data_) detail::cuda::device_free(data_, stream_);
  data_ = fresh;
  capacity_ = capacity;
  size_ = keep;
}

void DeviceBuffer::reserve(std::size_t bytes) {
  if (bytes <= capacity_) return;
  reallocate(next_capacity(capacity_, bytes));
}

void DeviceBuffer::resize(std::size_t bytes) {
  if (bytes > capacity_) reallocate(next_capacity(capacity_, bytes));
  size_ = bytes;
}

void DeviceBuffer::shrink_to_fit() {
  if (capacity_ > size_) reallocate(size_);
}

void DeviceBuffer::reset() noexcept {
  if (data_) detail::cuda::device_free(data_, stream_);
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

namespace {
void check_range(std::size_t offset, std::size_t bytes, std::size_t size, const char* what) {
  ZO_EXPECTS(offset <= size && bytes <= size - offset,
             std::string(what) + ": bytes [" + std::to_string(offset) + ", " +
                 std::to_string(offset) + " + " + std::to_string(bytes) +
                 ") do not fit in a buffer of " + std::to_string(size) + " bytes");
}
}  // namespace

void DeviceBuffer::copy_from_host(const void* src, std::size_t bytes, std::size_t offset) {
  check_range(offset, bytes, size_, "DeviceBuffer::copy_from_host");
  if (bytes == 0) return;
  ZO_EXPECTS(src != nullptr, "DeviceBuffer::copy_from_host: src is null");
  detail::cuda::copy(static_cast<char*>(data_) + offset, src, bytes, stream_, /*wait=*/true);
}

void DeviceBuffer::copy_to_host(void* dst, std::size_t bytes, std::size_t offset) const {
  check_range(offset, bytes, size_, "DeviceBuffer::copy_to_host");
  if (bytes == 0) return;
  ZO_EXPECTS(dst != nullptr, "DeviceBuffer::copy_to_host: dst is null");
  detail::cuda::copy(dst, static_cast<const char*>(data_) + offset, bytes, stream_, /*wait=*/true);
}

void DeviceBuffer::fill_zero() {
  if (size_ == 0) return;
  detail::cuda::fill_zero(data_, size_, stream_);
}

// ---- directions ------------------------------------------------------------------------------

void fill_direction_device(Distribution dist, DirectionKey key, std::uint64_t d, float* out,
                           StreamView stream) {
  ZO_EXPECTS(static_cast<std::uint32_t>(dist) <= 2, "fill_direction_device: unknown distribution");
  if (d == 0) return;
  ZO_EXPECTS(out != nullptr, "fill_direction_device: out is null");
  detail::cuda::fill_direction(dist, key, d, out, stream);
}

}  // namespace zo

// Backend selection and the device API where no CUDA device is usable (a CPU-only build, or a
// CUDA build on a machine without a driver or a GPU): every entry point fails with the typed
// error that names the situation, never crashes or hangs, and the objects that need no device
// (empty arrays, wrapped streams, moves) keep working. On a machine with a GPU the same file
// checks that an explicit Backend::cuda request is honoured.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"
#include "zo/stepper.hpp"
#include "zo/stream_view.hpp"
#include "zo/trace.hpp"

namespace {

/// The error an explicit GPU request must raise here (only meaningful without a usable device).
template <typename F>
void expect_unavailable(F&& f, const char* what) {
  if (!zo::cuda_compiled()) {
    EXPECT_THROW(f(), zo::NotCompiled) << what;
  } else {
    EXPECT_THROW(f(), zo::DeviceUnavailable) << what;
  }
}

TEST(BackendSelection, ExplicitCudaRequestIsHonouredOrRefusedWithATypedError) {
  zo::set_log_sink({});
  const zo::Example21 f(3);
  std::vector<float> x0(2 * f.dim(), 0.5f);
  zo::BatchOptions o;
  o.backend = zo::Backend::cuda;
  if (zo::cuda_available()) {
    EXPECT_EQ(zo::resolve_backend(zo::Backend::cuda), zo::Backend::cuda);
    zo::RunBatch batch(f, {zo::RunSpec{}, zo::RunSpec{}}, x0.data(), o);
    EXPECT_EQ(batch.backend(), zo::Backend::cuda);
    return;
  }
  expect_unavailable([] { zo::resolve_backend(zo::Backend::cuda); }, "resolve_backend");
  expect_unavailable(
      [&] {
        zo::RunBatch(f, {zo::RunSpec{}, zo::RunSpec{}}, x0.data(), o);
      },
      "RunBatch");
  // automatic falls back to the CPU, and cpu is always available.
  EXPECT_EQ(zo::resolve_backend(zo::Backend::automatic), zo::Backend::cpu);
  o.backend = zo::Backend::automatic;
  EXPECT_EQ(zo::RunBatch(f, {zo::RunSpec{}}, x0.data(), o).backend(), zo::Backend::cpu);
}

TEST(DeviceApiWithoutDevice, EveryDeviceCallThrowsTheTypedError) {
  if (zo::cuda_available()) GTEST_SKIP() << "a CUDA device is usable: see the gpu tests";
  float host[4] = {1, 2, 3, 4};
  expect_unavailable([] { zo::Stream s; }, "Stream()");
  expect_unavailable([] { zo::Event e; }, "Event()");
  expect_unavailable([] { zo::DeviceMemory m(64); }, "DeviceMemory(64)");
  expect_unavailable([] { zo::DeviceBuffer m(64, zo::StreamView()); }, "DeviceBuffer(64)");
  expect_unavailable([] { zo::DeviceArray<float> a(16); }, "DeviceArray(16)");
  expect_unavailable([&] { zo::DeviceArray<float> a(host, 4); }, "DeviceArray(host)");
  expect_unavailable([] { zo::device_memory_info(); }, "device_memory_info");
  expect_unavailable([&] { zo::copy_bytes(host + 2, host, 8); }, "copy_bytes");
  expect_unavailable([&] { zo::copy_bytes_async(host + 2, host, 8); }, "copy_bytes_async");
  expect_unavailable(
      [&] {
        zo::fill_direction_device(zo::Distribution::gaussian, {1, 2, 3}, 4, host);
      },
      "fill_direction_device");
  expect_unavailable([] { zo::Stream::wrap(nullptr).synchronize(); }, "Stream::synchronize");
  expect_unavailable([] { zo::StreamView().synchronize(); }, "StreamView::synchronize");
  // Example 2.1 refuses device batches it cannot read (check_batch), naming the memory space.
  const zo::Example21 f(2);
  zo::PointBatch b;
  b.data = host;
  b.count = 1;
  b.dim = 4;
  b.stride = 4;
  b.space = zo::MemorySpace::device;
  double value = 0.0;
  EXPECT_FALSE(f.accepts(zo::MemorySpace::device));
  EXPECT_THROW(f.evaluate(b, &value), zo::InvalidArgument);
}

TEST(DeviceApiWithoutDevice, ObjectsThatNeedNoDeviceWork) {
  // Empty objects, wrapped streams and moves never touch the device (also with a GPU).
  zo::DeviceMemory empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.data(), nullptr);
  zo::DeviceMemory zero(0);  // zero bytes: no allocation
  EXPECT_TRUE(zero.empty());
  zo::DeviceMemory moved(std::move(empty));
  EXPECT_TRUE(moved.empty());
  moved.reset();
  zo::DeviceArray<double> a;
  EXPECT_EQ(a.size(), 0u);
  EXPECT_TRUE(a.to_host().empty());
  zo::DeviceArray<double> b(std::move(a));
  EXPECT_EQ(b.size(), 0u);
  int fake_stream_object = 0;
  zo::Stream w = zo::Stream::wrap(zo::StreamView(&fake_stream_object));
  EXPECT_EQ(w.handle(), &fake_stream_object);
  EXPECT_EQ(w.view(), zo::StreamView(&fake_stream_object));
  EXPECT_FALSE(w.owns());
  zo::Stream w2(std::move(w));
  EXPECT_EQ(w2.handle(), &fake_stream_object);
  EXPECT_EQ(w.handle(), nullptr);  // NOLINT(bugprone-use-after-move): moved-from is empty
  // Copies of zero bytes are no-ops everywhere.
  float host[2] = {0, 0};
  EXPECT_NO_THROW(zo::copy_bytes(host, host + 1, 0));
}

// DeviceBuffer is the one owner of device memory: move-only, never-throwing destruction, the
// old name kept as an alias, and typed arrays on top of it.
static_assert(std::is_same<zo::DeviceMemory, zo::DeviceBuffer>::value, "DeviceMemory alias");
static_assert(!std::is_copy_constructible<zo::DeviceBuffer>::value &&
                  !std::is_copy_assignable<zo::DeviceBuffer>::value,
              "DeviceBuffer is move-only");
static_assert(std::is_nothrow_move_constructible<zo::DeviceBuffer>::value &&
                  std::is_nothrow_move_assignable<zo::DeviceBuffer>::value &&
                  std::is_nothrow_destructible<zo::DeviceBuffer>::value,
              "moves and destruction never throw");
static_assert(!std::is_copy_constructible<zo::DeviceArray<float>>::value &&
                  std::is_nothrow_move_constructible<zo::DeviceArray<float>>::value,
              "DeviceArray is move-only");

TEST(DeviceBufferArithmetic, GrowthIsGeometricAndNeverShrinks) {
  using B = zo::DeviceBuffer;
  EXPECT_EQ(B::next_capacity(0, 0), 0u);
  EXPECT_EQ(B::next_capacity(0, 10), 10u);  // the first block is what was asked for
  EXPECT_EQ(B::next_capacity(10, 5), 10u);  // never shrinks
  EXPECT_EQ(B::next_capacity(10, 10), 10u);
  EXPECT_EQ(B::next_capacity(10, 11), 20u);  // doubles
  EXPECT_EQ(B::next_capacity(10, 25), 25u);  // or takes the request when that is larger
  EXPECT_EQ(B::next_capacity(100, 150), 200u);
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  EXPECT_EQ(B::next_capacity(max / 2 + 1, max / 2 + 2), max);  // saturates instead of wrapping
  EXPECT_EQ(B::next_capacity(max - 1, max), max);
  // A sequence of growing requests allocates O(log n) times.
  std::size_t capacity = 0;
  int allocations = 0;
  for (std::size_t n = 1; n <= 1000000; ++n) {
    const std::size_t next = B::next_capacity(capacity, n);
    if (next != capacity) ++allocations;
    EXPECT_GE(next, n);
    capacity = next;
  }
  EXPECT_LE(allocations, 21);
}

TEST(DeviceBufferWithoutDevice, WhatAllocatesNothingWorksAndTheRestThrowsTyped) {
  if (zo::cuda_available()) GTEST_SKIP() << "a CUDA device is usable: see the gpu tests";
  int fake_stream_object = 0;
  const zo::StreamView fake(&fake_stream_object);
  zo::DeviceBuffer b(0, fake);  // zero bytes: no allocation, no device
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(b.stream(), fake);
  EXPECT_NO_THROW(b.reserve(0));
  EXPECT_NO_THROW(b.resize(0));
  EXPECT_NO_THROW(b.shrink_to_fit());
  EXPECT_NO_THROW(b.fill_zero());
  EXPECT_NO_THROW(b.copy_from_host(nullptr, 0));
  EXPECT_NO_THROW(b.copy_to_host(nullptr, 0));
  EXPECT_THROW(b.copy_to_host(nullptr, 1), zo::InvalidArgument);  // out of range, named
  b.set_stream(zo::StreamView());
  EXPECT_EQ(b.stream(), zo::StreamView());
  // Growing needs the device; on failure the buffer is unchanged (strong guarantee).
  expect_unavailable([&] { b.resize(16); }, "DeviceBuffer::resize");
  expect_unavailable([&] { b.reserve(16); }, "DeviceBuffer::reserve");
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(b.data(), nullptr);
  zo::DeviceBuffer moved(std::move(b));
  EXPECT_EQ(moved.capacity(), 0u);
  moved.reset();
  zo::DeviceArray<double> a;
  EXPECT_EQ(a.capacity(), 0u);
  expect_unavailable([&] { a.resize(3); }, "DeviceArray::resize");
  EXPECT_TRUE(a.empty());
  expect_unavailable(
      [] {
        zo::DeviceArray<double> c(std::vector<double>{1.0, 2.0});
      },
      "DeviceArray(vector)");
}

// zo::StreamView is a strong type: nothing but an explicit construction from a void* (a
// cudaStream_t) or a zo::Stream makes one, so an unrelated pointer can never be passed where a
// stream is expected, and "no stream" has one meaning: the legacy default stream.
struct FakeCudaStream;  // stands for CUstream_st: cudaStream_t is `CUstream_st*`
static_assert(!std::is_convertible<void*, zo::StreamView>::value, "no implicit void*");
static_assert(!std::is_convertible<FakeCudaStream*, zo::StreamView>::value, "no implicit T*");
static_assert(!std::is_convertible<float*, zo::StreamView>::value, "no implicit float*");
static_assert(!std::is_convertible<const double*, zo::StreamView>::value, "no implicit pointer");
static_assert(!std::is_convertible<std::nullptr_t, zo::StreamView>::value, "no implicit nullptr");
static_assert(!std::is_convertible<int, zo::StreamView>::value, "no implicit integer");
static_assert(!std::is_convertible<std::uintptr_t, zo::StreamView>::value, "no implicit integer");
static_assert(!std::is_constructible<zo::StreamView, std::uintptr_t>::value, "no integer handle");
static_assert(std::is_constructible<zo::StreamView, void*>::value, "explicit from void*");
static_assert(std::is_constructible<zo::StreamView, FakeCudaStream*>::value,
              "explicit from a cudaStream_t");
static_assert(std::is_nothrow_default_constructible<zo::StreamView>::value, "default: legacy");
static_assert(std::is_trivially_copyable<zo::StreamView>::value, "a view is a value");
static_assert(std::is_convertible<const zo::Stream&, zo::StreamView>::value,
              "an owning Stream gives its view");
static_assert(!std::is_convertible<zo::Stream&&, zo::StreamView>::value,
              "no view of a temporary Stream");
static_assert(!std::is_convertible<void*, decltype(zo::PointBatch::stream)>::value &&
                  !std::is_convertible<void*, decltype(zo::BatchOptions::stream)>::value &&
                  !std::is_convertible<void*, decltype(zo::StepperOptions::stream)>::value &&
                  !std::is_convertible<void*, decltype(zo::TraceOptions::stream)>::value,
              "every stream parameter is a StreamView");
static_assert(zo::StreamView() == zo::StreamView::legacy_default(), "one default");

TEST(StreamView, DefaultIsTheLegacyDefaultStreamEverywhere) {
  const zo::StreamView none;
  EXPECT_EQ(none.handle(), nullptr);
  EXPECT_TRUE(none.is_legacy_default());
  EXPECT_TRUE(zo::StreamView(nullptr).is_legacy_default());
  EXPECT_FALSE(zo::StreamView::per_thread_default().is_legacy_default());
  EXPECT_NE(zo::StreamView::per_thread_default(), none);
  // Every option that takes a stream defaults to it, and no batch creates a stream unasked.
  EXPECT_EQ(zo::PointBatch{}.stream, none);
  EXPECT_EQ(zo::BatchOptions{}.stream, none);
  EXPECT_FALSE(zo::BatchOptions{}.own_stream);
  EXPECT_EQ(zo::StepperOptions{}.stream, none);
  EXPECT_EQ(zo::TraceOptions{}.stream, none);
  int a = 0, b = 0;
  EXPECT_EQ(zo::StreamView(&a), zo::StreamView(&a));
  EXPECT_NE(zo::StreamView(&a), zo::StreamView(&b));
  EXPECT_EQ(zo::StreamView(&a).handle(), &a);
}

}  // namespace

// The public device-memory, stream and event types on a GPU: round trips, moves, ranges, and
// objects built on a caller's memory and stream.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "cuda_test_support.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

TEST(DeviceMemoryCuda, RoundTripsMovesAndRanges) {
  ZO_SKIP_WITHOUT_GPU();
  std::vector<double> host(1001);
  std::iota(host.begin(), host.end(), -500.0);
  zo::DeviceArray<double> a(host);
  EXPECT_EQ(a.size(), host.size());
  EXPECT_NE(a.data(), nullptr);
  EXPECT_EQ(a.to_host(), host);

  // Partial copies at an offset.
  const double patch[3] = {1.5, 2.5, 3.5};
  a.copy_from_host(patch, 3, 997);
  std::vector<double> tail(4);
  a.copy_to_host(tail.data(), 4, 997);
  EXPECT_EQ(tail, (std::vector<double>{1.5, 2.5, 3.5, 500.0}));
  EXPECT_THROW(a.copy_from_host(patch, 3, 999), zo::InvalidArgument);
  EXPECT_THROW(a.copy_to_host(tail.data(), 4, 998), zo::InvalidArgument);

  // Moves transfer ownership; the source becomes empty.
  const double* p = a.data();
  zo::DeviceArray<double> b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(a.data(), nullptr);
  a = std::move(b);
  EXPECT_EQ(a.data(), p);
  a.fill_zero();
  EXPECT_EQ(a.to_host(), std::vector<double>(host.size(), 0.0));
  a.reset();
  EXPECT_TRUE(a.empty());

  // copy_bytes between device buffers and with the host, in any direction.
  zo::DeviceMemory m1(64), m2(64);
  std::vector<unsigned char> bytes(64), back(64);
  std::iota(bytes.begin(), bytes.end(), 0);
  zo::copy_bytes(m1.data(), bytes.data(), 64);
  zo::copy_bytes(m2.data(), m1.data(), 64);
  zo::copy_bytes(back.data(), m2.data(), 64);
  EXPECT_EQ(back, bytes);
  EXPECT_GE(zo::device_memory_info().total_bytes, zo::device_memory_info().free_bytes);
  EXPECT_GT(zo::device_memory_info().free_bytes, 0u);
}

TEST(DeviceMemoryCuda, StreamsAndEventsOrderAndTimeWork) {
  ZO_SKIP_WITHOUT_GPU();
  zo::Stream owned;
  EXPECT_TRUE(owned.owns());
  EXPECT_NE(owned.handle(), nullptr);
  {
    const std::size_t n = 1 << 24;  // 64 MiB: a copy long enough to time
    // Freed (in `owned`'s order) at the end of this scope, before `owned` is moved from below.
    zo::DeviceArray<float> src(n, owned), dst(n, owned);
    src.fill_zero();
    zo::Event start, stop;
    start.record(owned);
    zo::copy_bytes_async(dst.data(), src.data(), n * sizeof(float), owned);
    stop.record(owned);
    const float ms = zo::Event::elapsed_ms(start, stop);
    EXPECT_GT(ms, 0.0f);
    EXPECT_LT(ms, 1000.0f);
  }
  owned.synchronize();

  // A wrapped stream is used, not destroyed: wrap the owned one and let the wrapper go.
  {
    zo::Stream view = zo::Stream::wrap(owned.view());
    view.synchronize();
  }
  owned.synchronize();  // still valid

  // Moving an owning stream transfers ownership.
  zo::Stream moved(std::move(owned));
  EXPECT_TRUE(moved.owns());
  EXPECT_FALSE(owned.owns());  // NOLINT(bugprone-use-after-move)
}

// The caller's own device memory and stream with a built-in objective (as a framework would
// hand them in): results equal the host evaluation within the rounding of the reductions.
TEST(DeviceMemoryCuda, ObjectivesReadCallerMemoryOnTheCallerStream) {
  ZO_SKIP_WITHOUT_GPU();
  const zo::Example21 f(33);
  std::vector<float> x(3 * f.dim());
  zo::gaussian_fill(4, 0, x.data(), x.size());
  zo::Stream stream;
  zo::DeviceArray<float> dx(x, stream);
  zo::DeviceArray<double> dv(3, stream);
  zo::PointBatch b;
  b.data = dx.data();
  b.count = 3;
  b.dim = f.dim();
  b.stride = f.dim();
  b.space = zo::MemorySpace::device;
  b.stream = stream;
  f.evaluate(b, dv.data());
  const auto got = dv.to_host();
  b.data = x.data();
  b.space = zo::MemorySpace::host;
  std::vector<double> want(3);
  f.evaluate(b, want.data());
  for (int p = 0; p < 3; ++p) EXPECT_TRUE(zo_test::IsClose(got[p], want[p], 1e-12, 1e-12)) << p;
}

// DeviceBuffer growth on a GPU: geometric capacity, contents kept by reserve/resize/shrink_to_fit,
// never shrinking unless asked, all queued on the buffer's stream.
TEST(DeviceBufferCuda, GrowsGeometricallyKeepsItsContentsAndShrinksOnlyWhenAsked) {
  ZO_SKIP_WITHOUT_GPU();
  zo::Stream stream;  // declared first: it outlives the buffers freed on it
  std::vector<float> host(100);
  std::iota(host.begin(), host.end(), 1.0f);
  zo::DeviceArray<float> a(host, stream);
  EXPECT_EQ(a.stream(), stream.view());
  EXPECT_EQ(a.capacity(), 100u);
  const float* first = a.data();
  a.reserve(100);  // enough already: no reallocation
  EXPECT_EQ(a.data(), first);
  a.reserve(150);  // doubles: 200
  EXPECT_EQ(a.capacity(), 200u);
  EXPECT_EQ(a.size(), 100u);
  EXPECT_EQ(a.to_host(), host);
  a.resize(250);  // max(250, 400)
  EXPECT_EQ(a.capacity(), 400u);
  EXPECT_EQ(a.size(), 250u);
  std::vector<float> head(100);
  a.copy_to_host(head.data(), 100);
  EXPECT_EQ(head, host);
  const float* grown = a.data();
  a.resize(10);  // never shrinks unless asked
  EXPECT_EQ(a.capacity(), 400u);
  EXPECT_EQ(a.data(), grown);
  a.shrink_to_fit();
  EXPECT_EQ(a.capacity(), 10u);
  EXPECT_EQ(a.to_host(), std::vector<float>(host.begin(), host.begin() + 10));
  a.resize(0);
  a.shrink_to_fit();
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.capacity(), 0u);
  // Alignment: every block is at least 256-byte aligned (float4 and cuBLAS need 16).
  zo::DeviceBuffer odd(3, stream);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(odd.data()) % 256, 0u);
  odd.resize(1000);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(odd.data()) % 256, 0u);
}

// Allocation, growth, copies and frees are ordered on the buffer's stream: a growth queued behind
// an asynchronous copy keeps the copied data, and a block freed while a copy from it is still
// queued is not reused (and overwritten) before that copy has run.
TEST(DeviceBufferCuda, EverythingIsOrderedOnTheBuffersStream) {
  ZO_SKIP_WITHOUT_GPU();
  zo::Stream stream, other;  // declared first: they outlive every buffer freed on them
  const std::size_t n = std::size_t{1} << 24;  // 64 MiB: copies long enough to overlap
  std::vector<float> host(n);
  for (std::size_t i = 0; i < n; ++i) host[i] = static_cast<float>(i % 1000003);
  zo::DeviceArray<float> dst(n, stream);
  {
    zo::DeviceArray<float> src(host, stream);
    zo::copy_bytes_async(dst.data(), src.data(), n * sizeof(float), stream);
  }                                         // src freed in stream order, behind the copy
  zo::DeviceArray<float> reuse(n, stream);  // may get src's block: written after the copy
  reuse.fill_zero();
  dst.reserve(2 * n);  // the growth copy is queued behind the first copy
  EXPECT_EQ(dst.capacity(), 2 * n);
  const std::vector<float> got = dst.to_host();
  EXPECT_EQ(std::memcmp(got.data(), host.data(), n * sizeof(float)), 0);
  EXPECT_EQ(reuse.to_host(), std::vector<float>(n, 0.0f));
  // A buffer moved to another stream: the caller orders the two streams, then keeps working.
  stream.synchronize();
  dst.set_stream(other);
  dst.resize(3);
  EXPECT_EQ(dst.to_host(), std::vector<float>(host.begin(), host.begin() + 3));
}

// An out-of-memory is a zo::CudaError that leaves no stale error behind: the next, unrelated
// kernel launch and its check succeed (ZO_CUDA_CHECK_LAUNCH reads and clears the launch error).
TEST(DeviceBufferCuda, OutOfMemoryIsTypedAndNotReportedAgainLater) {
  ZO_SKIP_WITHOUT_GPU();
  if (zo_test::under_sanitizer()) GTEST_SKIP() << "compute-sanitizer reports the failed allocation";
  const std::size_t too_much = zo::device_memory_info().total_bytes * 4;
  EXPECT_THROW({ zo::DeviceBuffer big(too_much); }, zo::CudaError);
  zo::DeviceArray<float> small(8);
  EXPECT_THROW(small.reserve(too_much), zo::CudaError);
  EXPECT_EQ(small.capacity(), 8u);  // unchanged
  EXPECT_NO_THROW(
      zo::fill_direction_device(zo::Distribution::gaussian, {1, 2, 3}, 8, small.data()));
  std::vector<float> want(8);
  zo::fill_direction(zo::Distribution::gaussian, {1, 2, 3}, 8, want.data());
  EXPECT_EQ(small.to_host(), want);
}

}  // namespace

// The public device-memory, stream and event types on a GPU: round trips, moves, ranges, and
// objects built on a caller's memory and stream.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
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
  const std::size_t n = 1 << 24;  // 64 MiB: a copy long enough to time
  zo::DeviceArray<float> src(n), dst(n);
  src.fill_zero(owned);
  zo::Event start, stop;
  start.record(owned);
  zo::copy_bytes_async(dst.data(), src.data(), n * sizeof(float), owned);
  stop.record(owned);
  const float ms = zo::Event::elapsed_ms(start, stop);
  EXPECT_GT(ms, 0.0f);
  EXPECT_LT(ms, 1000.0f);
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
  zo::DeviceArray<double> dv(3);
  zo::PointBatch b;
  b.data = dx.data();
  b.count = 3;
  b.dim = f.dim();
  b.stride = f.dim();
  b.space = zo::MemorySpace::device;
  b.stream = stream;
  f.evaluate(b, dv.data());
  const auto got = dv.to_host(stream);
  b.data = x.data();
  b.space = zo::MemorySpace::host;
  std::vector<double> want(3);
  f.evaluate(b, want.data());
  for (int p = 0; p < 3; ++p) EXPECT_TRUE(zo_test::IsClose(got[p], want[p], 1e-12, 1e-12)) << p;
}

}  // namespace

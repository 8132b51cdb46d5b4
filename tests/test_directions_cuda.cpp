// Directions generated on the device (fill_direction_device) are bit-identical to the host's
// (fill_direction): all three distributions, awkward sizes, unaligned outputs, a user stream, and
// a direction of more than 2^31 coordinates where the device has the memory.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda_test_support.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"
#include "zo/run_batch.hpp"

namespace {

using zo::DirectionKey;
using zo::Distribution;

const Distribution kDists[] = {Distribution::gaussian, Distribution::rademacher,
                               Distribution::sphere};

/// Index of the first differing float (bit pattern), or n.
std::size_t first_mismatch(const float* a, const float* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (std::memcmp(a + i, b + i, sizeof(float)) != 0) return i;
  return n;
}

std::vector<float> on_device(Distribution dist, DirectionKey key, std::uint64_t d,
                             std::size_t offset = 0, zo::StreamView stream = {}) {
  zo::DeviceArray<float> out(d + offset, stream);  // allocated, filled and read on `stream`
  zo::fill_direction_device(dist, key, d, out.data() + offset, stream);
  std::vector<float> host(d);
  out.copy_to_host(host.data(), d, offset);
  return host;
}

TEST(DirectionsCuda, BitIdenticalToTheHostOnAwkwardSizes) {
  ZO_SKIP_WITHOUT_GPU();
  const DirectionKey keys[] = {{0, 0, 0}, {0x123456789ABCDEFull, 77, 2}, {~0ull, 0xFFFFFFFEu, 9}};
  for (Distribution dist : kDists) {
    for (const DirectionKey& key : keys) {
      for (std::uint64_t d : {1ull, 3ull, 4ull, 5ull, 100ull, 4097ull, 8193ull, 1000003ull}) {
        std::vector<float> host(d);
        zo::fill_direction(dist, key, d, host.data());
        const auto dev = on_device(dist, key, d);
        const std::size_t bad = first_mismatch(dev.data(), host.data(), d);
        EXPECT_EQ(bad, d) << zo::to_string(dist) << " d = " << d << " seed " << key.seed
                          << ": first mismatch at " << bad << " (" << dev[bad % d] << " vs "
                          << host[bad % d] << ")";
      }
    }
  }
}

// Outputs that are not 16-byte aligned take the scalar store path; a caller's stream orders it.
TEST(DirectionsCuda, UnalignedOutputAndUserStream) {
  ZO_SKIP_WITHOUT_GPU();
  zo::Stream stream;
  for (Distribution dist : kDists) {
    for (std::size_t offset : {1u, 2u, 3u}) {
      const std::uint64_t d = 4099;
      const DirectionKey key{42, 5, 1};
      std::vector<float> host(d);
      zo::fill_direction(dist, key, d, host.data());
      const auto dev = on_device(dist, key, d, offset, stream);
      EXPECT_EQ(first_mismatch(dev.data(), host.data(), d), d)
          << zo::to_string(dist) << " offset " << offset;
    }
  }
  // The direction is exactly what the generator defines, not only what the host computes: a few
  // coordinates against direction_at().
  const auto dev = on_device(Distribution::gaussian, {7, 8, 9}, 33);
  for (std::uint64_t i : {0u, 1u, 31u, 32u})
    EXPECT_EQ(dev[i], zo::direction_at(Distribution::gaussian, {7, 8, 9}, i, 1.0f));
}

// More than 2^31 coordinates: 64-bit indexing in the fill and in the chunked sphere-scale
// reduction. The device output is compared chunk by chunk with the host generator (sphere: the
// whole vector, every bit; gaussian / rademacher: windows around 2^31 and at the end). Needs
// ~8.6 GB of device memory; skipped where that is not free.
TEST(DirectionsCuda, BeyondTwoToTheThirtyOneCoordinates) {
  ZO_SKIP_WITHOUT_GPU();
  if (zo_test::under_sanitizer()) GTEST_SKIP() << "too large under compute-sanitizer";
  const std::uint64_t d = (1ull << 31) + 5;
  const std::size_t bytes = d * sizeof(float);
  if (zo::device_memory_info().free_bytes < bytes + (1ull << 30)) {
    GTEST_SKIP() << "needs " << bytes / (1 << 20) << " MiB of free device memory";
  }
  zo::DeviceArray<float> out(d);
  const DirectionKey key{2024, 3, 1};
  const std::uint64_t window = 1u << 22;
  std::vector<float> got(window), want(window);
  // Host reference of coordinates [first, first + n), the loop of fill_direction().
  auto reference = [&](Distribution dist, float scale, std::uint64_t first, std::uint64_t n) {
    const auto blocks = static_cast<std::int64_t>((n + 3) / 4);
#pragma omp parallel for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      // first is a multiple of 4 in every call below
      const zo::Float4 u = zo::direction4(dist, key, first / 4 + b, scale);
      for (int l = 0; l < 4; ++l) {
        const std::uint64_t i = 4 * static_cast<std::uint64_t>(b) + l;
        if (i < n && first + i < d) want[i] = u.v[l];
      }
    }
  };
  auto check = [&](Distribution dist, float scale, std::uint64_t first) {
    const std::uint64_t n = std::min(window, d - first);
    out.copy_to_host(got.data(), n, first);
    reference(dist, scale, first, n);
    const std::size_t bad = first_mismatch(got.data(), want.data(), n);
    EXPECT_EQ(bad, n) << zo::to_string(dist) << ": coordinate " << first + bad;
    return bad == n;
  };
  for (Distribution dist : {Distribution::gaussian, Distribution::rademacher}) {
    zo::fill_direction_device(dist, key, d, out.data());
    for (std::uint64_t first :
         {std::uint64_t{0}, (std::uint64_t{1} << 31) - window / 2, d - d % 4 - window})
      check(dist, 1.0f, first);
  }
  const float scale = zo::sphere_scale(key, d);  // host, canonical reduction
  zo::fill_direction_device(Distribution::sphere, key, d, out.data());
  for (std::uint64_t first = 0; first < d; first += window)
    if (!check(Distribution::sphere, scale, first)) break;
}

}  // namespace

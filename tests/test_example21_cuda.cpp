// Example 2.1 on device memory against the CPU implementation: values, gradients, Hessian-vector
// products and traces on awkward dimensions (both reduction modes: one warp per point up to
// d = 1024, chunked blocks beyond), batch sizes, strides and misaligned bases. The device sums
// run in a different (fixed) order from the CPU's sequential ones, so each comparison allows the
// rounding bound of two different summation orders (cuda_test_support.hpp), propagated through
// the closed forms; a wrong index or term is orders of magnitude larger. Per-point results must
// also be bit-identical whatever the point's position in the batch, and run to run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cuda_test_support.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/error.hpp"
#include "zo/example21.hpp"

namespace {

using zo_test::kU;
using zo_test::sum_order_bound;

/// A host batch and its copy in device memory, `offset` floats past a 256-byte aligned base.
struct Batch {
  std::size_t h, count, stride, offset;
  std::vector<float> host;
  zo::DeviceArray<float> dev;

  Batch(std::size_t h_, std::size_t count_, std::size_t pad, std::size_t offset_,
        std::uint64_t seed)
      : h(h_), count(count_), stride(2 * h_ + pad), offset(offset_), host(count_ * stride) {
    zo::gaussian_fill(seed, 7, host.data(), host.size());
    dev = zo::DeviceArray<float>(offset + host.size());
    dev.copy_from_host(host.data(), host.size(), offset);
  }
  zo::PointBatch host_batch() const { return make(host.data(), zo::MemorySpace::host); }
  zo::PointBatch dev_batch(zo::StreamView stream = {}) const {
    zo::PointBatch b = make(dev.data() + offset, zo::MemorySpace::device);
    b.stream = stream;
    return b;
  }
  const float* point(std::size_t p) const { return host.data() + p * stride; }

 private:
  zo::PointBatch make(const float* data, zo::MemorySpace space) const {
    zo::PointBatch b;
    b.data = data;
    b.count = count;
    b.dim = 2 * h;
    b.stride = stride;
    b.space = space;
    return b;
  }
};

struct Shape {
  std::size_t h, count, pad, offset;
};

// h: 1, 3 (odd), 4, 50 (the paper's d = 100 problem), 1024 (last warp-mode size), 1025 (first
// chunked size), 8193 (a partial second chunk), 100003 (13 chunks); strides with padding and
// bases that are not 16-byte aligned force the scalar load path.
const Shape kShapes[] = {{1, 1, 0, 0},    {3, 5, 0, 0},     {4, 37, 0, 0},   {4, 3, 1, 1},
                         {50, 37, 0, 0},  {50, 6, 3, 2},    {1024, 9, 0, 0}, {1025, 4, 0, 0},
                         {8193, 3, 5, 1}, {100003, 2, 0, 0}};

struct Sums {
  double yz = 0, ayz = 0, ayy = 0, azz = 0, yy = 0, zz = 0;
};

Sums sums_of(const float* x, std::size_t h) {
  Sums s;
  for (std::size_t i = 0; i < h; ++i) {
    const double y = x[i], z = x[h + i];
    s.yz += y * z;
    s.ayz += std::fabs(y * z);
    s.yy += y * y;
    s.zz += z * z;
  }
  s.ayy = s.yy;
  s.azz = s.zz;
  return s;
}

TEST(Example21Cuda, ValuesAndTracesMatchTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  std::uint64_t seed = 1;
  for (const Shape& sh : kShapes) {
    const Batch b(sh.h, sh.count, sh.pad, sh.offset, seed++);
    const zo::Example21 f(sh.h);
    std::vector<double> cpu(b.count), cpu_tr(b.count), gpu(b.count), gpu_tr(b.count);
    f.evaluate(b.host_batch(), cpu.data());
    f.exact_trace(b.host_batch(), cpu_tr.data());
    zo::DeviceArray<double> out(b.count);
    f.evaluate(b.dev_batch(), out.data());
    out.copy_to_host(gpu.data(), b.count);
    f.exact_trace(b.dev_batch(), out.data());
    out.copy_to_host(gpu_tr.data(), b.count);
    for (std::size_t p = 0; p < b.count; ++p) {
      const Sums s = sums_of(b.point(p), sh.h);
      const double ds = sum_order_bound(sh.h, s.ayz);
      const double r = std::fabs(s.yz - 1.0);
      EXPECT_TRUE(zo_test::IsClose(gpu[p], cpu[p], 8 * kU, (r + ds) * ds))
          << "value, h = " << sh.h << " point " << p;
      const double dt = sum_order_bound(sh.h, s.ayy) + sum_order_bound(sh.h, s.azz);
      EXPECT_TRUE(zo_test::IsClose(gpu_tr[p], cpu_tr[p], 4 * kU, dt))
          << "trace, h = " << sh.h << " point " << p;
    }
  }
}

TEST(Example21Cuda, GradientsMatchTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  std::uint64_t seed = 100;
  for (const Shape& sh : kShapes) {
    const Batch b(sh.h, sh.count, sh.pad, sh.offset, seed++);
    const zo::Example21 f(sh.h);
    const std::size_t gs = 2 * sh.h + 1;  // an output stride different from the input's
    std::vector<float> cpu(b.count * gs, 0.0f), gpu(b.count * gs, 1.0f);
    f.gradient(b.host_batch(), cpu.data(), gs);
    zo::DeviceArray<float> out(b.count * gs);
    out.fill_zero();  // like cpu's padding entries; gpu's host copy starts at 1.0
    f.gradient(b.dev_batch(), out.data(), gs);
    out.copy_to_host(gpu.data(), gpu.size());
    for (std::size_t p = 0; p < b.count; ++p) {
      const float* x = b.point(p);
      const Sums s = sums_of(x, sh.h);
      // g = fl((s − 1)·partner): |Δ| ≤ |Δs|·|partner| + one float rounding of g.
      const double dr = sum_order_bound(sh.h, s.ayz) + 4 * kU * std::fabs(s.yz - 1.0);
      for (std::size_t i = 0; i < 2 * sh.h; ++i) {
        const double partner = std::fabs(i < sh.h ? x[sh.h + i] : x[i - sh.h]);
        const double want = cpu[p * gs + i];
        ASSERT_TRUE(zo_test::IsClose(gpu[p * gs + i], want, 0x1p-23, 1.01 * dr * partner))
            << "h = " << sh.h << " point " << p << " coordinate " << i;
      }
      EXPECT_EQ(gpu[p * gs + 2 * sh.h], 0.0f) << "wrote past the point's gradient";
    }
  }
}

TEST(Example21Cuda, HessianVectorProductsMatchTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  std::uint64_t seed = 200;
  for (const Shape& sh : kShapes) {
    const Batch b(sh.h, sh.count, sh.pad, sh.offset, seed++);
    const Batch v(sh.h, sh.count, 0, (sh.offset + 1) % 4, seed + 1000);  // other layout
    const zo::Example21 f(sh.h);
    const std::size_t os = 2 * sh.h;
    std::vector<float> cpu(b.count * os), gpu(b.count * os);
    f.hvp(b.host_batch(), v.host_batch(), cpu.data(), os);
    zo::DeviceArray<float> out(b.count * os);
    out.fill_zero();
    f.hvp(b.dev_batch(), v.dev_batch(), out.data(), os);
    out.copy_to_host(gpu.data(), gpu.size());
    for (std::size_t p = 0; p < b.count; ++p) {
      const float* x = b.point(p);
      const float* w = v.point(p);  // w = [a; b]
      const Sums s = sums_of(x, sh.h);
      double c = 0, ac = 0;
      for (std::size_t i = 0; i < sh.h; ++i) {
        c += static_cast<double>(x[sh.h + i]) * w[i] + static_cast<double>(x[i]) * w[sh.h + i];
        ac += std::fabs(static_cast<double>(x[sh.h + i]) * w[i]) +
              std::fabs(static_cast<double>(x[i]) * w[sh.h + i]);
      }
      const double dc = sum_order_bound(sh.h, ac) + 4 * kU * std::fabs(c);
      const double dr = sum_order_bound(sh.h, s.ayz) + 4 * kU * std::fabs(s.yz - 1.0);
      for (std::size_t i = 0; i < 2 * sh.h; ++i) {
        const bool y_part = i < sh.h;
        const std::size_t k = y_part ? i : i - sh.h;
        const double partner = std::fabs(y_part ? x[sh.h + k] : x[k]);
        const double v_partner = std::fabs(y_part ? w[sh.h + k] : w[k]);
        // out = fl(c·partner + (s − 1)·v_partner)
        const double atol = 1.01 * (dc * partner + dr * v_partner) +
                            4 * kU * (std::fabs(c) * partner + std::fabs(s.yz - 1) * v_partner);
        ASSERT_TRUE(zo_test::IsClose(gpu[p * os + i], cpu[p * os + i], 0x1p-23, atol))
            << "h = " << sh.h << " point " << p << " coordinate " << i;
      }
    }
  }
}

// A point's value does not depend on where it sits in the batch, on its batchmates, on the
// stream, or on the run: the same bits everywhere (both reduction modes).
TEST(Example21Cuda, PerPointResultsAreBitIdenticalAnywhereInTheBatch) {
  ZO_SKIP_WITHOUT_GPU();
  for (std::size_t h : {50u, 5000u}) {
    const zo::Example21 f(h);
    Batch b(h, 7, 0, 0, 77);
    // Points 0, 3 and 6 are copies of point 0.
    std::memcpy(&b.host[3 * b.stride], b.point(0), 2 * h * sizeof(float));
    std::memcpy(&b.host[6 * b.stride], b.point(0), 2 * h * sizeof(float));
    b.dev.copy_from_host(b.host.data(), b.host.size());
    zo::Stream stream;
    b.dev.set_stream(stream);  // the points move to `stream` (dev was filled by a blocking copy)
    zo::DeviceArray<double> out(7, stream);
    f.evaluate(b.dev_batch(stream), out.data());
    const auto first = out.to_host();  // blocking, on `stream`
    out.set_stream(zo::StreamView());  // and back to the legacy default stream
    b.dev.set_stream(zo::StreamView());
    f.evaluate(b.dev_batch(), out.data());
    const auto second = out.to_host();
    EXPECT_EQ(std::memcmp(first.data(), second.data(), 7 * sizeof(double)), 0) << "run to run";
    EXPECT_EQ(std::memcmp(&first[0], &first[3], sizeof(double)), 0) << "h = " << h;
    EXPECT_EQ(std::memcmp(&first[0], &first[6], sizeof(double)), 0) << "h = " << h;
    EXPECT_NE(first[0], first[1]);  // the batchmates are different points
    // Alone in a batch of one, from a different address.
    zo::DeviceArray<float> alone(b.point(0), 2 * h);
    zo::PointBatch one;
    one.data = alone.data();
    one.count = 1;
    one.dim = 2 * h;
    one.stride = 2 * h;
    one.space = zo::MemorySpace::device;
    zo::DeviceArray<double> v(1);
    f.evaluate(one, v.data());
    const double single = v.to_host()[0];
    EXPECT_EQ(std::memcmp(&single, &first[0], sizeof(double)), 0) << "h = " << h;
  }
}

TEST(Example21Cuda, DeviceBatchesNeedDeviceOutputs) {
  ZO_SKIP_WITHOUT_GPU();
  const zo::Example21 f(8);
  const Batch b(8, 2, 0, 0, 5);
  std::vector<double> host_values(2);
  EXPECT_THROW(f.evaluate(b.dev_batch(), host_values.data()), zo::InvalidArgument);
  zo::PointBatch empty = b.dev_batch();
  empty.count = 0;
  EXPECT_NO_THROW(f.evaluate(empty, nullptr));
  // The library is still usable after the refused call (no sticky CUDA error).
  zo::DeviceArray<double> out(2);
  f.evaluate(b.dev_batch(), out.data());
  std::vector<double> cpu(2);
  f.evaluate(b.host_batch(), cpu.data());
  const auto gpu = out.to_host();
  EXPECT_TRUE(zo_test::IsClose(gpu[1], cpu[1], 1e-12, 1e-12));
}

}  // namespace

// zo::Stepper on tensors with more than 2^31 elements (and a vector with more than 2^32 Philox
// blocks), where device memory allows: the GPU result is compared, in windows around the 32-bit
// boundaries and at the ends, with the CPU stepper run on just that window (coordinate_offset =
// the window's start), which is exact because every pass is element-wise. Skips when the device
// lacks the memory. Kept out of the compute-sanitizer run (label `large`).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "stepper_harness.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/stepper.hpp"

namespace {

using zo::DType;
using zo::RestoreMode;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kWindow = 4100;

struct Case {
  const char* name;
  DType dtype;
  std::uint64_t count;  ///< elements of the big tensor
  RestoreMode mode;
  std::vector<std::uint64_t> window_starts;
};

float f32_pattern() {
  const std::uint32_t bits = 0x3C3C3C3Cu;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

/// Bytes the case allocates on the device (parameters, tail tensor, record), plus slack.
std::uint64_t bytes_needed(const Case& c) {
  const std::uint64_t params = c.count * zo::dtype_size(c.dtype) + 4 * 1001;
  std::uint64_t record = 0;
  if (c.mode == RestoreMode::copy) record = params;
  if (c.mode == RestoreMode::residual) record = c.count / 4 + 12 * (c.count / 256) + 1024;
  return params + record + 2 * kGiB;
}

void run_case(const Case& c) {
  if (zo_test::under_sanitizer()) GTEST_SKIP() << "tens of GiB: not under compute-sanitizer";
  std::size_t free_bytes = 0, total_bytes = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_bytes, &total_bytes), cudaSuccess);
  if (free_bytes < bytes_needed(c)) {
    GTEST_SKIP() << c.name << ": needs " << bytes_needed(c) / kGiB << " GiB free, device has "
                 << free_bytes / kGiB << " GiB";
  }
  const std::size_t size = zo::dtype_size(c.dtype);
  void* big = nullptr;
  void* tail = nullptr;
  ASSERT_EQ(cudaMalloc(&big, c.count * size), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&tail, 1001 * 4), cudaSuccess);
  // 0x3C3C...: 0.0115 in f32 and in bf16, a normal value whose perturbations round.
  ASSERT_EQ(cudaMemset(big, 0x3C, c.count * size), cudaSuccess);
  ASSERT_EQ(cudaMemset(tail, 0x3C, 1001 * 4), cudaSuccess);
  const float value = c.dtype == DType::bf16 ? zo::detail::bf16_to_float(0x3C3C) : f32_pattern();
  const float tail_value = f32_pattern();

  zo::StepperOptions o;
  o.lambda = 0.01f;
  o.eta = 0.01f;
  o.q = 2;
  o.seed = 2024;
  o.start_step = 3;
  o.restore = c.mode;
  o.merge_next_perturbation = true;
  const auto ops = zo_test::full_steps(1, 2, true);
  {
    zo::Stepper gpu({{big, c.count, c.dtype, zo::MemorySpace::device},
                     {tail, 1001, DType::f32, zo::MemorySpace::device}},
                    o);
    zo_test::drive(gpu, ops, [](std::size_t) {});
    gpu.synchronize();
  }
  // Each window on the CPU, with the window's global start as coordinate offset.
  o.backend = zo::Backend::cpu;
  auto check = [&](std::uint64_t start, std::uint64_t n, DType dt, const void* device_base,
                   float initial, const char* what) {
    const zo_test::Layout l{{n}, {dt}, {}};
    zo_test::HostParams host(l);
    host.set(std::vector<float>(n, initial));
    zo::StepperOptions w = o;
    w.coordinate_offset = start;
    zo::Stepper cpu(host.tensors(), w);
    zo_test::drive(cpu, ops, [](std::size_t) {});
    zo_test::HostParams got(l);
    ASSERT_EQ(cudaMemcpy(got.data(0), device_base, n * zo::dtype_size(dt), cudaMemcpyDeviceToHost),
              cudaSuccess);
    EXPECT_TRUE(zo_test::SameBits(got.get(), host.get())) << what << " window at " << start;
  };
  for (std::uint64_t start : c.window_starts) {
    const std::uint64_t n = std::min(kWindow, c.count - start);
    check(start, n, c.dtype, static_cast<const char*>(big) + start * size, value, c.name);
  }
  const std::uint64_t last = c.count - kWindow;
  check(last, kWindow, c.dtype, static_cast<const char*>(big) + last * size, value, c.name);
  check(c.count, 1001, DType::f32, tail, tail_value, "tail tensor");
  cudaFree(big);
  cudaFree(tail);
}

TEST(StepperCudaHuge, F32TensorAbove2To31Elements) {
  ZO_SKIP_WITHOUT_GPU();
  const std::uint64_t n = (std::uint64_t{1} << 31) + 4097;  // 8 GiB
  run_case({"f32 2^31+4097, copy",
            DType::f32,
            n,
            RestoreMode::copy,
            {0, (std::uint64_t{1} << 31) - 2050}});
}

TEST(StepperCudaHuge, Bf16VectorAbove2To32PhiloxBlocks) {
  ZO_SKIP_WITHOUT_GPU();
  const std::uint64_t n = (std::uint64_t{1} << 34) + 5;  // 32 GiB, 2^32 + 2 units
  run_case({"bf16 2^34+5, residual",
            DType::bf16,
            n,
            RestoreMode::residual,
            {0, (std::uint64_t{1} << 31) - 2050, (std::uint64_t{1} << 32) - 2050,
             (std::uint64_t{1} << 34) - 2050}});
}

TEST(StepperCudaHuge, Bf16ArithmeticAbove2To31Elements) {
  ZO_SKIP_WITHOUT_GPU();
  const std::uint64_t n = (std::uint64_t{1} << 31) + 3;  // 4 GiB
  run_case({"bf16 2^31+3, arithmetic",
            DType::bf16,
            n,
            RestoreMode::arithmetic,
            {0, (std::uint64_t{1} << 31) - 2050}});
}

}  // namespace

// zo::Stepper on the CUDA backend: every call of every pass bit-identical to the CPU backend (the
// oracle) on awkward sizes (1, 3, 5, odd, larger than a thread block and than one grid-stride
// sweep), misaligned tensor starts, mixed f32/bf16 lists, all restore modes and distributions,
// q > 1, merged; the residual record's overflow and fallback; a caller stream; the non-finite
// policy; device-pointer validation. Skips without a usable GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "stepper_harness.hpp"
#include "tolerance.hpp"
#include "zo/backend.hpp"
#include "zo/error.hpp"
#include "zo/stepper.hpp"

namespace {

using zo::DType;
using zo::RestoreMode;
using zo_test::Layout;
using zo_test::SameBits;

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

/// Parameters in device memory with the same layout (and element shifts) as HostParams.
class DeviceParams {
 public:
  explicit DeviceParams(const Layout& layout) : layout_(layout) {
    for (std::size_t k = 0; k < layout.sizes.size(); ++k) {
      void* p = nullptr;
      const std::size_t size = zo::dtype_size(layout.dtype(k));
      if (cudaMalloc(&p, (layout.sizes[k] + layout.shift(k)) * size + 64) != cudaSuccess) {
        throw std::runtime_error("cudaMalloc failed in the test");
      }
      raw_.push_back(p);
    }
  }
  ~DeviceParams() {
    for (void* p : raw_) cudaFree(p);
  }
  DeviceParams(const DeviceParams&) = delete;
  DeviceParams& operator=(const DeviceParams&) = delete;

  void* data(std::size_t k) const {
    return static_cast<char*>(raw_[k]) + layout_.shift(k) * zo::dtype_size(layout_.dtype(k));
  }
  std::vector<zo::ParamTensor> tensors() const {
    std::vector<zo::ParamTensor> t;
    for (std::size_t k = 0; k < layout_.sizes.size(); ++k)
      t.push_back({data(k), layout_.sizes[k], layout_.dtype(k), zo::MemorySpace::device});
    return t;
  }
  /// Copies values in through a HostParams staging copy (same element encoding).
  void set(const std::vector<float>& x) {
    zo_test::HostParams staging(layout_);
    staging.set(x);
    for (std::size_t k = 0; k < layout_.sizes.size(); ++k) {
      const std::size_t bytes = layout_.sizes[k] * zo::dtype_size(layout_.dtype(k));
      if (cudaMemcpy(data(k), staging.data(k), bytes, cudaMemcpyHostToDevice) != cudaSuccess)
        throw std::runtime_error("cudaMemcpy H2D failed in the test");
    }
  }
  std::vector<float> get() const {
    zo_test::HostParams staging(layout_);
    for (std::size_t k = 0; k < layout_.sizes.size(); ++k) {
      const std::size_t bytes = layout_.sizes[k] * zo::dtype_size(layout_.dtype(k));
      if (cudaMemcpy(staging.data(k), data(k), bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
        throw std::runtime_error("cudaMemcpy D2H failed in the test");
    }
    return staging.get();
  }

 private:
  Layout layout_;
  std::vector<void*> raw_;
};

zo::StepperOptions options(RestoreMode mode, zo::Distribution dist, std::uint32_t q, bool merged) {
  zo::StepperOptions o;
  o.lambda = 0.01f;
  o.eta = 0.01f;
  o.q = q;
  o.seed = 4321;
  o.distribution = dist;
  o.merge_next_perturbation = merged;
  o.restore = mode;
  o.start_step = 9;
  o.max_escape_fraction = 1.0;  // stay residual on the awkward values (fallback tested below)
  return o;
}

/// Runs `ops` on a CPU and a CUDA stepper from the same values; compares after every call.
void expect_gpu_equals_cpu(const Layout& layout, zo::StepperOptions o,
                           const std::vector<zo_test::Op>& ops,
                           const std::vector<float>* values = nullptr) {
  const auto x0 = values ? *values : zo_test::awkward_values(layout.bf16_mask(), 17);
  zo_test::HostParams host(layout);
  host.set(x0);
  DeviceParams dev(layout);
  dev.set(x0);
  o.backend = zo::Backend::cpu;
  zo::Stepper cpu(host.tensors(), o);
  o.backend = zo::Backend::cuda;
  zo::Stepper gpu(dev.tensors(), o);
  ASSERT_EQ(gpu.backend(), zo::Backend::cuda);
  std::vector<std::vector<float>> expected;
  zo_test::drive(cpu, ops, [&](std::size_t) { expected.push_back(host.get()); });
  std::size_t k = 0;
  zo_test::drive(gpu, ops, [&](std::size_t i) {
    ASSERT_TRUE(SameBits(dev.get(), expected[k++])) << "after call " << i;
  });
  EXPECT_EQ(gpu.restore_mode(), cpu.restore_mode());
  EXPECT_EQ(gpu.escapes(), cpu.escapes());
  EXPECT_EQ(gpu.record_bytes(), cpu.record_bytes());
}

const RestoreMode kModes[] = {RestoreMode::arithmetic, RestoreMode::copy, RestoreMode::residual};
const zo::Distribution kDists[] = {zo::Distribution::gaussian, zo::Distribution::rademacher,
                                   zo::Distribution::sphere};

std::string name(RestoreMode m, zo::Distribution d, std::uint32_t q, bool merged, const Layout& l) {
  return std::string(zo::to_string(m)) + "/" + zo::to_string(d) + "/q=" + std::to_string(q) +
         (merged ? "/merged" : "") + "/" + l.describe();
}

TEST(StepperCuda, EveryPassIsBitIdenticalToTheCpuOnAwkwardLayouts) {
  ZO_SKIP_WITHOUT_GPU();
  const std::vector<Layout> layouts = {
      {{1}, {DType::f32}, {}},
      {{3}, {DType::bf16}, {}},
      {{5}, {DType::f32}, {1}},
      {{1, 3, 5}, {DType::bf16, DType::f32, DType::bf16}, {1, 2, 3}},
      {{4099, 65537, 7, 1}, {DType::f32, DType::bf16, DType::bf16, DType::f32}, {1, 0, 3, 2}},
      {{1027, 2050}, {DType::bf16}, {0, 0}},  // vector path throughout, one boundary block
  };
  const bool small = zo_test::under_sanitizer();  // kernels 10-100x slower: fewer combinations
  for (const Layout& l : layouts)
    for (RestoreMode m : kModes)
      for (zo::Distribution d : kDists)
        for (std::uint32_t q : {1u, 3u})
          for (bool merged : {false, true}) {
            if (small && (d == zo::Distribution::rademacher || q == 1)) continue;
            SCOPED_TRACE(name(m, d, q, merged, l));
            expect_gpu_equals_cpu(l, options(m, d, q, merged), zo_test::full_steps(2, q, merged));
            if (::testing::Test::HasFatalFailure()) return;
          }
}

TEST(StepperCuda, LargerThanOneGridSweep) {
  ZO_SKIP_WITHOUT_GPU();
  // > 675,840 coordinates: more units than threads in the grid, so the grid-stride loop runs
  // more than once; odd sizes and a misaligned second tensor.
  const Layout l{{1000003, 299993}, {DType::bf16, DType::f32}, {0, 1}};
  for (RestoreMode m : kModes)
    for (zo::Distribution d : {zo::Distribution::gaussian, zo::Distribution::sphere}) {
      if (zo_test::under_sanitizer() && d == zo::Distribution::sphere) continue;
      SCOPED_TRACE(name(m, d, 2, true, l));
      expect_gpu_equals_cpu(l, options(m, d, 2, true), zo_test::full_steps(1, 2, true));
    }
}

TEST(StepperCuda, RestoreFromEveryPhaseIsBitIdenticalToTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  using zo_test::Op;
  const Layout l{{77, 130}, {DType::bf16, DType::f32}, {1, 0}};
  const std::vector<std::vector<Op>> scripts = {
      {Op::perturb, Op::restore, Op::perturb, Op::flip, Op::update},
      {Op::perturb, Op::flip, Op::restore, Op::perturb, Op::flip, Op::update},
      {Op::perturb, Op::flip, Op::update, Op::restore, Op::perturb},
      {Op::perturb, Op::flip, Op::update, Op::perturb, Op::flip, Op::update, Op::restore},
  };
  for (RestoreMode m : kModes)
    for (bool merged : {false, true})
      for (const auto& script : scripts) {
        SCOPED_TRACE(std::string(zo::to_string(m)) + (merged ? " merged" : ""));
        expect_gpu_equals_cpu(l, options(m, zo::Distribution::gaussian, 2, merged), script);
      }
}

TEST(StepperCuda, ManySmallTensors) {
  ZO_SKIP_WITHOUT_GPU();
  Layout l;
  for (std::uint64_t k = 0; k < 300; ++k) {
    l.sizes.push_back(1 + (k * 37) % 23);
    l.dtypes.push_back(k % 3 == 0 ? DType::f32 : DType::bf16);
    l.shifts.push_back(static_cast<std::uint32_t>(k % 4));
  }
  for (RestoreMode m : kModes) {
    SCOPED_TRACE(zo::to_string(m));
    expect_gpu_equals_cpu(l, options(m, zo::Distribution::rademacher, 2, true),
                          zo_test::full_steps(2, 2, true));
  }
}

TEST(StepperCuda, CoordinateOffsetBeyond32Bits) {
  ZO_SKIP_WITHOUT_GPU();
  const Layout l{{1030, 9}, {DType::f32, DType::bf16}, {}};
  for (std::uint64_t offset : {std::uint64_t{0xFFFFFFFFull} - 6, (std::uint64_t{1} << 40) + 1})
    for (RestoreMode m : kModes) {
      zo::StepperOptions o = options(m, zo::Distribution::gaussian, 1, true);
      o.coordinate_offset = offset;
      SCOPED_TRACE(std::to_string(offset) + " " + zo::to_string(m));
      expect_gpu_equals_cpu(l, o, zo_test::full_steps(2, 1, true));
    }
}

TEST(StepperCuda, ResidualOverflowAndFallbackMatchTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  // Zeros escape; 50,000 of them overflow the initial list (1024 entries): undo, grow, redo.
  const std::uint64_t d = 50000;
  for (DType dt : {DType::f32, DType::bf16}) {
    const Layout l{{d}, {dt}, {}};
    std::vector<float> zeros(d, 0.0f);
    zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 2, true);
    SCOPED_TRACE(zo::to_string(dt));
    expect_gpu_equals_cpu(l, o, zo_test::full_steps(2, 2, true), &zeros);
    o.max_escape_fraction = 0.01;  // → falls back to a copy
    zo::set_log_sink([](const std::string&) {});
    expect_gpu_equals_cpu(l, o, zo_test::full_steps(2, 2, true), &zeros);
    zo::set_log_sink([](const std::string&) {});
  }
}

/// The same residual-mode stepper over x0 on the CPU and on the device, each driven by the caller
/// loop with retries for 3 steps.
struct RetryPair {
  zo_test::RetryRun cpu, gpu;
  std::uint64_t cpu_record_bytes = 0, gpu_record_bytes = 0;
};

RetryPair retry_on_both(const Layout& l, zo::StepperOptions o, const std::vector<float>& x0) {
  RetryPair r;
  zo_test::HostParams host(l);
  host.set(x0);
  o.backend = zo::Backend::cpu;
  zo::Stepper cpu(host.tensors(), o);
  r.cpu = zo_test::run_with_retries(cpu, host, 3);
  r.cpu_record_bytes = cpu.record_bytes();
  DeviceParams dev(l);
  dev.set(x0);
  o.backend = zo::Backend::cuda;
  zo::Stepper gpu(dev.tensors(), o);
  r.gpu = zo_test::run_with_retries(gpu, dev, 3);
  r.gpu_record_bytes = gpu.record_bytes();
  return r;
}

TEST(StepperCuda, ResidualCheckAtUpdateRetriesExactlyAsTheCpu) {
  ZO_SKIP_WITHOUT_GPU();
  // The scenarios of the CPU test ResidualCheckAtUpdateRetriesAndMatchesPerPassAndCopy
  // (zo_test::for_each_retry_case); each f is read from the parameters, so a pair taken at a
  // point that was not fully perturbed changes the trajectory.
  const auto residual = [](std::uint32_t q, bool merged) {
    zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, q, merged);
    o.residual_check = zo::ResidualCheck::at_update;
    return o;
  };
  zo_test::for_each_retry_case(
      residual, [&](const Layout& l, const zo::StepperOptions& o, const std::vector<float>& x0,
                    std::uint32_t first_pair) {
        const RetryPair r = retry_on_both(l, o, x0);
        ASSERT_FALSE(r.cpu.retry_directions.empty()) << "the list must have overflowed";
        EXPECT_EQ(r.cpu.retry_directions[0], first_pair);
        EXPECT_EQ(r.gpu.retry_directions, r.cpu.retry_directions);
        EXPECT_TRUE(SameBits(r.gpu.x, r.cpu.x));
        EXPECT_EQ(r.gpu.final_mode, r.cpu.final_mode);
        EXPECT_EQ(r.gpu_record_bytes, r.cpu_record_bytes);
      });
  // Beyond max_escape_fraction the retry switches to a copy, as on the CPU.
  const std::uint64_t d = 50000;
  const Layout l{{d}, {DType::bf16}, {}};
  const std::vector<float> x0 = zo_test::mostly_zero_values(d, true);
  zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 2, true);
  o.eta = 1e-4f;
  o.residual_check = zo::ResidualCheck::at_update;
  o.max_escape_fraction = 0.01;
  zo::set_log_sink([](const std::string&) {});
  const RetryPair r = retry_on_both(l, o, x0);
  zo::set_log_sink([](const std::string&) {});
  const zo_test::RetryRun& expected = r.cpu;
  const zo_test::RetryRun& got = r.gpu;
  EXPECT_EQ(expected.final_mode, RestoreMode::copy);
  EXPECT_EQ(got.final_mode, RestoreMode::copy);
  EXPECT_EQ(got.retry_directions, expected.retry_directions);
  EXPECT_TRUE(SameBits(got.x, expected.x));
}

/// Holds a stream at a host callback until open() (or `limit` has passed).
class StreamGate {
 public:
  StreamGate(cudaStream_t stream, std::chrono::milliseconds limit) : limit_(limit) {
    if (cudaLaunchHostFunc(stream, &StreamGate::hold, this) != cudaSuccess)
      throw std::runtime_error("cudaLaunchHostFunc failed in the test");
  }
  void open() { open_ = true; }
  /// Whether the stream has got past the gate.
  bool passed() const { return passed_; }

 private:
  static void CUDART_CB hold(void* self) {
    auto* g = static_cast<StreamGate*>(self);
    const auto until = std::chrono::steady_clock::now() + g->limit_;
    while (!g->open_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    g->passed_ = true;
  }
  std::chrono::milliseconds limit_;
  std::atomic<bool> open_{false};
  std::atomic<bool> passed_{false};
};

TEST(StepperCuda, ResidualCheckAtUpdatePerturbAndFlipDoNotWait) {
  ZO_SKIP_WITHOUT_GPU();
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const Layout l{{20000}, {DType::f32}, {}};
  const std::vector<float> x0 = zo_test::mostly_zero_values(20000, false);  // overflows the list
  DeviceParams dev(l);
  zo::StepperOptions o = options(RestoreMode::residual, zo::Distribution::gaussian, 1, false);
  o.stream = zo::StreamView(stream);
  {
    // Loads the kernels first: the gated calls below should only queue work.
    dev.set(x0);
    zo::Stepper warm(dev.tensors(), o);
    warm.perturb();
    warm.flip();
    warm.update(1.0, 2.0);
    warm.synchronize();
  }
  for (zo::ResidualCheck check : {zo::ResidualCheck::at_update, zo::ResidualCheck::per_pass}) {
    SCOPED_TRACE(zo::to_string(check));
    dev.set(x0);
    o.residual_check = check;
    zo::Stepper s(dev.tensors(), o);
    const bool deferred = check == zo::ResidualCheck::at_update;
    // per_pass waits for its pass, hence for the gate: a short limit lets it through.
    StreamGate gate(stream, std::chrono::milliseconds(deferred ? 20000 : 500));
    s.perturb();
    s.flip();
    EXPECT_EQ(gate.passed(), !deferred) << "perturb() and flip() waited for the stream";
    gate.open();
    EXPECT_EQ(s.update(1.0, 2.0), deferred ? zo::UpdateResult::retry : zo::UpdateResult::applied);
    s.synchronize();
  }
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST(StepperCuda, CallerStreamAndNonFinitePolicy) {
  ZO_SKIP_WITHOUT_GPU();
  cudaStream_t stream = nullptr;
  CUDA_OK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const Layout l{{12345}, {DType::bf16}, {}};
  const auto x0 = zo_test::awkward_values(l.bf16_mask(), 3, 0.02f);
  for (RestoreMode m : kModes) {
    SCOPED_TRACE(zo::to_string(m));
    zo_test::HostParams host(l);
    host.set(x0);
    DeviceParams dev(l);
    dev.set(x0);
    zo::StepperOptions o = options(m, zo::Distribution::gaussian, 1, true);
    o.backend = zo::Backend::cpu;
    zo::Stepper cpu(host.tensors(), o);
    o.backend = zo::Backend::automatic;  // device memory → cuda
    o.stream = zo::StreamView(stream);
    zo::Stepper gpu(dev.tensors(), o);
    EXPECT_EQ(gpu.backend(), zo::Backend::cuda);
    for (zo::Stepper* s : {&cpu, &gpu}) {
      s->perturb();
      s->flip();
      s->update(1.0, 0.5);  // merged: ends at x_1 + λu
      s->perturb();
      s->flip();
      EXPECT_THROW(s->update(std::numeric_limits<double>::quiet_NaN(), 0.5), zo::ObjectiveError);
      EXPECT_EQ(s->phase(), zo::StepperPhase::ready);
    }
    gpu.synchronize();
    EXPECT_TRUE(SameBits(dev.get(), host.get()));
  }
  CUDA_OK(cudaStreamDestroy(stream));
}

TEST(StepperCuda, RejectsPointersThatAreNotDeviceMemory) {
  ZO_SKIP_WITHOUT_GPU();
  std::vector<float> host(64, 1.0f);
  EXPECT_THROW(zo::Stepper({{host.data(), 64, DType::f32, zo::MemorySpace::device}}),
               zo::InvalidArgument);
  DeviceParams dev({{64}, {DType::f32}, {}});
  zo::StepperOptions o;
  o.backend = zo::Backend::cpu;
  EXPECT_THROW(zo::Stepper(dev.tensors(), o), zo::InvalidArgument);
}

}  // namespace

// Benchmarks of the in-place Stepper (docs/stepper.md): each fused pass and full ZO steps
// (excluding the objective) in GB/s, next to the device-to-device copy bandwidth of the same
// number of bytes measured in the same run (read + write counted); the unfused baseline a user
// would write with the toolkit (cuRAND normal into a buffer, then cuBLAS saxpy passes); and the
// CPU backend. GPU work is timed with CUDA events. Grids: stepper_grids.hpp.
//
// Counters: d, bytes (moved per iteration), GBps, copy_GBps (same bytes, same run), frac_copy
// (GBps / copy_GBps), ms (per iteration). scripts/bench_table.py turns the JSON into a table.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "stepper_grids.hpp"
#include "zo/backend.hpp"
#include "zo/stepper.hpp"

#if defined(ZO_BENCH_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <curand.h>
#endif

namespace {

using zo::DType;
using zo::RestoreMode;
using namespace zo_bench;

enum class Pass { perturb, flip, update, update_merged };

[[maybe_unused]] const char* to_string(Pass p) {  // CUDA benchmarks only
  switch (p) {
    case Pass::perturb:
      return "perturb";
    case Pass::flip:
      return "flip";
    case Pass::update:
      return "update";
    case Pass::update_merged:
      return "update_merged";
  }
  return "?";
}

/// Bytes each pass reads + writes for d coordinates (docs/stepper.md, "Bytes moved"): B is the
/// parameter bytes, c = ⌈d/4⌉ the residual code bytes. "next" is the pass between directions
/// j and j+1 when q > 1.
struct Traffic {
  double perturb, flip, next, update, update_merged;
};

Traffic traffic(RestoreMode m, DType dt, std::uint64_t d) {
  const double b = static_cast<double>(zo::dtype_size(dt)) * static_cast<double>(d);
  const double c = static_cast<double>((d + 3) / 4);
  switch (m) {
    case RestoreMode::arithmetic:
      return {2 * b, 2 * b, 2 * b, 2 * b, 2 * b};
    case RestoreMode::copy:
      return {3 * b, 2 * b, 2 * b, 2 * b, 3 * b};
    case RestoreMode::residual:
      return {2 * b + c, 2 * b + 2 * c, 2 * b + 2 * c, 2 * b + c, 2 * b + 2 * c};
  }
  return {};
}

[[maybe_unused]] double pass_bytes(const Traffic& t, Pass p) {  // CUDA benchmarks only
  switch (p) {
    case Pass::perturb:
      return t.perturb;
    case Pass::flip:
      return t.flip;
    case Pass::update:
      return t.update;
    case Pass::update_merged:
      return t.update_merged;
  }
  return 0;
}

double step_bytes(const Traffic& t, std::uint32_t q, bool merged) {
  return (merged ? 0.0 : t.perturb) + q * t.flip + (q - 1) * t.next +
         (merged ? t.update_merged : t.update);
}

/// Runs a benchmark body, turning exceptions (out of memory, CUDA errors) into a skipped
/// benchmark with the message instead of ending the whole run.
template <typename F, typename... Args>
void guarded(benchmark::State& st, F f, Args... args) {
  try {
    f(st, args...);
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
  }
}

std::string dname(int log2) { return "d:" + std::to_string(std::uint64_t{1} << log2); }

void set_counters(benchmark::State& st, std::uint64_t d, double bytes, double seconds,
                  double copy_gbps) {
  const double per_iter = seconds / static_cast<double>(st.iterations());
  st.counters["d"] = static_cast<double>(d);
  st.counters["bytes"] = bytes;
  st.counters["ms"] = per_iter * 1e3;
  st.counters["GBps"] = bytes / per_iter / 1e9;
  if (copy_gbps > 0) {
    st.counters["copy_GBps"] = copy_gbps;
    st.counters["frac_copy"] = bytes / per_iter / 1e9 / copy_gbps;
  }
}

// ---------------------------------------------------------------------------------------------
// CPU backend

/// Bandwidth of a parallel memcpy of `bytes` (read + write counted), measured once per size.
double host_copy_gbps(std::size_t bytes) {
  static std::map<std::size_t, double> cache;
  auto it = cache.find(bytes);
  if (it != cache.end()) return it->second;
  std::vector<unsigned char> a(bytes, 1), b(bytes, 2);
  const int reps = static_cast<int>(std::max<std::size_t>(3, (std::size_t{1} << 28) / bytes));
  const auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < reps; ++r) {
    const auto chunks = static_cast<std::int64_t>(omp_get_max_threads());
#pragma omp parallel for schedule(static)
    for (std::int64_t k = 0; k < chunks; ++k) {
      const std::size_t lo = bytes * k / chunks, hi = bytes * (k + 1) / chunks;
      std::memcpy(b.data() + lo, a.data() + lo, hi - lo);
    }
    benchmark::DoNotOptimize(b.data());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return cache[bytes] = 2.0 * static_cast<double>(bytes) * reps / s / 1e9;
}

void cpu_step(benchmark::State& st, DType dt, RestoreMode m, bool merged, int log2) {
  const std::uint64_t d = std::uint64_t{1} << log2;
  std::vector<unsigned char> x(d * zo::dtype_size(dt), 0x3C);
  zo::StepperOptions o;
  o.lambda = kLambda;
  o.eta = kEta;
  o.restore = m;
  o.merge_next_perturbation = merged;
  o.backend = zo::Backend::cpu;
  zo::Stepper s({{x.data(), d, dt, zo::MemorySpace::host}}, o);
  double seconds = 0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    s.perturb();
    s.flip();
    s.update(1.0, 0.5);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  set_counters(st, d, step_bytes(traffic(m, dt, d), 1, merged), seconds, host_copy_gbps(x.size()));
}

// ---------------------------------------------------------------------------------------------
// CUDA backend

#if defined(ZO_BENCH_CUDA)

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw std::runtime_error(std::string(what) + ": " + cudaGetErrorName(e));
}

void check(curandStatus_t s, const char* what) {
  if (s != CURAND_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": cuRAND status " + std::to_string(s));
}

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string(what) + ": " + cublasGetStatusName(s));
}

/// The cuRAND generator and cuBLAS handle of the baseline, destroyed on every exit path.
struct BaselineHandles {
  curandGenerator_t gen = nullptr;
  cublasHandle_t blas = nullptr;
  BaselineHandles() = default;
  BaselineHandles(const BaselineHandles&) = delete;
  BaselineHandles& operator=(const BaselineHandles&) = delete;
  ~BaselineHandles() {
    if (gen) curandDestroyGenerator(gen);
    if (blas) cublasDestroy(blas);
  }
};

/// Memory the caller owns, as a framework's tensors would be (plain cudaMalloc, not zo's
/// zo::DeviceBuffer): the parameters the Stepper updates in place, and the baselines' buffers.
struct CallerMemory {
  void* p = nullptr;
  explicit CallerMemory(std::size_t bytes) { check(cudaMalloc(&p, bytes), "cudaMalloc"); }
  ~CallerMemory() { cudaFree(p); }
  CallerMemory(const CallerMemory&) = delete;
  CallerMemory& operator=(const CallerMemory&) = delete;
};

/// A stream and two timing events.
struct Timer {
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  Timer() {
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "stream");
    check(cudaEventCreate(&start), "event");
    check(cudaEventCreate(&stop), "event");
  }
  ~Timer() {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    cudaStreamDestroy(stream);
  }
  void begin() { check(cudaEventRecord(start, stream), "record"); }
  /// Seconds since begin().
  double end() {
    check(cudaEventRecord(stop, stream), "record");
    check(cudaEventSynchronize(stop), "sync");
    float ms = 0;
    check(cudaEventElapsedTime(&ms, start, stop), "elapsed");
    return ms * 1e-3;
  }
};

/// cudaMemcpy device-to-device bandwidth for `bytes` (read + write counted), once per size.
double device_copy_gbps(std::size_t bytes) {
  static std::map<std::size_t, double> cache;
  auto it = cache.find(bytes);
  if (it != cache.end()) return it->second;
  CallerMemory a(bytes), b(bytes);
  check(cudaMemset(a.p, 1, bytes), "memset");
  Timer t;
  check(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, t.stream), "warm-up copy");
  const int reps = static_cast<int>(std::max<std::size_t>(10, (std::size_t{16} << 30) / bytes));
  const int capped = std::min(reps, 2000);
  t.begin();
  for (int r = 0; r < capped; ++r)
    check(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, t.stream), "copy");
  const double s = t.end();
  return cache[bytes] = 2.0 * static_cast<double>(bytes) * capped / s / 1e9;
}

void gpu_copy(benchmark::State& st, std::size_t bytes) {
  CallerMemory a(bytes), b(bytes);
  check(cudaMemset(a.p, 1, bytes), "memset");
  Timer t;
  double seconds = 0;
  for (auto _ : st) {
    t.begin();
    check(cudaMemcpyAsync(b.p, a.p, bytes, cudaMemcpyDeviceToDevice, t.stream), "copy");
    const double s = t.end();
    st.SetIterationTime(s);
    seconds += s;
  }
  set_counters(st, bytes, 2.0 * static_cast<double>(bytes), seconds, 0);
}

/// Parameters 0x3C3C… (0.0115 in f32 and bf16) in device memory, and a stepper on them.
struct GpuStepper {
  CallerMemory x;
  Timer timer;
  zo::Stepper stepper;
  GpuStepper(std::uint64_t d, DType dt, RestoreMode m, bool merged, std::uint32_t q)
      : x(d * zo::dtype_size(dt)), stepper(make(d, dt, m, merged, q)) {
    warm_up(q);  // one full step: module loading and first-touch costs stay out of the timings
  }
  zo::Stepper make(std::uint64_t d, DType dt, RestoreMode m, bool merged, std::uint32_t q) {
    check(cudaMemset(x.p, 0x3C, d * zo::dtype_size(dt)), "memset");
    zo::StepperOptions o;
    o.lambda = kLambda;
    o.eta = kEta;
    o.q = q;
    o.restore = m;
    o.merge_next_perturbation = merged;
    o.stream = zo::StreamView(timer.stream);
    return zo::Stepper({{x.p, d, dt, zo::MemorySpace::device}}, o);
  }
  void warm_up(std::uint32_t q) {
    for (std::uint32_t j = 0; j < q; ++j) {
      stepper.perturb();
      stepper.flip();
      stepper.update(1.0, 0.5);
    }
    stepper.synchronize();
  }
};

void gpu_pass(benchmark::State& st, DType dt, RestoreMode m, Pass pass, int log2) {
  const std::uint64_t d = std::uint64_t{1} << log2;
  const double copy = device_copy_gbps(d * zo::dtype_size(dt));
  GpuStepper g(d, dt, m, pass == Pass::update_merged, 1);
  Timer& t = g.timer;
  double seconds = 0;
  for (auto _ : st) {
    if (pass == Pass::perturb) t.begin();
    g.stepper.perturb();
    double s = pass == Pass::perturb ? t.end() : 0;
    if (pass == Pass::flip) t.begin();
    g.stepper.flip();
    if (pass == Pass::flip) s = t.end();
    if (pass == Pass::update || pass == Pass::update_merged) t.begin();
    g.stepper.update(1.0, 0.5);
    if (pass == Pass::update || pass == Pass::update_merged) s = t.end();
    st.SetIterationTime(s);
    seconds += s;
  }
  set_counters(st, d, pass_bytes(traffic(m, dt, d), pass), seconds, copy);
}

void gpu_step(benchmark::State& st, DType dt, RestoreMode m, bool merged, std::uint32_t q,
              int log2) {
  const std::uint64_t d = std::uint64_t{1} << log2;
  const double copy = device_copy_gbps(d * zo::dtype_size(dt));
  GpuStepper g(d, dt, m, merged, q);
  double seconds = 0;
  for (auto _ : st) {
    g.timer.begin();
    for (std::uint32_t j = 0; j < q; ++j) {
      g.stepper.perturb();
      g.stepper.flip();
      g.stepper.update(1.0, 0.5);
    }
    const double s = g.timer.end();
    st.SetIterationTime(s);
    seconds += s;
  }
  set_counters(st, d, step_bytes(traffic(m, dt, d), q, merged), seconds, copy);
}

/// What a user would write with the toolkit: u = curandGenerateNormal (stored, d floats), then
/// x += λu; x −= 2λu; x += (λ − ηg)u with cublasSaxpy. 40 bytes per coordinate per step.
void gpu_baseline(benchmark::State& st, int log2) {
  const std::uint64_t d = std::uint64_t{1} << log2;
  const double copy = device_copy_gbps(d * 4);
  CallerMemory x(d * 4), u(d * 4);
  check(cudaMemset(x.p, 0x3C, d * 4), "memset");
  Timer t;
  // Every cuRAND/cuBLAS status is checked: a failed call would otherwise time an empty step.
  BaselineHandles h;
  try {
    check(curandCreateGenerator(&h.gen, CURAND_RNG_PSEUDO_PHILOX4_32_10), "curandCreateGenerator");
    check(curandSetStream(h.gen, t.stream), "curandSetStream");
    check(cublasCreate(&h.blas), "cublasCreate");
    check(cublasSetStream(h.blas, t.stream), "cublasSetStream");
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    return;
  }
  const int n = static_cast<int>(d);
  const float plus = kLambda, minus = -2.0f * kLambda;
  const float restore_update = kLambda - kEta * static_cast<float>((1.0 - 0.5) / (2.0 * kLambda));
  auto step = [&] {
    check(curandGenerateNormal(h.gen, static_cast<float*>(u.p), d, 0.0f, 1.0f),
          "curandGenerateNormal");
    auto* xs = static_cast<float*>(x.p);
    const auto* us = static_cast<const float*>(u.p);
    // f(x + λu) would be evaluated after the first update, f(x − λu) after the second.
    check(cublasSaxpy(h.blas, n, &plus, us, 1, xs, 1), "cublasSaxpy (+λu)");
    check(cublasSaxpy(h.blas, n, &minus, us, 1, xs, 1), "cublasSaxpy (−2λu)");
    check(cublasSaxpy(h.blas, n, &restore_update, us, 1, xs, 1), "cublasSaxpy (update)");
  };
  try {
    step();
    check(cudaStreamSynchronize(t.stream), "warm-up");
  } catch (const std::exception& e) {
    st.SkipWithError(e.what());
    return;
  }
  double seconds = 0;
  for (auto _ : st) {
    t.begin();
    step();
    const double s = t.end();
    st.SetIterationTime(s);
    seconds += s;
  }
  set_counters(st, d, 40.0 * static_cast<double>(d), seconds, copy);
}

void register_gpu() {
  const DType dtypes[] = {DType::f32, DType::bf16};
  const RestoreMode modes[] = {RestoreMode::arithmetic, RestoreMode::copy, RestoreMode::residual};
  const Pass passes[] = {Pass::perturb, Pass::flip, Pass::update, Pass::update_merged};
  auto gpu = [](benchmark::internal::Benchmark* b) {
    b->UseManualTime()->MinTime(kGpuMinTime)->Unit(benchmark::kMicrosecond);
  };
  for (DType dt : dtypes)
    for (int l = kPassLog2Min; l <= kPassLog2Max; l += kPassLog2Step) {
      const std::size_t bytes = (std::size_t{1} << l) * zo::dtype_size(dt);
      gpu(benchmark::RegisterBenchmark(
          ("copy_d2d/" + std::string(zo::to_string(dt)) + "/" + dname(l)).c_str(), gpu_copy,
          bytes));
    }
  for (DType dt : dtypes)
    for (Pass p : passes) {
      for (int l = kPassLog2Min; l <= kPassLog2Max; l += kPassLog2Step)
        gpu(benchmark::RegisterBenchmark(
            ("stepper_pass/cuda/" + std::string(zo::to_string(dt)) + "/arithmetic/" + to_string(p) +
             "/" + dname(l))
                .c_str(),
            guarded<decltype(&gpu_pass), DType, RestoreMode, Pass, int>, &gpu_pass, dt,
            RestoreMode::arithmetic, p, l));
      for (RestoreMode m : {RestoreMode::copy, RestoreMode::residual})
        for (int l : kExactPassLog2)
          gpu(benchmark::RegisterBenchmark(
              ("stepper_pass/cuda/" + std::string(zo::to_string(dt)) + "/" + zo::to_string(m) +
               "/" + to_string(p) + "/" + dname(l))
                  .c_str(),
              guarded<decltype(&gpu_pass), DType, RestoreMode, Pass, int>, &gpu_pass, dt, m, p, l));
    }
  for (DType dt : dtypes)
    for (RestoreMode m : modes)
      for (bool merged : {false, true})
        for (int l : kStepLog2)
          gpu(benchmark::RegisterBenchmark(
              ("stepper_step/cuda/" + std::string(zo::to_string(dt)) + "/" + zo::to_string(m) +
               (merged ? "/merged" : "/unmerged") + "/q1/" + dname(l))
                  .c_str(),
              guarded<decltype(&gpu_step), DType, RestoreMode, bool, std::uint32_t, int>, &gpu_step,
              dt, m, merged, 1u, l));
  for (DType dt : dtypes)
    for (bool merged : {false, true})
      for (int l : kStepQLog2)
        gpu(benchmark::RegisterBenchmark(
            ("stepper_step/cuda/" + std::string(zo::to_string(dt)) + "/arithmetic" +
             (merged ? "/merged" : "/unmerged") + "/q" + std::to_string(kStepQ) + "/" + dname(l))
                .c_str(),
            guarded<decltype(&gpu_step), DType, RestoreMode, bool, std::uint32_t, int>, &gpu_step,
            dt, RestoreMode::arithmetic, merged, kStepQ, l));
  for (int l : kBaselineLog2)
    gpu(benchmark::RegisterBenchmark(("baseline_curand_cublas/cuda/f32/" + dname(l)).c_str(),
                                     guarded<decltype(&gpu_baseline), int>, &gpu_baseline, l));
}

#endif  // ZO_BENCH_CUDA

void register_cpu() {
  for (DType dt : {DType::f32, DType::bf16})
    for (RestoreMode m : {RestoreMode::arithmetic, RestoreMode::copy, RestoreMode::residual})
      for (bool merged : {false, true})
        for (int l : kCpuStepLog2)
          benchmark::RegisterBenchmark(
              ("stepper_step/cpu/" + std::string(zo::to_string(dt)) + "/" + zo::to_string(m) +
               (merged ? "/merged" : "/unmerged") + "/q1/" + dname(l))
                  .c_str(),
              guarded<decltype(&cpu_step), DType, RestoreMode, bool, int>, &cpu_step, dt, m, merged,
              l)
              ->UseRealTime()
              ->MinTime(kCpuMinTime)
              ->Unit(benchmark::kMicrosecond);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  zo::set_log_sink([](const std::string&) {});
  register_cpu();
#if defined(ZO_BENCH_CUDA)
  if (zo::cuda_available()) {
    benchmark::AddCustomContext("zo_device", zo::cuda_device_description());
    register_gpu();
  } else {
    benchmark::AddCustomContext("zo_device", "none: " + zo::cuda_device_description());
  }
#else
  benchmark::AddCustomContext("zo_device", "none: CPU-only build");
#endif
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

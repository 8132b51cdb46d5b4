// Benchmarks of RunBatch's batched path: K runs of Algorithm 1 on Example 2.1, over K at the
// paper's size (h = 100, 200 coordinates) and over the dimension at small K, on the CUDA backend
// (the fused Example 2.1 path and the generic path that materialises the 2·K·q perturbed points)
// and on the CPU backend. Grids: run_batch_grids.hpp.
//
// Counters: config_steps_per_s (run-steps per second, K × steps / time), GB_per_s (the bytes a
// step must move at least, see step_bytes(), per second), copy_GB_per_s (the device-to-device
// copy bandwidth, read + write, measured once in the same process: the ceiling) and of_copy
// (GB_per_s / copy_GB_per_s). GPU work is timed with CUDA events on the batch's stream
// (manual time); each timed iteration is kStepsPerIteration steps including RunBatch::run()'s
// final wait. Without a usable GPU the CUDA benchmarks report an error and the CPU ones run.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "run_batch_grids.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/example21.hpp"
#include "zo/objective.hpp"
#include "zo/run_batch.hpp"

namespace {

using namespace zo_bench;

/// Example 2.1 behind a forwarding wrapper: the CUDA backend cannot fuse it, so it takes the
/// generic path (perturb kernel, materialised points, one batched evaluate).
class Generic final : public zo::Objective {
 public:
  explicit Generic(const zo::Objective& inner) : inner_(inner) {}
  std::size_t dim() const override { return inner_.dim(); }
  bool accepts(zo::MemorySpace s) const override { return inner_.accepts(s); }
  void evaluate(const zo::PointBatch& p, double* v) const override { inner_.evaluate(p, v); }

 private:
  const zo::Objective& inner_;
};

/// Device-to-device copy bandwidth in bytes (read + written) per second: the best of 10 timed
/// copies of kCeilingBytes (or a quarter of the free memory, if less).
double copy_ceiling() {
  static const double bandwidth = [] {
    const std::uint64_t bytes =
        std::min<std::uint64_t>(kCeilingBytes, zo::device_memory_info().free_bytes / 4);
    zo::Stream stream;  // declared first: it outlives the buffers that are freed on it
    zo::DeviceBuffer a(bytes, stream), b(bytes, stream);
    a.fill_zero();
    b.fill_zero();
    zo::Event start, stop;
    float best = std::numeric_limits<float>::max();
    for (int rep = 0; rep < 11; ++rep) {
      start.record(stream);
      zo::copy_bytes_async(b.data(), a.data(), bytes, stream);
      stop.record(stream);
      const float ms = zo::Event::elapsed_ms(start, stop);
      if (rep > 0) best = std::min(best, ms);  // rep 0 warms up
    }
    return 2.0 * static_cast<double>(bytes) / (static_cast<double>(best) * 1e-3);
  }();
  return bandwidth;
}

/// The least traffic of one step, in bytes (padded rows of ld floats; P = K·q pairs):
///  fused:   read x once per pair (P·ld) + read and write x in the update (2K·ld);
///  generic: read x (K·ld), write and read back the 2P points (4P·ld), update (2K·ld).
/// The CPU backend follows the generic scheme.
double step_bytes(bool fused, std::int64_t K, std::int64_t q, std::int64_t dim) {
  const double ld = static_cast<double>((dim + 3) / 4 * 4);
  const double P = static_cast<double>(K * q);
  const double k = static_cast<double>(K);
  return 4.0 * ld * (fused ? P + 2.0 * k : 3.0 * k + 4.0 * P);
}

std::vector<zo::RunSpec> bench_runs(std::int64_t K, std::int64_t q, std::int64_t dim) {
  std::vector<zo::RunSpec> runs(static_cast<std::size_t>(K));
  for (std::int64_t k = 0; k < K; ++k) {
    zo::RunSpec& s = runs[static_cast<std::size_t>(k)];
    s.method = zo::Method::zo;
    s.distribution = zo::Distribution::gaussian;
    s.q = static_cast<std::uint32_t>(q);
    s.lambda = 0.01f;
    s.eta = 1e-2f / static_cast<float>(dim);  // small enough to stay finite for any dim
    s.seed = static_cast<std::uint64_t>(k);
  }
  return runs;
}

std::vector<float> bench_start(std::int64_t K, std::int64_t dim) {
  std::vector<float> x(static_cast<std::size_t>(K * dim));
  zo::gaussian_fill(1, 0, x.data(), x.size());
  const float scale = 1.0f / std::sqrt(static_cast<float>(dim));
  for (float& v : x) v *= scale;
  return x;
}

void set_counters(benchmark::State& state, bool fused, std::int64_t K, std::int64_t q,
                  std::int64_t dim, double steps, double seconds, bool gpu) {
  const double bytes_per_s = step_bytes(fused, K, q, dim) * steps / seconds;
  state.counters["config_steps_per_s"] = static_cast<double>(K) * steps / seconds;
  state.counters["GB_per_s"] = bytes_per_s / 1e9;
  if (gpu) {
    state.counters["copy_GB_per_s"] = copy_ceiling() / 1e9;
    state.counters["of_copy"] = bytes_per_s / copy_ceiling();
  }
}

/// Args: {fused (1) or generic (0), K, h, q}.
void BM_CudaRunBatch(benchmark::State& state) {
  const bool fused = state.range(0) != 0;
  const std::int64_t K = state.range(1), h = state.range(2), q = state.range(3), dim = 2 * h;
  if (!zo::cuda_available()) {
    state.SkipWithError(("no usable CUDA device: " + zo::cuda_device_description()).c_str());
    return;
  }
  const double need = step_bytes(false, K, q, dim) * 1.5;  // x, points and slack
  if (need > 0.8 * static_cast<double>(zo::device_memory_info().free_bytes)) {
    state.SkipWithError("not enough free device memory");
    return;
  }
  zo::set_log_sink({});
  const zo::Example21 f(static_cast<std::size_t>(h));
  const Generic generic(f);
  const auto runs = bench_runs(K, q, dim);
  const auto x0 = bench_start(K, dim);
  zo::Stream stream;
  zo::BatchOptions o;
  o.backend = zo::Backend::cuda;
  o.on_non_finite = zo::NonFinitePolicy::skip;
  o.stream = stream;
  zo::RunBatch batch(fused ? static_cast<const zo::Objective&>(f) : generic, runs, x0.data(), o);
  batch.run(2);  // warm-up: first launches, memory pools
  zo::Event start, stop;
  double seconds = 0.0, steps = 0.0;
  for (auto _ : state) {
    start.record(stream);
    batch.run(kStepsPerIteration);
    stop.record(stream);
    const double s = static_cast<double>(zo::Event::elapsed_ms(start, stop)) * 1e-3;
    state.SetIterationTime(s);
    seconds += s;
    steps += static_cast<double>(kStepsPerIteration);
  }
  set_counters(state, fused, K, q, dim, steps, seconds, true);
  state.SetLabel(fused ? "fused" : "generic");
}

/// Args: {K, h} (q = 1; wall-clock time).
void BM_CpuRunBatch(benchmark::State& state) {
  const std::int64_t K = state.range(0), h = state.range(1), dim = 2 * h;
  zo::set_log_sink({});
  const zo::Example21 f(static_cast<std::size_t>(h));
  const auto runs = bench_runs(K, 1, dim);
  const auto x0 = bench_start(K, dim);
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  o.on_non_finite = zo::NonFinitePolicy::skip;
  zo::RunBatch batch(f, runs, x0.data(), o);
  batch.run(1);
  double steps = 0.0;
  for (auto _ : state) {
    batch.run(kStepsPerIteration);
    steps += static_cast<double>(kStepsPerIteration);
  }
  // Rates over the wall-clock time of the timed loop (UseRealTime).
  state.counters["config_steps_per_s"] =
      benchmark::Counter(static_cast<double>(K) * steps, benchmark::Counter::kIsRate);
  state.counters["GB_per_s"] =
      benchmark::Counter(step_bytes(false, K, 1, dim) * steps / 1e9, benchmark::Counter::kIsRate);
  state.SetLabel("cpu");
}

void BM_CopyCeiling(benchmark::State& state) {
  if (!zo::cuda_available()) {
    state.SkipWithError("no usable CUDA device");
    return;
  }
  for (auto _ : state) state.SetIterationTime(2.0 * kCeilingBytes / copy_ceiling());
  state.counters["copy_GB_per_s"] = copy_ceiling() / 1e9;
  state.SetLabel(zo::cuda_device_description());
}

void cuda_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t fused : {1, 0}) {
    for (std::int64_t K : kRunsGrid) b->Args({fused, K, kHalfDimForRuns, 1});
    for (std::int64_t q : kExtraQ) b->Args({fused, kRunsForQ, kHalfDimForRuns, q});
    for (std::int64_t K : kSmallRuns)
      for (std::int64_t h : kHalfDimGrid)
        if (K * h <= kMaxRunsTimesHalfDim) b->Args({fused, K, h, 1});
  }
  b->ArgNames({"fused", "K", "h", "q"});
}

void cpu_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t K : kCpuRunsGrid) b->Args({K, kHalfDimForRuns});
  for (std::int64_t h : kCpuHalfDimGrid) b->Args({1, h});
  b->ArgNames({"K", "h"});
}

BENCHMARK(BM_CopyCeiling)->UseManualTime()->Iterations(1);
BENCHMARK(BM_CudaRunBatch)
    ->Apply(cuda_grid)
    ->UseManualTime()
    ->MinTime(kMinTime)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CpuRunBatch)
    ->Apply(cpu_grid)
    ->UseRealTime()
    ->MinTime(kMinTime)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

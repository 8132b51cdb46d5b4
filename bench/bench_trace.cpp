// Benchmarks of the Hessian-trace estimators (zo/trace.hpp) over the dimension D and the number of
// probes m, on the GPU and the CPU: Example 2.1 (whose evaluation is one pass over the points, so
// the estimators are memory-bound) and the logistic linear model of the paper's Figure 2 (whose
// evaluation is one matrix product). Grids: trace_grids.hpp.
//
// Counters
//   estimates_per_s   estimates per second (one estimate = m probes at one point)
//   probes_per_s      m per second
//   GB_per_s          the bytes an estimate must move at least (trace_bytes()), per second
//   copy_GB_per_s     the ceiling: copy bandwidth (read + write) measured in the same process,
//                     device-to-device on the GPU, OpenMP memcpy on the CPU
//   of_copy           GB_per_s / copy_GB_per_s
//   TFLOP_per_s       linear model: 2·N·D·(points evaluated) per second (the data product)
//   of_evaluate       linear model: time of ONE objective evaluation of the same 2m+1 points
//                     already in memory (the "one matrix product" floor), divided by the time of
//                     the whole estimate (1.0 = the estimator adds nothing to the product)
// GPU work is timed with CUDA events around the (synchronous) estimator call (manual time); CPU
// work with the wall clock. Without a usable GPU the CUDA benchmarks report an error.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "trace_grids.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"
#include "zo/trace.hpp"

#if __has_include("zo/linear_model.hpp")
#include "zo/linear_model.hpp"
#define ZO_BENCH_LINEAR 1
#endif

namespace {

using namespace zo_bench_trace;

zo::TraceEstimator estimator_of(std::int64_t kind) {
  switch (kind) {
    case kZo:
      return zo::TraceEstimator::zo;
    case kSharpness:
      return zo::TraceEstimator::sharpness;
    case kHutchinson:
      return zo::TraceEstimator::hutchinson;
    default:
      return zo::TraceEstimator::hutchpp;
  }
}

/// The least traffic of one estimate in bytes (float32 coordinates, D per point):
///   zo:         write + read the 2m+1 points, read the 2m perturbed ones again for the rounding
///               diagnostic:                                   (6m + 2)·D·4
///   sharpness:  write + read the m+1 points:                  (2m + 2)·D·4
///   hutchinson: write probes and replicated x, read both and write Hv in the HVP, read v and Hv
///               in the dot products:                          7m·D·4
///   hutch++:    not modelled (its cost is the host QR); 0.
double trace_bytes(std::int64_t kind, double m, double dim) {
  switch (kind) {
    case kZo:
      return (6.0 * m + 2.0) * dim * 4.0;
    case kSharpness:
      return (2.0 * m + 2.0) * dim * 4.0;
    case kHutchinson:
      return 7.0 * m * dim * 4.0;
    default:
      return 0.0;
  }
}

/// Device-to-device copy bandwidth (bytes read + written per second), best of 10 copies.
double gpu_copy_ceiling() {
  static const double bandwidth = [] {
    const std::uint64_t bytes =
        std::min<std::uint64_t>(kCeilingBytes, zo::device_memory_info().free_bytes / 4);
    zo::DeviceMemory a(bytes), b(bytes);
    a.fill_zero();
    b.fill_zero();
    zo::Event start, stop;
    float best = std::numeric_limits<float>::max();
    for (int rep = 0; rep < 11; ++rep) {
      start.record();
      zo::copy_bytes_async(b.data(), a.data(), bytes);
      stop.record();
      const float ms = zo::Event::elapsed_ms(start, stop);
      if (rep > 0) best = std::min(best, ms);  // rep 0 warms up
    }
    return 2.0 * static_cast<double>(bytes) / (static_cast<double>(best) * 1e-3);
  }();
  return bandwidth;
}

/// Host copy bandwidth with all OpenMP threads (bytes read + written per second), best of 5.
double cpu_copy_ceiling() {
  static const double bandwidth = [] {
    const std::size_t n = kCeilingBytes / sizeof(float);
    std::vector<float> a(n, 1.0f), b(n, 0.0f);
    double best = std::numeric_limits<double>::max();
    for (int rep = 0; rep < 6; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel
      {
        const std::size_t threads = static_cast<std::size_t>(omp_get_num_threads());
        const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
        const std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
        std::memcpy(b.data() + begin, a.data() + begin, (end - begin) * sizeof(float));
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (rep > 0) best = std::min(best, s);
    }
    benchmark::DoNotOptimize(b.data());
    return 2.0 * static_cast<double>(n * sizeof(float)) / best;
  }();
  return bandwidth;
}

bool skip_without_gpu(benchmark::State& state, bool gpu) {
  if (gpu && !zo::cuda_available()) {
    state.SkipWithError(("no usable CUDA device: " + zo::cuda_device_description()).c_str());
    return true;
  }
  return false;
}

/// Runs the estimator once per iteration; returns the total seconds (GPU: CUDA events).
template <typename Estimate>
double timed_loop(benchmark::State& state, bool gpu, Estimate&& estimate) {
  double total = 0.0;
  for (auto _ : state) {
    if (gpu) {
      zo::Event start, stop;
      start.record();
      estimate();
      stop.record();
      const double s = zo::Event::elapsed_ms(start, stop) * 1e-3;
      state.SetIterationTime(s);
      total += s;
    } else {
      const auto t0 = std::chrono::steady_clock::now();
      estimate();
      total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  }
  return total;
}

void rate_counters(benchmark::State& state, bool gpu, double bytes_per_estimate, double m,
                   double seconds) {
  const double n = static_cast<double>(state.iterations());
  state.counters["estimates_per_s"] = n / seconds;
  state.counters["probes_per_s"] = n * m / seconds;
  if (bytes_per_estimate > 0.0) {
    const double ceiling = gpu ? gpu_copy_ceiling() : cpu_copy_ceiling();
    const double rate = bytes_per_estimate * n / seconds;
    state.counters["GB_per_s"] = rate / 1e9;
    state.counters["copy_GB_per_s"] = ceiling / 1e9;
    state.counters["of_copy"] = rate / ceiling;
  }
}

/// Args: {gpu, estimator kind, D, m}.
void BM_TraceExample21(benchmark::State& state) {
  const bool gpu = state.range(0) != 0;
  const std::int64_t kind = state.range(1), dim = state.range(2), m = state.range(3);
  if (skip_without_gpu(state, gpu)) return;
  const zo::Example21 f(static_cast<std::size_t>(dim / 2));
  std::vector<float> x(static_cast<std::size_t>(dim));
  zo::gaussian_fill(1, 0, x.data(), x.size());
  zo::TraceOptions options;
  options.backend = gpu ? zo::Backend::cuda : zo::Backend::cpu;
  const zo::TraceEstimator e = estimator_of(kind);
  zo::TraceEstimate last;
  const double seconds = timed_loop(state, gpu, [&] {
    last = zo::estimate_trace(e, f, x.data(), static_cast<std::uint32_t>(m), 7, options);
    benchmark::DoNotOptimize(last.estimate);
  });
  rate_counters(state, gpu, trace_bytes(kind, m, dim), static_cast<double>(m), seconds);
  state.SetLabel(std::string(zo::to_string(e)) +
                 (last.backend == zo::Backend::cuda ? " cuda" : " cpu"));
}

void example21_grid(benchmark::internal::Benchmark* b, bool gpu) {
  for (std::int64_t kind : {kZo, kSharpness, kHutchinson, kHutchpp}) {
    for (std::int64_t dim :
         gpu ? std::vector<std::int64_t>(std::begin(kGpuDims), std::end(kGpuDims))
             : std::vector<std::int64_t>(std::begin(kCpuDims), std::end(kCpuDims))) {
      for (std::int64_t m :
           gpu ? std::vector<std::int64_t>(std::begin(kGpuProbes), std::end(kGpuProbes))
               : std::vector<std::int64_t>(std::begin(kCpuProbes), std::end(kCpuProbes))) {
        if (m * dim > (gpu ? kMaxGpuProbeCoords : kMaxCpuProbeCoords)) continue;
        if (kind == kHutchpp && m * dim > kMaxHutchppCoords) continue;
        b->Args({gpu ? 1 : 0, kind, dim, m});
      }
    }
  }
  b->ArgNames({"gpu", "est", "D", "m"});
}

void BM_CopyCeiling(benchmark::State& state) {
  const bool gpu = state.range(0) != 0;
  if (skip_without_gpu(state, gpu)) return;
  const double ceiling = gpu ? gpu_copy_ceiling() : cpu_copy_ceiling();
  for (auto _ : state) state.SetIterationTime(2.0 * kCeilingBytes / ceiling);
  state.counters["copy_GB_per_s"] = ceiling / 1e9;
  state.SetLabel(gpu ? zo::cuda_device_description() : "host memcpy, OpenMP");
}

#if defined(ZO_BENCH_LINEAR)

/// A dense logistic-regression problem of the paper's shape: N(0,1) features with a bias column,
/// labels ±1 from a random teacher; x = 0.1·N(0, I) (the paper's initialisation).
struct LinearProblem {
  std::unique_ptr<zo::LinearModel> model;
  std::vector<float> x;
};

LinearProblem& linear_problem(bool gpu) {
  static std::unique_ptr<LinearProblem> cache[2];
  std::unique_ptr<LinearProblem>& slot = cache[gpu ? 1 : 0];
  if (!slot) {
    const std::size_t rows = static_cast<std::size_t>(gpu ? kLinearRows : kLinearCpuRows);
    const std::size_t cols = static_cast<std::size_t>(gpu ? kLinearDim : kLinearCpuDim);
    auto data = std::make_shared<zo::BinaryDataset>();
    zo::DenseMatrix features;
    features.rows = rows;
    features.cols = cols;
    features.values.resize(rows * cols);
    zo::gaussian_fill(11, 0, features.values.data(), features.values.size());
    std::vector<float> teacher(cols);
    zo::gaussian_fill(12, 0, teacher.data(), cols);
    data->labels.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      features.values[i * cols] = 1.0f;  // bias
      double s = 0.0;
      for (std::size_t j = 0; j < cols; ++j) s += features.values[i * cols + j] * teacher[j];
      data->labels[i] = s >= 0.0 ? 1.0f : -1.0f;
    }
    data->features = std::move(features);
    zo::LinearModelOptions options;
    options.backend = gpu ? zo::Backend::cuda : zo::Backend::cpu;
    slot = std::make_unique<LinearProblem>();
    slot->model =
        std::make_unique<zo::LinearModel>(zo::LinearLoss::logistic, data, nullptr, options);
    slot->x.resize(cols);
    zo::gaussian_fill(13, 0, slot->x.data(), cols);
    for (float& v : slot->x) v *= 0.1f;
  }
  return *slot;
}

/// Seconds of one evaluate() of `count` points already in the objective's memory (best of 3).
double one_evaluation_seconds(const zo::LinearModel& model, const std::vector<float>& x,
                              std::size_t count, bool gpu) {
  const std::size_t dim = x.size();
  std::vector<float> points(count * dim);
  for (std::size_t p = 0; p < count; ++p) std::copy(x.begin(), x.end(), points.begin() + p * dim);
  zo::PointBatch batch;
  batch.count = count;
  batch.dim = dim;
  batch.stride = dim;
  double best = std::numeric_limits<double>::max();
  if (gpu) {
    zo::DeviceArray<float> device_points(points);
    zo::DeviceArray<double> values(count);
    batch.data = device_points.data();
    batch.space = zo::MemorySpace::device;
    for (int rep = 0; rep < 4; ++rep) {
      zo::Event start, stop;
      start.record();
      model.evaluate(batch, values.data());
      stop.record();
      const double s = zo::Event::elapsed_ms(start, stop) * 1e-3;
      if (rep > 0) best = std::min(best, s);
    }
  } else {
    std::vector<double> values(count);
    batch.data = points.data();
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      model.evaluate(batch, values.data());
      best = std::min(best,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  return best;
}

/// Args: {gpu, estimator kind, m}.
void BM_TraceLogistic(benchmark::State& state) {
  const bool gpu = state.range(0) != 0;
  const std::int64_t kind = state.range(1), m = state.range(2);
  if (skip_without_gpu(state, gpu)) return;
  LinearProblem& problem = linear_problem(gpu);
  const zo::LinearModel& f = *problem.model;
  zo::TraceOptions options;
  options.backend = gpu ? zo::Backend::cuda : zo::Backend::cpu;
  const zo::TraceEstimator e = estimator_of(kind);
  zo::TraceEstimate last;
  const double seconds = timed_loop(state, gpu, [&] {
    last = zo::estimate_trace(e, f, problem.x.data(), static_cast<std::uint32_t>(m), 7, options);
    benchmark::DoNotOptimize(last.estimate);
  });
  const double n = static_cast<double>(state.iterations());
  const double rows = static_cast<double>(f.rows(zo::DataSplit::train));
  const double dim = static_cast<double>(f.dim());
  // Data products per estimate: zo 2m+1 points, sharpness m+1, HVP-based ~3 products per vector.
  const double points = kind == kZo ? 2.0 * m + 1 : kind == kSharpness ? m + 1.0 : 3.0 * m;
  rate_counters(state, gpu, 0.0, static_cast<double>(m), seconds);
  state.counters["TFLOP_per_s"] = 2.0 * rows * dim * points * n / seconds / 1e12;
  if (kind == kZo || kind == kSharpness) {
    const double floor =
        one_evaluation_seconds(f, problem.x, static_cast<std::size_t>(points), gpu);
    state.counters["of_evaluate"] = floor / (seconds / n);
  }
  state.SetLabel(std::string(zo::to_string(e)) +
                 (last.backend == zo::Backend::cuda ? " cuda" : " cpu") +
                 ", N=" + std::to_string(static_cast<long long>(rows)) +
                 ", D=" + std::to_string(static_cast<long long>(dim)));
}

void logistic_grid(benchmark::internal::Benchmark* b, bool gpu) {
  for (std::int64_t kind : {kZo, kSharpness, kHutchinson, kHutchpp}) {
    for (std::int64_t m :
         gpu ? std::vector<std::int64_t>(std::begin(kLinearProbes), std::end(kLinearProbes))
             : std::vector<std::int64_t>(std::begin(kLinearCpuProbes),
                                         std::end(kLinearCpuProbes))) {
      if (kind == kHutchpp && m > 300) m = 300;  // host QR of a D × m/3 sketch
      b->Args({gpu ? 1 : 0, kind, m});
    }
  }
  b->ArgNames({"gpu", "est", "m"});
}

BENCHMARK(BM_TraceLogistic)
    ->Apply([](benchmark::internal::Benchmark* b) { logistic_grid(b, true); })
    ->UseManualTime()
    ->MinTime(kMinTime)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TraceLogistic)
    ->Apply([](benchmark::internal::Benchmark* b) { logistic_grid(b, false); })
    ->UseRealTime()
    ->MinTime(kMinTime)
    ->Unit(benchmark::kMillisecond);

#endif  // ZO_BENCH_LINEAR

BENCHMARK(BM_CopyCeiling)->Arg(1)->Arg(0)->ArgName("gpu")->UseManualTime()->Iterations(1);
BENCHMARK(BM_TraceExample21)
    ->Apply([](benchmark::internal::Benchmark* b) { example21_grid(b, true); })
    ->UseManualTime()
    ->MinTime(kMinTime)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TraceExample21)
    ->Apply([](benchmark::internal::Benchmark* b) { example21_grid(b, false); })
    ->UseRealTime()
    ->MinTime(kMinTime)
    ->Unit(benchmark::kMillisecond);

}  // namespace

// Sweep throughput: config-steps per second (run-steps per second, K × steps / time) of Example
// 2.1 (d = 100) for K = 1 … 65,536 runs through
//   (i)   the persistent kernel / fused CPU loop (zo::RunBatch with zo::Engine::fused),
//   (ii)  the batched path (zo::RunBatch),
//   (iii) K separate single runs through the library (one RunBatch per run),
// on the GPU and the CPU, next to the ceiling: the direction generator alone
// (zo::generate_directions) on the same K × steps, measured in the same benchmark.
// BM_Target times the throughput target (K = 4096 × 10^5 steps, 100 logged points) end to end.
// Grids: sweep_grids.hpp. GPU times are CUDA events inside the library (manual time); RunBatch
// and CPU times are wall clock around synchronous calls. Without a GPU the GPU cases are skipped
// with an error message.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "sweep_grids.hpp"
#include "zo/backend.hpp"
#include "zo/directions.hpp"
#include "zo/example21.hpp"
#include "zo/run_batch.hpp"

namespace {

using namespace zo_bench_sweep;
using clock_type = std::chrono::steady_clock;

/// K runs as `zo sweep --seeds 0:S --lambdas <L values>` lays them out (S = K / L seeds, run k
/// with seed k mod S and the (k div S)-th λ of Figure 1's list, η = 10^-3, q = 1), each starting
/// from its seed's point. L = 1: K seeds at λ = 0.1 (every run its own directions).
std::vector<zo::RunSpec> runs_of(std::int64_t K, std::int64_t L = 1) {
  constexpr float kLambdas[] = {0.2f, 0.1f, 0.07f, 0.05f, 0.03f, 0.02f, 0.01f, 0.005f};
  const std::int64_t S = std::max<std::int64_t>(1, K / L);
  std::vector<zo::RunSpec> runs(static_cast<std::size_t>(K));
  for (std::int64_t k = 0; k < K; ++k) {
    zo::RunSpec& s = runs[static_cast<std::size_t>(k)];
    s.method = zo::Method::zo;
    s.lambda = L == 1 ? 0.1f : kLambdas[(k / S) % 8];
    s.eta = 1e-3f;
    s.q = 1;
    s.seed = static_cast<std::uint64_t>(k % S);
  }
  return runs;
}

std::vector<float> start_of(const std::vector<zo::RunSpec>& runs) {
  const std::size_t dim = 2 * kHalfDim;
  std::vector<float> x(runs.size() * dim);
  for (std::size_t k = 0; k < runs.size(); ++k)
    zo::gaussian_fill(runs[k].seed, 0, &x[k * dim], dim);
  return x;
}

std::uint64_t steps_for(double work, std::int64_t K, std::uint64_t max_steps = kMaxSteps) {
  return std::max<std::uint64_t>(
      1, std::min<std::uint64_t>(max_steps,
                                 static_cast<std::uint64_t>(work / static_cast<double>(K))));
}

bool need_gpu(benchmark::State& state) {
  if (zo::cuda_available()) return true;
  state.SkipWithError(("no usable CUDA device: " + zo::cuda_device_description()).c_str());
  return false;
}

/// Iterations 0 and round(10^x), x evenly spaced in [0, log10(total)], and total (as `zo sweep`).
std::vector<std::uint64_t> log_points(std::uint64_t total, std::size_t points) {
  std::vector<std::uint64_t> out{0};
  const double top = std::log10(static_cast<double>(total));
  for (std::size_t i = 0; i < points; ++i)
    out.push_back(static_cast<std::uint64_t>(
        std::llround(std::pow(10.0, top * static_cast<double>(i) / (points - 1)))));
  out.push_back(total);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// RunBatch options of the fused engine.
zo::BatchOptions fused_options(zo::Backend backend, unsigned group) {
  zo::BatchOptions o;
  o.backend = backend;
  o.engine = zo::Engine::fused;
  o.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  o.gpu_group = group;
  return o;
}

/// (i) The persistent kernel (GPU) or the fused loop (CPU). Args: {gpu, K, group (0 = auto)}.
void BM_Fused(benchmark::State& state) {
  const bool gpu = state.range(0) != 0;
  const std::int64_t K = state.range(1);
  const auto group = static_cast<unsigned>(state.range(2));
  if (gpu && !need_gpu(state)) return;
  zo::set_log_sink({});
  const auto backend = gpu ? zo::Backend::cuda : zo::Backend::cpu;
  const std::uint64_t steps =
      gpu ? steps_for(kGpuFusedWork, K) : steps_for(kCpuWork, K, kMaxCpuSteps);
  const zo::Example21 objective(kHalfDim);
  const auto runs = runs_of(K, state.range(3));
  zo::RunBatch batch(objective, runs, start_of(runs).data(), fused_options(backend, group));
  batch.run(std::min<std::uint64_t>(steps, 100));  // warm-up (module load, caches)
  double seconds = 0.0, done = 0.0;
  for (auto _ : state) {
    if (batch.next_step() + steps > zo::kMaxStep) state.SkipWithError("step index exhausted");
    batch.run(steps);
    seconds += batch.last_run_seconds();
    done += static_cast<double>(steps);
    state.SetIterationTime(batch.last_run_seconds());
  }
  // The ceiling: the direction generator alone on the same K × steps.
  const auto ceiling =
      zo::generate_directions(backend, static_cast<std::size_t>(K), 2 * kHalfDim, steps);
  const double rate = static_cast<double>(K) * done / seconds;
  const double ceiling_rate = static_cast<double>(K) * static_cast<double>(steps) / ceiling.seconds;
  state.counters["config_steps_per_s"] = rate;
  state.counters["ceiling_config_steps_per_s"] = ceiling_rate;
  state.counters["of_ceiling"] = rate / ceiling_rate;
  state.counters["steps"] = static_cast<double>(steps);
  state.counters["group"] = batch.gpu_group();
  state.SetLabel(std::string(gpu ? "fused gpu" : "fused cpu") +
                 (state.range(3) > 1 ? ", K/8 seeds x 8 lambdas" : ""));
}

/// (ii) RunBatch, all K runs in one batch. Args: {gpu, K}.
void BM_Batched(benchmark::State& state) {
  const bool gpu = state.range(0) != 0;
  const std::int64_t K = state.range(1);
  if (gpu && !need_gpu(state)) return;
  zo::set_log_sink({});
  const zo::Example21 objective(kHalfDim);
  zo::BatchOptions options;
  options.backend = gpu ? zo::Backend::cuda : zo::Backend::cpu;
  options.engine = zo::Engine::generic;
  options.on_non_finite = zo::NonFinitePolicy::mark_diverged;
  const std::uint64_t steps = steps_for(gpu ? kGpuBatchedWork : kCpuWork / 4, K, kMaxBatchedSteps);
  try {
    const auto runs = runs_of(K);
    zo::RunBatch batch(objective, runs, start_of(runs).data(), options);
    batch.run(2);  // warm-up
    double seconds = 0.0, done = 0.0;
    for (auto _ : state) {
      const auto t0 = clock_type::now();
      batch.run(steps);  // synchronous: returns when the steps are done
      const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
      state.SetIterationTime(s);
      seconds += s;
      done += static_cast<double>(steps);
    }
    state.counters["config_steps_per_s"] = static_cast<double>(K) * done / seconds;
    state.counters["steps"] = static_cast<double>(steps);
    state.SetLabel(gpu ? "runbatch gpu" : "runbatch cpu");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

/// (iii) K separate single runs: one RunBatch per run, each run to completion. Args: {gpu, K}.
void BM_Separate(benchmark::State& state) {
  const bool gpu = state.range(0) != 0;
  const std::int64_t K = state.range(1);
  if (gpu && !need_gpu(state)) return;
  zo::set_log_sink({});
  const zo::Example21 objective(kHalfDim);
  zo::BatchOptions options;
  options.backend = gpu ? zo::Backend::cuda : zo::Backend::cpu;
  const std::uint64_t steps = steps_for(kSeparateWork, K, kMaxBatchedSteps);
  const auto runs = runs_of(K);
  const auto x0 = start_of(runs);
  try {
    double seconds = 0.0, done = 0.0;
    for (auto _ : state) {
      const auto t0 = clock_type::now();
      for (std::int64_t k = 0; k < K; ++k) {
        const auto i = static_cast<std::size_t>(k);
        zo::RunBatch single(objective, {runs[i]}, &x0[i * 2 * kHalfDim], options);
        single.run(steps);
      }
      const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
      state.SetIterationTime(s);
      seconds += s;
      done += static_cast<double>(steps);
    }
    state.counters["config_steps_per_s"] = static_cast<double>(K) * done / seconds;
    state.counters["steps"] = static_cast<double>(steps);
    state.SetLabel(gpu ? "separate gpu" : "separate cpu");
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

/// The throughput target end to end on the GPU: K = 4096 × 10^5 steps with the loss, trace and B
/// of every run logged at 100 log-spaced iterations (what `zo sweep` does per batch), copied to
/// the host. Reports the total seconds (kernel time; transfers of the logs are included in the
/// wall-clock counter).
void BM_Target(benchmark::State& state) {
  if (!need_gpu(state)) return;
  zo::set_log_sink({});
  const auto runs = runs_of(kTargetRuns);
  const auto x0 = start_of(runs);
  const auto its = log_points(kTargetSteps, kTargetLogPoints);
  const zo::Example21 objective(kHalfDim);
  // loss, trace and B per run and logged iteration
  std::vector<double> metrics(its.size() * runs.size() * (2 + objective.metric_names().size()));
  double kernel = 0.0, wall = 0.0;
  for (auto _ : state) {
    zo::RunBatch batch(objective, runs, x0.data(), fused_options(zo::Backend::cuda, 0));
    const auto t0 = clock_type::now();
    batch.run(kTargetSteps, its, metrics.data());
    const double w = std::chrono::duration<double>(clock_type::now() - t0).count();
    state.SetIterationTime(w);
    kernel += batch.last_run_seconds();
    wall += w;
    benchmark::DoNotOptimize(metrics.data());
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["kernel_seconds"] = kernel / n;
  state.counters["wall_seconds"] = wall / n;
  state.counters["config_steps_per_s"] =
      static_cast<double>(kTargetRuns) * static_cast<double>(kTargetSteps) * n / wall;
  state.counters["logged_points"] = static_cast<double>(its.size());
  state.SetLabel("target: K=4096 x 1e5 steps, 100 log points");
}

void fused_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t K : kGpuRuns) b->Args({1, K, 0, 1});
  for (std::int64_t K : kGroupRuns)
    for (std::int64_t g : kGroups) b->Args({1, K, g, 1});
  for (std::int64_t K : kCpuRuns) b->Args({0, K, 0, 1});
  // Figure 1's sweep shape: K / 8 seeds × 8 λ (the configurations of a seed share its directions).
  for (std::int64_t K : kSweepGridRuns) b->Args({0, K, 0, 8});
  b->ArgNames({"gpu", "K", "group", "lambdas"});
}

void batched_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t K : kGpuRuns) b->Args({1, K});
  for (std::int64_t K : kCpuRuns) b->Args({0, K});
  b->ArgNames({"gpu", "K"});
}

void separate_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t gpu : {1, 0})
    for (std::int64_t K : kSeparateRuns) b->Args({gpu, K});
  b->ArgNames({"gpu", "K"});
}

}  // namespace

BENCHMARK(BM_Fused)
    ->Apply(fused_grid)
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Batched)
    ->Apply(batched_grid)
    ->UseManualTime()
    ->Iterations(2)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Separate)
    ->Apply(separate_grid)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Target)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

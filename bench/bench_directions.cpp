// The host Gaussian generator on one thread: coordinates per second of the scalar path
// (gaussian4() one block at a time, the reference) and of the SIMD paths (AVX2: 8 Philox blocks
// at a time, AVX-512: 16), all bit-identical, measured in the same run; plus fill_direction() and
// sphere_scale(), which use the widest path of the CPU. Grid: directions_grids.hpp.
//
// Counters
//   coords_per_s   Gaussian coordinates generated per second (one thread)
//   of_scalar      coords_per_s / the scalar path's rate measured in the same process
// Rates are per CPU second of the benchmark thread (Google Benchmark's default).
// A path the CPU lacks is reported as an error row ("this CPU has no ... path").
#include <benchmark/benchmark.h>
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "directions_grids.hpp"
#include "zo/direction.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace {

using namespace zo_bench_directions;
using zo::DirectionKey;
using zo::detail::HostSimd;

const char* name_of(HostSimd path) {
  switch (path) {
    case HostSimd::scalar:
      return "scalar";
    case HostSimd::avx2:
      return "avx2";
    case HostSimd::avx512:
      return "avx512";
  }
  return "?";
}

/// CPU time of this thread, in seconds (the benchmark rows report CPU time too).
double thread_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// The scalar path's rate (coordinates per CPU second, one thread), measured once per process:
/// 8 calls of 2^16 blocks after a warm-up call.
double scalar_rate() {
  static const double rate = [] {
    const std::uint64_t blocks = 1 << 16;
    std::vector<float> out(4 * blocks);
    zo::detail::gaussian_blocks(HostSimd::scalar, DirectionKey{1, 2, 0}, 0, blocks, out.data());
    const double t0 = thread_seconds();
    for (std::uint64_t rep = 1; rep <= 8; ++rep) {
      zo::detail::gaussian_blocks(HostSimd::scalar, DirectionKey{1, 2, 0}, rep * blocks, blocks,
                                  out.data());
      benchmark::DoNotOptimize(out.data());
    }
    return 8 * 4.0 * blocks / (thread_seconds() - t0);
  }();
  return rate;
}

void report(benchmark::State& state, double coordinates) {
  state.counters["coords_per_s"] = benchmark::Counter(coordinates, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(coordinates));
}

void BM_GaussianBlocks(benchmark::State& state, HostSimd path) {
  const auto blocks = static_cast<std::uint64_t>(state.range(0));
  std::vector<float> out(4 * blocks);
  try {
    zo::detail::gaussian_blocks(path, DirectionKey{1, 2, 0}, 0, 1, out.data());
  } catch (const zo::NotSupported& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::uint64_t first = 0;
  for (auto _ : state) {
    zo::detail::gaussian_blocks(path, DirectionKey{1, 2, 0}, first, blocks, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
    first += blocks;
  }
  const double coordinates = 4.0 * static_cast<double>(blocks) * state.iterations();
  report(state, coordinates);
  // A rate divided by the scalar rate: (coordinates / scalar rate) per second.
  state.counters["of_scalar"] =
      benchmark::Counter(coordinates / scalar_rate(), benchmark::Counter::kIsRate);
}

/// gaussian_lanes8 on a given path: the directions of 8 runs (one per lane) of `blocks` blocks
/// each, lane-minor, as the fused sweep loop consumes them.
void BM_GaussianLanes8(benchmark::State& state, HostSimd path) {
  const auto blocks = static_cast<std::uint64_t>(state.range(0));
  const std::uint64_t seeds[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<float> out(32 * blocks);
  try {
    zo::detail::gaussian_lanes8(path, seeds, 0, 0, 0, 1, out.data());
  } catch (const zo::NotSupported& e) {
    state.SkipWithError(e.what());
    return;
  }
  std::uint32_t step = 0;
  for (auto _ : state) {
    zo::detail::gaussian_lanes8(path, seeds, step++, 0, 0, blocks, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  const double coordinates = 32.0 * static_cast<double>(blocks) * state.iterations();
  report(state, coordinates);
  state.counters["of_scalar"] =
      benchmark::Counter(coordinates / scalar_rate(), benchmark::Counter::kIsRate);
}

/// zo::fill_direction on one thread (the widest SIMD path inside).
void BM_FillDirection(benchmark::State& state, zo::Distribution dist) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<float> out(kFillDim);
  std::uint32_t step = 0;
  for (auto _ : state) {
    zo::fill_direction(dist, DirectionKey{3, step++, 0}, kFillDim, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  omp_set_num_threads(saved);
  // A sphere direction generates the Gaussian twice (norm, then the scaled coordinates).
  const double passes = dist == zo::Distribution::sphere ? 2.0 : 1.0;
  const double coordinates = passes * kFillDim * static_cast<double>(state.iterations());
  report(state, coordinates);
  state.counters["of_scalar"] =
      benchmark::Counter(coordinates / scalar_rate(), benchmark::Counter::kIsRate);
}

void register_all() {
  for (HostSimd path : {HostSimd::scalar, HostSimd::avx2, HostSimd::avx512}) {
    auto* b =
        benchmark::RegisterBenchmark((std::string("BM_GaussianBlocks/") + name_of(path)).c_str(),
                                     [path](benchmark::State& s) { BM_GaussianBlocks(s, path); });
    for (std::int64_t blocks : kBlocks) b->Arg(blocks);
    // 50 blocks: one direction of the sweep benchmark (Example 2.1, d = 2 · 100).
    benchmark::RegisterBenchmark((std::string("BM_GaussianLanes8/") + name_of(path)).c_str(),
                                 [path](benchmark::State& s) { BM_GaussianLanes8(s, path); })
        ->Arg(50);
  }
  benchmark::RegisterBenchmark("BM_FillDirection/gaussian", [](benchmark::State& s) {
    BM_FillDirection(s, zo::Distribution::gaussian);
  });
  benchmark::RegisterBenchmark("BM_FillDirection/sphere", [](benchmark::State& s) {
    BM_FillDirection(s, zo::Distribution::sphere);
  });
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::AddCustomContext("host_simd", name_of(zo::detail::host_simd()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

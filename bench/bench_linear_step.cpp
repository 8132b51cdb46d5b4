// One ZO step of a linear model on the CPU (RunBatch, one run, q = 1, logistic loss), per engine:
// the generic engine (f at x + λu and x − λu: two products with A) and the margins engine (one
// product A·u, kept margins Ax). Shapes: the paper's over-parameterised setting at 400 samples
// (dense 400 × 10,001) and raw a5a (6,414 × 123, CSR, 14 binary features per row). The peer is
// bench/linear_numpy_peer.py (the paper's numpy step on the same shapes). Uses only the public
// API, so it also builds against older libzo versions (scripts/cpu_speed_table.py does).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "linear_grids.hpp"
#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

namespace {

using namespace zo_bench_linear;

/// Args: shape 0 = dense 400 × 10,001 (bias column + N(0, 1) features), 1 = a5a-like CSR
/// 6,414 × 123 (14 ones per row at distinct random columns).
std::shared_ptr<const zo::BinaryDataset> make_data(int shape) {
  std::mt19937_64 rng(11);
  auto data = std::make_shared<zo::BinaryDataset>();
  if (shape == 0) {
    zo::DenseMatrix m;
    m.rows = kStepDenseRows;
    m.cols = kStepDenseDim;
    m.values.resize(m.rows * m.cols);
    zo::gaussian_fill(11, 1, m.values.data(), m.values.size());
    for (std::size_t i = 0; i < m.rows; ++i) m.row(i)[0] = 1.0f;
    data->features = std::move(m);
  } else {
    zo::CsrMatrix m;
    m.rows = kStepCsrRows;
    m.cols = kStepCsrDim;
    m.row_offsets.assign(m.rows + 1, 0);
    for (std::size_t i = 0; i < m.rows; ++i) {
      std::vector<char> used(m.cols, 0);
      std::vector<std::int32_t> cols;
      while (cols.size() < static_cast<std::size_t>(kStepCsrPerRow)) {
        const auto j = static_cast<std::int32_t>(rng() % m.cols);
        if (!used[j]) used[j] = 1, cols.push_back(j);
      }
      std::sort(cols.begin(), cols.end());
      for (auto j : cols) m.col_indices.push_back(j);
      m.row_offsets[i + 1] = static_cast<std::int64_t>(m.col_indices.size());
    }
    m.values.assign(m.col_indices.size(), 1.0f);
    data->features = std::move(m);
  }
  data->labels.resize(data->rows());
  for (auto& l : data->labels) l = (rng() & 1) ? 1.0f : -1.0f;
  return data;
}

/// Args: {shape, engine: 0 = generic, 1 = margins, 2 = automatic}.
void BM_LinearZoStep(benchmark::State& st) {
  const int shape = static_cast<int>(st.range(0));
  const int engine = static_cast<int>(st.range(1));
  zo::set_log_sink({});
  const auto data = make_data(shape);
  zo::LinearModelOptions mo;
  mo.backend = zo::Backend::cpu;
  const zo::LinearModel model(zo::LinearLoss::logistic, data, nullptr, mo);
  std::vector<zo::RunSpec> runs(1);
  runs[0].lambda = 0.1f;
  runs[0].eta = 0.01f;
  runs[0].seed = 3;
  std::vector<float> x0(data->cols());
  zo::gaussian_fill(5, 0, x0.data(), x0.size());
  for (auto& v : x0) v *= 0.1f;
  zo::BatchOptions o;
  o.backend = zo::Backend::cpu;
  o.engine = engine == 0   ? zo::Engine::generic
             : engine == 1 ? zo::Engine::margins
                           : zo::Engine::automatic;
  zo::RunBatch batch(model, runs, x0.data(), o);
  batch.run(2);  // warm-up
  const std::uint64_t steps = shape == 0 ? 10 : 20;
  double seconds = 0.0, done = 0.0;
  for (auto _ : st) {
    const auto t0 = std::chrono::steady_clock::now();
    batch.run(steps);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    done += static_cast<double>(steps);
  }
  st.counters["ms_per_step"] = 1e3 * seconds / done;
  st.SetLabel(std::string(shape == 0 ? "dense 400x10001" : "csr 6414x123") + " " +
              zo::to_string(batch.engine()));
}

BENCHMARK(BM_LinearZoStep)
    ->ArgsProduct({{0, 1}, {0, 1, 2}})
    ->ArgNames({"shape", "engine"})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(kMinTime);

}  // namespace

BENCHMARK_MAIN();

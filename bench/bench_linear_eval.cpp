// LinearModel evaluation throughput: the loss at P points (one product of the N × D data with the
// D × P points plus the fused reduction), the gradient, and evaluate_along (f(x ± λu) for L values
// of λ from one product with [x, u]). Dense data and CSR data, CPU and GPU.
//
// Counters: points_per_s, GFLOPs (2·N·D·P, or 2·nnz·P for CSR, per second: the product's useful
// work), and on the GPU sgemm_GFLOPs — cuBLAS SGEMM of the same shape (N × P × D, same operand
// layout) timed in this run — and frac_sgemm = GFLOPs / sgemm_GFLOPs: how close the fused
// evaluation comes to the bare matrix product. GPU work is timed with CUDA events on the batch's
// stream (device-memory batches, so no host transfers are timed).
#include <benchmark/benchmark.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "linear_grids.hpp"
#include "zo/backend.hpp"
#include "zo/classification_data.hpp"
#include "zo/linear_model.hpp"
#include "zo/run_batch.hpp"

#if defined(ZO_BENCH_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime.h>
#endif

namespace {

using namespace zo_bench_linear;

std::shared_ptr<const zo::BinaryDataset> make_data(std::int64_t rows, std::int64_t dim,
                                                   bool sparse) {
  static std::map<std::tuple<std::int64_t, std::int64_t, bool>,
                  std::shared_ptr<const zo::BinaryDataset>>
      cache;
  auto& slot = cache[{rows, dim, sparse}];
  if (slot) return slot;
  std::mt19937_64 rng(7);
  auto data = std::make_shared<zo::BinaryDataset>();
  data->labels.resize(static_cast<std::size_t>(rows));
  for (auto& l : data->labels) l = (rng() & 1) ? 1.0f : -1.0f;
  if (sparse) {
    // Column gaps uniform in [1, 2/density − 1]: density on average, cheap to draw.
    const auto max_gap = static_cast<std::uint64_t>(2.0 / kSparseDensity) - 1;
    zo::CsrMatrix m;
    m.rows = static_cast<std::size_t>(rows);
    m.cols = static_cast<std::size_t>(dim);
    m.row_offsets.assign(m.rows + 1, 0);
    for (std::size_t i = 0; i < m.rows; ++i) {
      for (std::uint64_t j = rng() % max_gap; j < static_cast<std::uint64_t>(dim);
           j += 1 + rng() % max_gap)
        m.col_indices.push_back(static_cast<std::int32_t>(j));
      m.row_offsets[i + 1] = static_cast<std::int64_t>(m.col_indices.size());
    }
    m.values.resize(m.col_indices.size());
    zo::gaussian_fill(7, 1, m.values.data(), m.values.size());
    data->features = std::move(m);
  } else {
    zo::DenseMatrix m;
    m.rows = static_cast<std::size_t>(rows);
    m.cols = static_cast<std::size_t>(dim);
    m.values.resize(m.rows * m.cols);
    zo::gaussian_fill(7, 2, m.values.data(), m.values.size());  // Philox, multithreaded
    data->features = std::move(m);
  }
  slot = data;
  return slot;
}

std::vector<float> make_points(std::int64_t count, std::int64_t dim) {
  std::vector<float> x(static_cast<std::size_t>(count * dim));
  zo::gaussian_fill(8, 3, x.data(), x.size());
  for (auto& v : x) v *= 0.01f;
  return x;
}

double product_flops(const zo::BinaryDataset& d, std::int64_t points) {
  const double per_point =
      d.sparse() ? 2.0 * static_cast<double>(std::get<zo::CsrMatrix>(d.features).nnz())
                 : 2.0 * static_cast<double>(d.rows()) * static_cast<double>(d.cols());
  return per_point * static_cast<double>(points);
}

enum Op : std::int64_t { kEvaluate = 0, kGradient = 1, kAlong = 2 };

const char* op_name(std::int64_t op) {
  return op == kEvaluate ? "evaluate" : op == kGradient ? "gradient" : "evaluate_along";
}

void set_counters(benchmark::State& st, const zo::BinaryDataset& d, std::int64_t points,
                  std::int64_t op, double seconds) {
  // The gradient does two products (A x and Aᵀ r); evaluate_along one with 2P columns.
  const double products = op == kGradient ? 2.0 : op == kAlong ? 2.0 : 1.0;
  const double flops = product_flops(d, points) * products;
  st.counters["points"] = static_cast<double>(points);
  st.counters["points_per_s"] = static_cast<double>(points) / seconds;
  st.counters["GFLOPs"] = flops / seconds / 1e9;
  st.counters["ms"] = seconds * 1e3;
  st.SetLabel(std::string(op_name(op)) + (d.sparse() ? " csr" : " dense") +
              " N=" + std::to_string(d.rows()) + " D=" + std::to_string(d.cols()));
}

// ---------------------------------------------------------------------------------------------
// CPU
// ---------------------------------------------------------------------------------------------

void BM_LinearCpu(benchmark::State& st) {
  const bool sparse = st.range(0) != 0;
  const std::int64_t points = st.range(1);
  const std::int64_t op = st.range(2);
  const std::int64_t rows = sparse ? kCpuSparseRows : kCpuDenseRows;
  const std::int64_t dim = sparse ? kCpuSparseDim : kCpuDenseDim;
  const auto data = make_data(rows, dim, sparse);
  zo::LinearModelOptions o;
  o.backend = zo::Backend::cpu;
  const zo::LinearModel model(zo::LinearLoss::logistic, data, nullptr, o);
  const auto x = make_points(points, dim);
  const auto u = make_points(points, dim);
  zo::PointBatch xb{x.data(), static_cast<std::size_t>(points), static_cast<std::size_t>(dim),
                    static_cast<std::size_t>(dim)};
  zo::PointBatch ub = xb;
  ub.data = u.data();
  std::vector<double> values(static_cast<std::size_t>(points) * 16), minus(values.size());
  std::vector<float> grads(x.size());
  const float lambda = 0.1f;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    if (op == kEvaluate) model.evaluate(xb, values.data());
    if (op == kGradient) model.gradient(xb, grads.data(), static_cast<std::size_t>(dim));
    if (op == kAlong) model.evaluate_along(xb, ub, &lambda, 1, values.data(), minus.data());
    benchmark::DoNotOptimize(values.data());
    benchmark::DoNotOptimize(grads.data());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                   static_cast<double>(st.iterations());
  set_counters(st, *data, points, op, s);
  st.counters["threads"] = omp_get_max_threads();
}

void cpu_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t sparse : {0, 1})
    for (std::int64_t p : kCpuPoints) b->Args({sparse, p, kEvaluate});
  for (std::int64_t sparse : {0, 1}) b->Args({sparse, 1, kGradient});
  b->Args({0, 1, kAlong});
}

}  // namespace

BENCHMARK(BM_LinearCpu)->Apply(cpu_grid)->Unit(benchmark::kMillisecond)->MinTime(kMinTime);

#if defined(ZO_BENCH_CUDA)
namespace {

#define BENCH_CUBLAS(call)                                                                         \
  do {                                                                                             \
    const cublasStatus_t s_ = (call);                                                              \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                             \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cublasGetStatusName(s_)); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

#define BENCH_CUDA(call)                                                                          \
  do {                                                                                            \
    const cudaError_t e_ = (call);                                                                \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)

/// Device copy of host floats (freed by the caller's DeviceFloats).
struct DeviceFloats {
  float* ptr = nullptr;
  explicit DeviceFloats(const std::vector<float>& host) {
    BENCH_CUDA(cudaMalloc(&ptr, std::max<std::size_t>(host.size(), 1) * sizeof(float)));
    BENCH_CUDA(cudaMemcpy(ptr, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
  }
  explicit DeviceFloats(std::size_t n) {
    BENCH_CUDA(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(float)));
  }
  ~DeviceFloats() { cudaFree(ptr); }
};

/// cuBLAS SGEMM of the evaluation's shape (M = A·X: N × P from N × D and D × P), in GFLOP/s.
double sgemm_gflops(std::int64_t rows, std::int64_t dim, std::int64_t points, cudaStream_t stream) {
  static std::map<std::tuple<std::int64_t, std::int64_t, std::int64_t>, double> cache;
  auto& slot = cache[{rows, dim, points}];
  if (slot > 0) return slot;
  cublasHandle_t h = nullptr;
  BENCH_CUBLAS(cublasCreate(&h));
  BENCH_CUBLAS(cublasSetStream(h, stream));
  DeviceFloats a(static_cast<std::size_t>(rows * dim)), x(static_cast<std::size_t>(dim * points)),
      m(static_cast<std::size_t>(rows * points));
  BENCH_CUDA(cudaMemset(a.ptr, 0, sizeof(float) * rows * dim));
  BENCH_CUDA(cudaMemset(x.ptr, 0, sizeof(float) * dim * points));
  const float one = 1.0f, zero = 0.0f;
  auto run = [&] {
    BENCH_CUBLAS(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows),
                             static_cast<int>(points), static_cast<int>(dim), &one, a.ptr,
                             static_cast<int>(dim), x.ptr, static_cast<int>(dim), &zero, m.ptr,
                             static_cast<int>(rows)));
  };
  run();  // warm-up
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  const int reps = points >= 512 ? 20 : 100;
  BENCH_CUDA(cudaEventRecord(start, stream));
  for (int r = 0; r < reps; ++r) run();
  BENCH_CUDA(cudaEventRecord(stop, stream));
  BENCH_CUDA(cudaEventSynchronize(stop));
  float ms = 0.0f;
  BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
  BENCH_CUDA(cudaEventDestroy(start));
  BENCH_CUDA(cudaEventDestroy(stop));
  BENCH_CUBLAS(cublasDestroy(h));
  slot = 2.0 * rows * dim * points / (ms / 1e3 / reps) / 1e9;
  return slot;
}

void BM_LinearGpu(benchmark::State& st) {
  if (!zo::cuda_available()) {
    st.SkipWithError("no usable CUDA device");
    return;
  }
  const bool sparse = st.range(0) != 0;
  const std::int64_t points = st.range(1);
  const std::int64_t op = st.range(2);
  const std::int64_t lambdas = st.range(3);
  const std::int64_t rows = sparse ? kGpuSparseRows : kGpuDenseRows;
  const std::int64_t dim = sparse ? kGpuSparseDim : kGpuDenseDim;
  const auto data = make_data(rows, dim, sparse);
  zo::LinearModelOptions o;
  o.backend = zo::Backend::cuda;
  const zo::LinearModel model(zo::LinearLoss::logistic, data, nullptr, o);
  const auto xh = make_points(points, dim);
  DeviceFloats x(xh), u(xh), grads(xh.size());
  double* values = nullptr;
  double* minus = nullptr;
  BENCH_CUDA(cudaMalloc(&values, sizeof(double) * points * lambdas));
  BENCH_CUDA(cudaMalloc(&minus, sizeof(double) * points * lambdas));
  cudaStream_t stream;
  BENCH_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  zo::PointBatch xb{x.ptr,
                    static_cast<std::size_t>(points),
                    static_cast<std::size_t>(dim),
                    static_cast<std::size_t>(dim),
                    zo::MemorySpace::device,
                    zo::StreamView(stream)};
  zo::PointBatch ub = xb;
  ub.data = u.ptr;
  std::vector<float> lambda_values(static_cast<std::size_t>(lambdas));
  for (std::size_t l = 0; l < lambda_values.size(); ++l) lambda_values[l] = 0.1f / (1 + l);
  auto call = [&] {
    if (op == kEvaluate) model.evaluate(xb, values);
    if (op == kGradient) model.gradient(xb, grads.ptr, static_cast<std::size_t>(dim));
    if (op == kAlong)
      model.evaluate_along(xb, ub, lambda_values.data(), lambda_values.size(), values, minus);
  };
  call();  // warm-up: workspace allocation, cuBLAS heuristics
  BENCH_CUDA(cudaStreamSynchronize(stream));
  cudaEvent_t start, stop;
  BENCH_CUDA(cudaEventCreate(&start));
  BENCH_CUDA(cudaEventCreate(&stop));
  double total = 0.0;
  for (auto _ : st) {
    BENCH_CUDA(cudaEventRecord(start, stream));
    call();
    BENCH_CUDA(cudaEventRecord(stop, stream));
    BENCH_CUDA(cudaEventSynchronize(stop));
    float ms = 0.0f;
    BENCH_CUDA(cudaEventElapsedTime(&ms, start, stop));
    st.SetIterationTime(ms / 1e3);
    total += ms / 1e3;
  }
  const double s = total / static_cast<double>(st.iterations());
  set_counters(st, *data, points, op, s);
  if (!sparse && op == kEvaluate) {
    const double ceiling = sgemm_gflops(rows, dim, points, stream);
    st.counters["sgemm_GFLOPs"] = ceiling;
    st.counters["frac_sgemm"] = st.counters["GFLOPs"].value / ceiling;
  }
  if (op == kAlong) st.counters["lambdas"] = static_cast<double>(lambdas);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(values);
  cudaFree(minus);
  cudaStreamDestroy(stream);
}

void gpu_grid(benchmark::internal::Benchmark* b) {
  for (std::int64_t sparse : {0, 1})
    for (std::int64_t p : kGpuPoints) b->Args({sparse, p, kEvaluate, 1});
  for (std::int64_t p : {1, 32}) b->Args({0, p, kGradient, 1});
  for (std::int64_t l : kAlongLambdas) b->Args({0, 1, kAlong, l});
}

}  // namespace

BENCHMARK(BM_LinearGpu)
    ->Apply(gpu_grid)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(kMinTime);
#endif

BENCHMARK_MAIN();

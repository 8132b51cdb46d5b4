// The grids of bench_libsvm.cpp and bench_linear_eval.cpp, in one place. Sizes keep the whole
// GPU part well under a minute on an H200 and the CPU part to a few minutes on 2 cores.
#pragma once

#include <cstdint>

namespace zo_bench_linear {

/// Reader: lines of the generated file, features per line (a5a has ~14), index range.
constexpr std::int64_t kReaderLines = 1000000;
constexpr int kReaderFeaturesPerLine = 14;
constexpr int kReaderIndexRange = 300;

/// CPU evaluation: dense N × D (projected features + bias) and CSR (raw LIBSVM-like) data.
constexpr std::int64_t kCpuDenseRows = 2000;
constexpr std::int64_t kCpuDenseDim = 2001;
constexpr std::int64_t kCpuSparseRows = 20000;
constexpr std::int64_t kCpuSparseDim = 10000;
constexpr std::int64_t kCpuPoints[] = {1, 2, 8, 32};

/// GPU evaluation: the paper's a5a size after the pipeline (6,414 × 10,001), and a large CSR
/// matrix (100,000 × 10,000 at 1% density).
constexpr std::int64_t kGpuDenseRows = 6414;
constexpr std::int64_t kGpuDenseDim = 10001;
constexpr std::int64_t kGpuSparseRows = 100000;
constexpr std::int64_t kGpuSparseDim = 10000;
constexpr std::int64_t kGpuPoints[] = {1, 2, 8, 32, 128, 512, 2048};

/// Density of the CSR benchmark matrices.
constexpr double kSparseDensity = 0.01;

/// λ values per pair for evaluate_along.
constexpr std::int64_t kAlongLambdas[] = {1, 16};

/// bench_linear_step: one ZO step at the paper's over-parameterised shape with 400 samples
/// (dense, bias + N(0, 1) features) and at raw a5a (CSR, binary features per row).
constexpr std::int64_t kStepDenseRows = 400;
constexpr std::int64_t kStepDenseDim = 10001;
constexpr std::int64_t kStepCsrRows = 6414;
constexpr std::int64_t kStepCsrDim = 123;
constexpr std::int64_t kStepCsrPerRow = 14;

/// Minimum benchmark time per configuration, in seconds.
constexpr double kMinTime = 0.3;

}  // namespace zo_bench_linear

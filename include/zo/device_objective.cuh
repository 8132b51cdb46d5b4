// Header-only objectives from device functors, for users who compile with nvcc: the functor is
// evaluated inside a templated kernel that is instantiated in the user's own translation unit, so
// zo needs no knowledge of the user's code and the user needs no callbacks into libzo's kernels.
//
// This is the one public zo header that needs CUDA (it launches kernels); include it only from
// .cu files. libzo itself does not have to be built with CUDA for the host path to work.
//
// Two forms:
//  * PointFunctorObjective<F>: f(x) = F(x, dim), one GPU thread per point. F is any
//    `__host__ __device__ double operator()(const float* x, std::size_t dim) const`. Simple and
//    general; best when points are small or the function does not decompose.
//  * SumFunctorObjective<F>: f(x) = F::finish(Σ_i F::term(x, i, dim), dim), one 256-thread block
//    per point with a deterministic reduction (thread t adds the terms i ≡ t mod 256 in increasing
//    order, then a fixed shared-memory tree). Best for high-dimensional sums such as
//    Rosenbrock, least squares or negative log-likelihoods.
// Both evaluate host batches on the CPU with the same functor (one body, two launchers) and
// device batches with a kernel on the batch's stream (asynchronously: synchronise the stream
// before reading the values on the host). NaN/Inf results follow the optimiser's NonFinitePolicy.
#pragma once

#if !defined(__CUDACC__)
#error "zo/device_objective.cuh launches kernels: include it from a .cu file compiled by nvcc"
#endif

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "zo/device_pointer.hpp"
#include "zo/error.hpp"
#include "zo/objective.hpp"

namespace zo {
namespace device_objective_detail {

inline void check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess) {
    throw CudaError(what + " failed: " + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")");
  }
}

/// Throws zo::InvalidArgument naming `what` unless `ptr` is device or managed memory of the
/// current device (done here rather than in libzo, which may have been built without CUDA).
inline void require_device_pointer(const void* ptr, const std::string& what) {
  if (ptr == nullptr) return;
  int current = 0;
  check(cudaGetDevice(&current), "cudaGetDevice");
  ::zo::detail::PointerFacts facts;
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();  // the caller's mistake, not a CUDA failure: clear it
    facts.query_failed = true;
  } else {
    facts.memory = attr.type == cudaMemoryTypeDevice    ? ::zo::detail::PointerMemory::device
                   : attr.type == cudaMemoryTypeManaged ? ::zo::detail::PointerMemory::managed
                   : attr.type == cudaMemoryTypeHost    ? ::zo::detail::PointerMemory::host
                                                        : ::zo::detail::PointerMemory::unregistered;
    facts.device = attr.device;
  }
  const std::string problem = ::zo::detail::device_pointer_problem(facts, current, what);
  if (!problem.empty()) throw InvalidArgument(problem);
}

inline unsigned blocks_for(std::size_t work, unsigned threads) {
  const std::size_t b = (work + threads - 1) / threads;
  return static_cast<unsigned>(b == 0 ? 1 : (b > (1u << 20) ? (1u << 20) : b));
}

template <class F>
__global__ void evaluate_point_functor(F f, const float* data, std::size_t count, std::size_t dim,
                                       std::size_t stride, double* values) {
  for (std::size_t p = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; p < count;
       p += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    values[p] = static_cast<double>(f(data + p * stride, dim));
  }
}

constexpr unsigned kSumThreads = 256;

template <class F>
__global__ void __launch_bounds__(kSumThreads)
    evaluate_sum_functor(F f, const float* data, std::size_t count, std::size_t dim,
                         std::size_t stride, double* values) {
  __shared__ double partial[kSumThreads];
  for (std::size_t p = blockIdx.x; p < count; p += gridDim.x) {
    const float* x = data + p * stride;
    double s = 0.0;
    for (std::size_t i = threadIdx.x; i < dim; i += kSumThreads) s += f.term(x, i, dim);
    partial[threadIdx.x] = s;
    __syncthreads();
    for (unsigned off = kSumThreads / 2; off > 0; off /= 2) {
      if (threadIdx.x < off) partial[threadIdx.x] += partial[threadIdx.x + off];
      __syncthreads();
    }
    if (threadIdx.x == 0) values[p] = f.finish(partial[0], dim);
    __syncthreads();
  }
}

}  // namespace device_objective_detail

/// An Objective whose value at a point is `functor(x, dim)`, evaluated by one GPU thread per
/// point for device batches and by the CPU for host batches. `F` must be trivially copyable
/// (it is passed to the kernel by value) and callable on host and device.
template <class F>
class PointFunctorObjective final : public Objective {
 public:
  PointFunctorObjective(std::size_t dim, F functor, std::string name = "point-functor")
      : dim_(dim), functor_(std::move(functor)), name_(std::move(name)) {
    ZO_EXPECTS(dim_ >= 1, "PointFunctorObjective: dim must be at least 1");
  }
  std::size_t dim() const override { return dim_; }
  std::string name() const override { return name_; }
  bool accepts(MemorySpace) const override { return true; }
  void evaluate(const PointBatch& points, double* values) const override {
    check_batch(*this, points);
    if (points.count == 0) return;
    if (points.space == MemorySpace::host) {
      for (std::size_t p = 0; p < points.count; ++p)
        values[p] = static_cast<double>(functor_(points.point(p), dim_));
      return;
    }
    // A host pointer would fault in the kernel and leave the CUDA context unusable.
    device_objective_detail::require_device_pointer(
        points.data, "PointFunctorObjective '" + name_ + "': the points");
    device_objective_detail::require_device_pointer(
        values, "PointFunctorObjective '" + name_ + "': the values output");
    const unsigned threads = 128;
    device_objective_detail::
        evaluate_point_functor<<<device_objective_detail::blocks_for(points.count, threads),
                                 threads, 0, static_cast<cudaStream_t>(points.stream.handle())>>>(
            functor_, points.data, points.count, dim_, points.stride, values);
    device_objective_detail::check(cudaGetLastError(),
                                   "PointFunctorObjective '" + name_ + "' kernel");
  }

 private:
  std::size_t dim_;
  F functor_;
  std::string name_;
};

/// An Objective f(x) = functor.finish(Σ_{i<dim} functor.term(x, i, dim), dim) with
///   __host__ __device__ double term(const float* x, std::size_t i, std::size_t dim) const;
///   __host__ __device__ double finish(double sum, std::size_t dim) const;
/// One block per point on the GPU (deterministic reduction, see the file comment); the CPU sums
/// the terms in order i = 0, 1, … in double.
template <class F>
class SumFunctorObjective final : public Objective {
 public:
  SumFunctorObjective(std::size_t dim, F functor, std::string name = "sum-functor")
      : dim_(dim), functor_(std::move(functor)), name_(std::move(name)) {
    ZO_EXPECTS(dim_ >= 1, "SumFunctorObjective: dim must be at least 1");
  }
  std::size_t dim() const override { return dim_; }
  std::string name() const override { return name_; }
  bool accepts(MemorySpace) const override { return true; }
  void evaluate(const PointBatch& points, double* values) const override {
    check_batch(*this, points);
    if (points.count == 0) return;
    if (points.space == MemorySpace::host) {
      for (std::size_t p = 0; p < points.count; ++p) {
        const float* x = points.point(p);
        double s = 0.0;
        for (std::size_t i = 0; i < dim_; ++i) s += functor_.term(x, i, dim_);
        values[p] = functor_.finish(s, dim_);
      }
      return;
    }
    device_objective_detail::require_device_pointer(
        points.data, "SumFunctorObjective '" + name_ + "': the points");
    device_objective_detail::require_device_pointer(
        values, "SumFunctorObjective '" + name_ + "': the values output");
    const unsigned blocks =
        static_cast<unsigned>(points.count < (1u << 20) ? points.count : (1u << 20));
    device_objective_detail::
        evaluate_sum_functor<<<blocks, device_objective_detail::kSumThreads, 0,
                               static_cast<cudaStream_t>(points.stream.handle())>>>(
            functor_, points.data, points.count, dim_, points.stride, values);
    device_objective_detail::check(cudaGetLastError(),
                                   "SumFunctorObjective '" + name_ + "' kernel");
  }

 private:
  std::size_t dim_;
  F functor_;
  std::string name_;
};

/// PointFunctorObjective with the functor type deduced.
template <class F>
PointFunctorObjective<F> make_point_objective(std::size_t dim, F functor,
                                              std::string name = "point-functor") {
  return PointFunctorObjective<F>(dim, std::move(functor), std::move(name));
}

/// SumFunctorObjective with the functor type deduced.
template <class F>
SumFunctorObjective<F> make_sum_objective(std::size_t dim, F functor,
                                          std::string name = "sum-functor") {
  return SumFunctorObjective<F>(dim, std::move(functor), std::move(name));
}

}  // namespace zo

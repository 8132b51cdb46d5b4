// Internal: entry points of the CUDA backend called from host code. Implemented in kernels/*.cu
// on CUDA builds, and by cuda_stubs.cpp (throwing zo::NotCompiled) on CPU-only builds, so the
// host code and the public API are the same in both builds.
#pragma once

#include <cstddef>
#include <string>

#include "zo/objective.hpp"

namespace zo {
namespace detail {
namespace cuda {

/// True when a CUDA device is usable. Never throws.
bool available() noexcept;
/// One line describing the device, or why none is usable.
std::string device_description();

// Example 2.1 on device memory (the batch's stream orders the work).
void example21_evaluate(const PointBatch& points, std::size_t d, double* values);
void example21_gradient(const PointBatch& points, std::size_t d, float* grads,
                        std::size_t grad_stride);
void example21_hvp(const PointBatch& points, const PointBatch& vectors, std::size_t d, float* out,
                   std::size_t out_stride);
void example21_trace(const PointBatch& points, std::size_t d, double* traces);

}  // namespace cuda
}  // namespace detail
}  // namespace zo

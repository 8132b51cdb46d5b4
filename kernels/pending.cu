// Placeholder until the CUDA RunBatch and Example 2.1 kernels land: same entry points, clear
// errors. (Replaced by kernels/example21.cu and kernels/run_batch_cuda.cu.)
#include <memory>

#include "cuda_backend.hpp"
#include "run_batch_impl.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace cuda {
void example21_evaluate(const PointBatch&, std::size_t, double*) {
  ZO_FAIL(NotCompiled, "Example21 on device memory is not implemented yet");
}
void example21_gradient(const PointBatch&, std::size_t, float*, std::size_t) {
  ZO_FAIL(NotCompiled, "Example21 on device memory is not implemented yet");
}
void example21_hvp(const PointBatch&, const PointBatch&, std::size_t, float*, std::size_t) {
  ZO_FAIL(NotCompiled, "Example21 on device memory is not implemented yet");
}
void example21_trace(const PointBatch&, std::size_t, double*) {
  ZO_FAIL(NotCompiled, "Example21 on device memory is not implemented yet");
}
}  // namespace cuda
std::unique_ptr<RunBatchImpl> make_cuda_run_batch(const Objective&, std::vector<RunSpec>,
                                                  const float*, const BatchOptions&) {
  ZO_FAIL(NotCompiled, "RunBatch on the CUDA backend is not implemented yet");
}
}  // namespace detail
}  // namespace zo

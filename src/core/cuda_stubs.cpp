// CPU-only builds: the CUDA entry points exist and throw zo::NotCompiled (no link errors, same
// API). Compiled only when ZO_HAVE_CUDA is off.
#include <memory>

#include "batch/example21_fused_engine.hpp"
#include "batch/run_batch_engine.hpp"
#include "core/cuda_backend.hpp"
#include "core/cuda_device.hpp"
#include "objectives/linear_model_engine.hpp"
#include "stepper/stepper_engine.hpp"
#include "trace/trace_engine.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {
[[noreturn]] void not_compiled(const char* what) {
  ZO_FAIL(NotCompiled, std::string(what) +
                           " needs the CUDA backend, but this libzo was built without CUDA "
                           "(reconfigure with -DZO_WITH_CUDA=ON on a machine with nvcc)");
}
}  // namespace

namespace cuda {
bool available() noexcept { return false; }
std::string device_description() { return "no CUDA backend in this build (CPU-only libzo)"; }
void example21_evaluate(const PointBatch&, std::size_t, double*) {
  not_compiled("Example21 on device memory");
}
void example21_gradient(const PointBatch&, std::size_t, float*, std::size_t) {
  not_compiled("Example21 on device memory");
}
void example21_hvp(const PointBatch&, const PointBatch&, std::size_t, float*, std::size_t) {
  not_compiled("Example21 on device memory");
}
void example21_trace(const PointBatch&, std::size_t, double*) {
  not_compiled("Example21 on device memory");
}

// Device memory, streams, events and device directions (zo/device.hpp,
// kernels/core/device_cuda.cpp).
void require_device() { not_compiled("device memory"); }
void* device_allocate(std::size_t, StreamView) { not_compiled("device memory"); }
void device_free(void*, StreamView) noexcept {}
void copy(void*, const void*, std::size_t, StreamView, bool) { not_compiled("copy_bytes"); }
void fill_zero(void*, std::size_t, StreamView) { not_compiled("device memory"); }
void* stream_create() { not_compiled("zo::Stream"); }
void stream_destroy(void*) noexcept {}
void stream_synchronize(StreamView) { not_compiled("zo::Stream"); }
void* event_create() { not_compiled("zo::Event"); }
void event_destroy(void*) noexcept {}
void event_record(void*, StreamView) { not_compiled("zo::Event"); }
void event_synchronize(void*) { not_compiled("zo::Event"); }
float event_elapsed_ms(void*, void*) { not_compiled("zo::Event"); }
DeviceMemoryInfo memory_info() { not_compiled("device_memory_info"); }
PointerFacts pointer_facts(const void*, int*) { not_compiled("require_device_pointer"); }
void fill_direction(Distribution, DirectionKey, std::uint64_t, float*, StreamView) {
  not_compiled("fill_direction_device");
}
}  // namespace cuda

std::unique_ptr<BatchEngine> make_cuda_run_batch(const Objective&, std::vector<RunSpec>,
                                                 const float*, const BatchOptions&) {
  not_compiled("RunBatch on the CUDA backend");
}

std::unique_ptr<BatchEngine> make_cuda_fused_example21(const Objective&, std::vector<RunSpec>,
                                                       const float*, const BatchOptions&) {
  not_compiled("the fused engine on the CUDA backend");
}
DirectionThroughput cuda_generate_directions(std::size_t, std::size_t, std::uint64_t, StreamView) {
  not_compiled("generate_directions on the CUDA backend");
}

// Trace estimators (kernels/trace/trace_cuda.cu).
namespace cuda {
void trace_build_points(const float*, std::size_t, std::size_t, std::uint32_t, float, Distribution,
                        std::uint64_t, std::uint32_t, const float*, bool, bool, float*,
                        StreamView) {
  not_compiled("trace estimation on device memory");
}
void trace_fill_probes(std::size_t, std::size_t, std::uint32_t, Distribution, std::uint64_t,
                       std::uint32_t, float*, StreamView) {
  not_compiled("trace estimation on device memory");
}
void trace_replicate(const float*, std::size_t, std::size_t, std::uint32_t, float*, StreamView) {
  not_compiled("trace estimation on device memory");
}
void trace_row_reduce(RowOp, RowRef, RowRef, RowRef, RowRef, std::size_t, std::uint32_t,
                      std::size_t, double*, double*, StreamView) {
  not_compiled("trace estimation on device memory");
}
}  // namespace cuda

// LinearModel on the GPU (kernels/objectives/linear_model_cuda.cu).
namespace cuda {
std::unique_ptr<LinearSplitKernels> make_linear_kernels(std::shared_ptr<const LinearSplitData>) {
  not_compiled("LinearModel on the CUDA backend");
}
}  // namespace cuda

// In-place Stepper (kernels/stepper/stepper_cuda.cu).
std::unique_ptr<StepperEngine> make_cuda_stepper_engine(const std::vector<ParamTensor>&,
                                                        StepperGeometry, StreamView, bool) {
  not_compiled("Stepper on device memory");
}

}  // namespace detail
}  // namespace zo

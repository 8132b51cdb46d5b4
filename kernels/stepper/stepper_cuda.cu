// The CUDA engine of the Stepper: one launch per pass over the whole tensor list. Each thread
// handles units (one Philox block = four coordinates) in a grid-stride loop, with 16-byte (f32)
// or 8-byte (bf16) vector loads/stores where the four coordinates lie in one aligned tensor, and
// scalar accesses at tensor boundaries. The arithmetic is detail::stepper_unit, shared with the
// CPU engine, so results are bit-identical to it.
#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_check.cuh"
#include "stepper/stepper_engine.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {

constexpr int kThreads = 256;

/// Memory of one pass (the arithmetic is all in PassSpec).
struct PassArgs {
  const StepperTensor* tensors;
  std::uint32_t num_tensors;
  std::uint64_t dim;
  std::uint64_t offset;
  std::uint64_t units;
  std::uint8_t* codes;
  std::uint64_t* escape_index;
  std::uint32_t* escape_bits;
  unsigned long long* escape_count;
  std::uint64_t escape_capacity;
  std::uint32_t read_codes;
  std::uint32_t write_codes;
  std::uint32_t copy;
};

/// The tensor holding local coordinate c; `k` is the caller's last answer (coordinates grow
/// along a thread's grid-stride loop, so it is usually still right).
__device__ __forceinline__ std::uint32_t locate(const StepperTensor* t, std::uint32_t n,
                                                std::uint64_t c, std::uint32_t k) {
  const std::uint64_t b = __ldg(&t[k].begin);
  if (c >= b && c - b < __ldg(&t[k].count)) return k;
  std::uint32_t lo = 0, hi = n;  // last tensor with begin <= c lies in [lo, hi)
  while (hi - lo > 1) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if (__ldg(&t[mid].begin) <= c) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

__device__ __forceinline__ float load_scalar(bool bf16, const void* base, std::uint64_t e) {
  if (bf16) return bf16_to_float(static_cast<const std::uint16_t*>(base)[e]);
  return static_cast<const float*>(base)[e];
}

__device__ __forceinline__ void store_scalar(bool bf16, void* base, std::uint64_t e, float v) {
  if (bf16) {
    static_cast<std::uint16_t*>(base)[e] = float_to_bf16(v);
  } else {
    static_cast<float*>(base)[e] = v;
  }
}

__device__ __forceinline__ void load_vector(bool bf16, const void* p, float* v) {
  if (bf16) {
    const uint2 w = *static_cast<const uint2*>(p);
    v[0] = bits_float(w.x << 16);
    v[1] = bits_float(w.x & 0xFFFF0000u);
    v[2] = bits_float(w.y << 16);
    v[3] = bits_float(w.y & 0xFFFF0000u);
  } else {
    const float4 f = *static_cast<const float4*>(p);
    v[0] = f.x;
    v[1] = f.y;
    v[2] = f.z;
    v[3] = f.w;
  }
}

__device__ __forceinline__ void store_vector(bool bf16, void* p, const float* v) {
  if (bf16) {
    uint2 w;
    w.x = static_cast<std::uint32_t>(float_to_bf16(v[0])) |
          (static_cast<std::uint32_t>(float_to_bf16(v[1])) << 16);
    w.y = static_cast<std::uint32_t>(float_to_bf16(v[2])) |
          (static_cast<std::uint32_t>(float_to_bf16(v[3])) << 16);
    *static_cast<uint2*>(p) = w;
  } else {
    *static_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  }
}

__global__ void __launch_bounds__(kThreads)
    stepper_pass_kernel(const __grid_constant__ PassSpec spec, const PassArgs a) {
  std::uint32_t cursor = 0;
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t u = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       u < a.units; u += stride) {
    const std::uint64_t block = spec.first_block + u;
    const std::uint64_t g0 = 4 * block;
    UnitIO io;
    io.valid = 0;
    io.bf16 = 0;
    io.code = 0;
    io.escape = 0;

    // Fast path: four coordinates of one tensor at a vector-aligned address.
    bool vector = false;
    char* vp = nullptr;
    char* vb = nullptr;
    if (g0 >= a.offset && g0 - a.offset + 4 <= a.dim) {
      const std::uint64_t c0 = g0 - a.offset;
      cursor = locate(a.tensors, a.num_tensors, c0, cursor);
      const StepperTensor& t = a.tensors[cursor];
      const std::uint64_t e0 = c0 - t.begin;
      const bool bf = t.bf16 != 0;
      const std::uint64_t size = bf ? 2 : 4;
      vp = static_cast<char*>(t.data) + e0 * size;
      vb = a.copy ? static_cast<char*>(t.backup) + e0 * size : nullptr;
      const std::uint64_t align = 4 * size;
      vector = e0 + 4 <= t.count && reinterpret_cast<std::uintptr_t>(vp) % align == 0 &&
               (!a.copy || reinterpret_cast<std::uintptr_t>(vb) % align == 0);
      if (vector) {
        io.valid = 0xFu;
        io.bf16 = bf ? 0xFu : 0u;
        load_vector(bf, vp, io.x);
        if (a.copy) load_vector(bf, vb, io.backup);
      }
    }
    if (!vector) {
      for (int l = 0; l < 4; ++l) {
        const std::uint64_t g = g0 + l;
        if (g < a.offset || g - a.offset >= a.dim) continue;
        const std::uint64_t c = g - a.offset;
        cursor = locate(a.tensors, a.num_tensors, c, cursor);
        const StepperTensor& t = a.tensors[cursor];
        const bool bf = t.bf16 != 0;
        io.valid |= 1u << l;
        io.bf16 |= static_cast<std::uint32_t>(bf) << l;
        io.x[l] = load_scalar(bf, t.data, c - t.begin);
        if (a.copy) io.backup[l] = load_scalar(bf, t.backup, c - t.begin);
      }
    }
    if (a.read_codes) io.code = a.codes[u];

    stepper_unit(spec, block, io);

    if (io.escape) {
      for (int l = 0; l < 4; ++l) {
        if (!((io.escape >> l) & 1u)) continue;
        const bool bf = (io.bf16 >> l) & 1u;
        const unsigned long long slot = atomicAdd(a.escape_count, 1ull);
        if (slot < a.escape_capacity) {
          a.escape_index[slot] = g0 + l - a.offset;
          a.escape_bits[slot] = param_bits(bf, io.base[l]);
        } else {
          io.x[l] = io.base[l];  // no slot: stay unperturbed, recoverable by the undo pass
        }
      }
    }

    if (vector) {
      const bool bf = io.bf16 != 0;
      store_vector(bf, vp, io.x);
      if (spec.write_backup) store_vector(bf, vb, io.backup);
    } else {
      for (int l = 0; l < 4; ++l) {
        if (!((io.valid >> l) & 1u)) continue;
        const std::uint64_t c = g0 + l - a.offset;
        cursor = locate(a.tensors, a.num_tensors, c, cursor);
        const StepperTensor& t = a.tensors[cursor];
        const bool bf = t.bf16 != 0;
        store_scalar(bf, t.data, c - t.begin, io.x[l]);
        if (spec.write_backup) store_scalar(bf, t.backup, c - t.begin, io.backup[l]);
      }
    }
    if (a.write_codes) a.codes[u] = static_cast<std::uint8_t>(io.code);
  }
}

__global__ void scatter_escapes_kernel(const StepperTensor* tensors, std::uint32_t num_tensors,
                                       const std::uint64_t* index, const std::uint32_t* bits,
                                       std::uint64_t count) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t e = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       e < count; e += stride) {
    const std::uint64_t c = index[e];
    const StepperTensor& t = tensors[locate(tensors, num_tensors, c, 0)];
    if (t.bf16) {
      static_cast<std::uint16_t*>(t.data)[c - t.begin] = static_cast<std::uint16_t>(bits[e]);
    } else {
      static_cast<std::uint32_t*>(t.data)[c - t.begin] = bits[e];
    }
  }
}

__global__ void sphere_partials_kernel(DirectionKey key, std::uint64_t dim, std::uint64_t chunks,
                                       double* partial) {
  const std::uint64_t stride = static_cast<std::uint64_t>(gridDim.x) * blockDim.x;
  for (std::uint64_t c = static_cast<std::uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       c < chunks; c += stride) {
    partial[c] = sphere_chunk_sum(key, c, dim);
  }
}

/// A DeviceBuffer of `bytes` (at least 1) on the stepper's stream; an allocation failure names
/// what it was for.
DeviceBuffer device_alloc(std::uint64_t bytes, const char* what, StreamView stream) {
  try {
    return DeviceBuffer(bytes == 0 ? 1 : bytes, stream);
  } catch (const CudaError& e) {
    ZO_FAIL(CudaError, std::string("Stepper: allocating ") + std::to_string(bytes) +
                           " bytes of device memory for " + what + " failed: " + e.what());
  }
}

struct PinnedFree {
  void operator()(void* p) const noexcept {
    if (p) ZO_CUDA_TRY_NOTHROW(cudaFreeHost(p));
  }
};

class CudaStepperEngine final : public StepperEngine {
 public:
  CudaStepperEngine(const std::vector<ParamTensor>& params, StepperGeometry geometry,
                    StreamView stream)
      : geometry_(geometry), view_(stream), stream_(cuda::to_cuda(stream)) {
    int device = 0;
    ZO_CUDA_TRY(cudaGetDevice(&device));
    std::uint64_t begin = 0;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const ParamTensor& p = params[i];
      cudaPointerAttributes attr{};
      const cudaError_t status = cudaPointerGetAttributes(&attr, p.data);
      if (status != cudaSuccess) cudaGetLastError();
      ZO_EXPECTS(status == cudaSuccess &&
                     (attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged),
                 "Stepper: params[" + std::to_string(i) +
                     "] is marked MemorySpace::device but is not CUDA device memory");
      ZO_EXPECTS(attr.type == cudaMemoryTypeManaged || attr.device == device,
                 "Stepper: params[" + std::to_string(i) + "] lives on CUDA device " +
                     std::to_string(attr.device) + ", not on the current device " +
                     std::to_string(device));
      tensors_.push_back(
          StepperTensor{p.data, nullptr, begin, p.count, p.dtype == DType::bf16 ? 1u : 0u});
      begin += p.count;
    }
    d_tensors_ = device_alloc(tensors_.size() * sizeof(StepperTensor), "tensor descriptors", view_);
    upload_tensors();
    d_count_ = device_alloc(sizeof(unsigned long long), "the exception counter", view_);
    void* pinned = nullptr;
    ZO_CUDA_TRY(cudaMallocHost(&pinned, sizeof(unsigned long long)));
    h_count_.reset(pinned);
    cudaDeviceProp prop{};
    ZO_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    int per_sm = 0;
    ZO_CUDA_TRY(
        cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, stepper_pass_kernel, kThreads, 0));
    max_blocks_ = static_cast<std::uint64_t>(std::max(per_sm, 1)) * prop.multiProcessorCount;
  }

  ~CudaStepperEngine() override { ZO_CUDA_TRY_NOTHROW(cudaStreamSynchronize(stream_)); }

  Backend backend() const override { return Backend::cuda; }

  void allocate_record(RestoreMode mode, std::uint64_t escape_capacity) override {
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));  // no pass may still use the old record
    backup_.reset();
    codes_.reset();
    escape_index_.reset();
    escape_bits_.reset();
    capacity_ = 0;
    record_bytes_ = 0;
    for (StepperTensor& t : tensors_) t.backup = nullptr;
    if (mode == RestoreMode::copy) {
      // One allocation; tensor k's backup sits at the parameters' address modulo 16, so it is
      // vector-aligned exactly where the parameters are.
      std::vector<std::uint64_t> offsets;
      std::uint64_t bytes = 0;
      for (const StepperTensor& t : tensors_) {
        const std::uint64_t want = reinterpret_cast<std::uintptr_t>(t.data) % 16;
        bytes += (want + 16 - bytes % 16) % 16;
        offsets.push_back(bytes);
        bytes += t.count * (t.bf16 ? 2 : 4);
        record_bytes_ += t.count * (t.bf16 ? 2 : 4);  // as the CPU reports: without padding
      }
      backup_ = device_alloc(bytes, "the parameter copy (RestoreMode::copy)", view_);
      for (std::size_t k = 0; k < tensors_.size(); ++k) {
        tensors_[k].backup = static_cast<char*>(backup_.data()) + offsets[k];
      }
    } else if (mode == RestoreMode::residual) {
      codes_ = device_alloc(geometry_.units(), "the residual codes", view_);
      ZO_CUDA_TRY(cudaMemsetAsync(codes_.data(), 0, geometry_.units(), stream_));
      reserve_escapes(escape_capacity);
    }
    upload_tensors();
  }

  void reserve_escapes(std::uint64_t capacity) override {
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));
    escape_index_.reset();
    escape_bits_.reset();
    escape_index_ =
        device_alloc(capacity * sizeof(std::uint64_t), "the residual exceptions", view_);
    escape_bits_ = device_alloc(capacity * sizeof(std::uint32_t), "the residual exceptions", view_);
    capacity_ = capacity;
    record_bytes_ = geometry_.units() + 12 * capacity;
  }

  std::uint64_t escape_capacity() const override { return capacity_; }
  std::uint64_t record_bytes() const override { return record_bytes_; }

  std::uint64_t run_pass(const PassSpec& spec) override {
    PassArgs a{};
    a.tensors = static_cast<const StepperTensor*>(d_tensors_.data());
    a.num_tensors = static_cast<std::uint32_t>(tensors_.size());
    a.dim = geometry_.dim;
    a.offset = geometry_.offset;
    a.units = geometry_.units();
    a.codes = static_cast<std::uint8_t*>(codes_.data());
    a.escape_index = static_cast<std::uint64_t*>(escape_index_.data());
    a.escape_bits = static_cast<std::uint32_t*>(escape_bits_.data());
    a.escape_count = static_cast<unsigned long long*>(d_count_.data());
    a.escape_capacity = capacity_;
    const bool residual = spec.mode == RestoreMode::residual;
    a.read_codes = residual && spec.entry != PassEntry::at_x && !spec.arithmetic_flip;
    a.write_codes = residual && spec.exit_sign != 0;
    a.copy = spec.mode == RestoreMode::copy;
    if (a.write_codes) {
      ZO_CUDA_TRY(cudaMemsetAsync(d_count_.data(), 0, sizeof(unsigned long long), stream_));
    }
    const std::uint64_t blocks = std::min<std::uint64_t>(
        max_blocks_, std::max<std::uint64_t>(1, (a.units + kThreads - 1) / kThreads));
    stepper_pass_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_>>>(spec, a);
    ZO_CUDA_CHECK_LAUNCH();
    if (!a.write_codes) return 0;
    auto* host = static_cast<unsigned long long*>(h_count_.get());
    ZO_CUDA_TRY(cudaMemcpyAsync(host, d_count_.data(), sizeof(unsigned long long),
                                cudaMemcpyDeviceToHost, stream_));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));
    return *host;
  }

  void scatter_escapes(std::uint64_t count) override {
    count = std::min(count, capacity_);
    if (count == 0) return;
    const std::uint64_t blocks =
        std::min<std::uint64_t>(max_blocks_, (count + kThreads - 1) / kThreads);
    scatter_escapes_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_>>>(
        static_cast<const StepperTensor*>(d_tensors_.data()),
        static_cast<std::uint32_t>(tensors_.size()),
        static_cast<const std::uint64_t*>(escape_index_.data()),
        static_cast<const std::uint32_t*>(escape_bits_.data()), count);
    ZO_CUDA_CHECK_LAUNCH();
  }

  float sphere_scale(DirectionKey key) override {
    // The canonical reduction of zo::sphere_scale: per-chunk sums on the device, then the
    // fixed-order sum on the host, so the scale is bit-identical to the CPU's.
    const std::uint64_t chunks = (geometry_.dim + kSphereChunk - 1) / kSphereChunk;
    DeviceBuffer partial = device_alloc(chunks * sizeof(double), "sphere partial sums", view_);
    const std::uint64_t blocks =
        std::min<std::uint64_t>(max_blocks_, (chunks + kThreads - 1) / kThreads);
    sphere_partials_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_>>>(
        key, geometry_.dim, chunks, static_cast<double*>(partial.data()));
    ZO_CUDA_CHECK_LAUNCH();
    std::vector<double> host(chunks);
    ZO_CUDA_TRY(cudaMemcpyAsync(host.data(), partial.data(), chunks * sizeof(double),
                                cudaMemcpyDeviceToHost, stream_));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));
    double sum = 0.0;
    for (double p : host) sum += p;
    return sphere_scale_from_sum(sum, geometry_.dim);
  }

  void synchronize() override { ZO_CUDA_TRY(cudaStreamSynchronize(stream_)); }

 private:
  void upload_tensors() {
    ZO_CUDA_TRY(cudaMemcpyAsync(d_tensors_.data(), tensors_.data(),
                                tensors_.size() * sizeof(StepperTensor), cudaMemcpyHostToDevice,
                                stream_));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));  // tensors_ may change after we return
  }

  StepperGeometry geometry_;
  StreamView view_;  // the caller's stream: orders every pass, copy and allocation
  cudaStream_t stream_;
  std::vector<StepperTensor> tensors_;
  DeviceBuffer d_tensors_;
  DeviceBuffer backup_;
  DeviceBuffer codes_;
  DeviceBuffer escape_index_;
  DeviceBuffer escape_bits_;
  DeviceBuffer d_count_;
  std::unique_ptr<void, PinnedFree> h_count_;
  std::uint64_t capacity_ = 0;
  std::uint64_t record_bytes_ = 0;
  std::uint64_t max_blocks_ = 1;
};

}  // namespace

std::unique_ptr<StepperEngine> make_cuda_stepper_engine(const std::vector<ParamTensor>& params,
                                                        StepperGeometry geometry,
                                                        StreamView stream) {
  return std::make_unique<CudaStepperEngine>(params, geometry, stream);
}

}  // namespace detail
}  // namespace zo

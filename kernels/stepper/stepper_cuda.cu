// The CUDA engine of the Stepper: one launch per pass over the whole tensor list. Each thread
// handles units (one Philox block = four coordinates) in a grid-stride loop. The arithmetic is
// detail::stepper_unit, shared with the CPU engine, so results are bit-identical to it.
//
// Specialisation: the pass kernel is a template on the distribution, the restore mode, the pass
// shape (entry and exit kind, updates, MeZO's flip) and the dtype layout of the tensor list. Its
// flags are compile-time constants (FixedFlags), so the hot loop of each instance contains only
// its own path; the host picks the instance once per pass (launch_pass). Tensor lists that mix
// f32 and bf16 use an instance that reads each tensor's dtype at run time.
//
// Memory: a unit whose four coordinates lie in one tensor is loaded and stored with the widest
// access its address allows (16/8/4 bytes for f32, 8/4/2 for bf16), whatever the tensor's offset
// in the concatenated vector, so a tensor after an odd-length one still takes the contiguous
// path; only the (at most one per tensor boundary) units that straddle two tensors or the ends of
// the vector go coordinate by coordinate.
//
// Sphere scales: computed on the device (directions/sphere_scale.cuh, one warp per chunk, the
// canonical reduction) into a table of two banks of kMaxStepperQ floats, bank = step mod 2, slot
// = substream; a pass reads its scales from the table. Nothing is allocated per direction and the
// host never waits for a scale.
#include <cuda_runtime.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cuda_check.cuh"
#include "directions/fast_gaussian.cuh"
#include "directions/sphere_scale.cuh"
#include "stepper/sphere_scale_table.hpp"
#include "stepper/stepper_engine.hpp"
#include "zo/backend.hpp"
#include "zo/device.hpp"
#include "zo/directions.hpp"
#include "zo/error.hpp"

namespace zo {
namespace detail {
namespace {

constexpr int kThreads = 256;
/// At least 4 resident blocks (1024 threads) per SM: up to 64 registers per thread. Enough
/// warps to stream memory, and room for the largest pass (residual, merged, mixed dtypes)
/// without local memory.
constexpr int kMinBlocksPerSm = 4;

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
  const float* sphere_scales;  ///< the scale table (Distribution::sphere), else null
};

/// What a pass does, beyond its values: the entry and exit kinds and the updates.
enum class PassShape : int {
  perturb = 0,         ///< at x → x ± λu_b (P; the redo after an exception overflow)
  exchange = 1,        ///< x ± λu_a → x ± λu_b (F in copy/residual modes, the next direction)
  flip = 2,            ///< MeZO's x + λu_a → x − 2λu_a (arithmetic mode)
  restore = 3,         ///< x ± λu_a → x
  update = 4,          ///< x − λu_a → x − Σ c_j u_j
  update_perturb = 5,  ///< the same, then + λu_b of the next step (the merged update)
};

/// The dtypes of the tensor list.
enum class Layout : int { f32 = 0, bf16 = 1, mixed = 2 };

/// stepper_unit's flags fixed at compile time (the members of SpecFlags). kFast: Gaussian
/// directions from the fast generator (fast_gaussian.cuh) instead of gaussian4().
template <Distribution kDist, bool kFast, RestoreMode kMode, PassShape kShape>
struct FixedFlags {
  const PassSpec& s;
  const float* scales;
  float scale_a_;  ///< the entry and exit directions' sphere scales, read once per thread
  float scale_b_;
  __device__ __forceinline__ FixedFlags(const PassSpec& spec, const float* table)
      : s(spec),
        scales(table),
        scale_a_(scale(spec.step_a, spec.substream_a)),
        scale_b_(scale(spec.step_b, spec.substream_b)) {}
  static constexpr bool kUpdates =
      kShape == PassShape::update || kShape == PassShape::update_perturb;
  static constexpr bool kExit = kShape == PassShape::perturb || kShape == PassShape::exchange ||
                                kShape == PassShape::update_perturb;
  __device__ __forceinline__ RestoreMode mode() const { return kMode; }
  __device__ __forceinline__ bool entry_perturbed() const { return kShape != PassShape::perturb; }
  __device__ __forceinline__ bool flip() const { return kShape == PassShape::flip; }
  __device__ __forceinline__ std::uint32_t num_updates() const {
    return kUpdates ? s.num_updates : 0u;
  }
  __device__ __forceinline__ bool has_exit() const { return kExit; }
  __device__ __forceinline__ bool write_backup() const {
    return kMode == RestoreMode::copy &&
           (kShape == PassShape::perturb || kShape == PassShape::update_perturb);
  }
  __device__ __forceinline__ float scale(std::uint32_t step, std::uint32_t j) const {
    return kDist == Distribution::sphere ? __ldg(&scales[scale_slot(step, j)]) : 1.0f;
  }
  __device__ __forceinline__ float scale_a() const { return scale_a_; }
  __device__ __forceinline__ float scale_b() const { return scale_b_; }
  __device__ __forceinline__ float update_scale(std::uint32_t j) const {
    return scale(s.update_step, j);
  }
  __device__ __forceinline__ Float4 direction(DirectionKey key, std::uint64_t block,
                                              float sphere_scale) const {
    if (kFast) return cuda::fast_gaussian4(key, block);
    return direction4(kDist, key, block, sphere_scale);
  }
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

/// Four consecutive elements at p (f32), with the widest access p's alignment allows.
__device__ __forceinline__ void load4_f32(const char* p, float* v) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a % 16 == 0) {
    const float4 f = *reinterpret_cast<const float4*>(p);
    v[0] = f.x;
    v[1] = f.y;
    v[2] = f.z;
    v[3] = f.w;
  } else if (a % 8 == 0) {
    const float2 f0 = reinterpret_cast<const float2*>(p)[0];
    const float2 f1 = reinterpret_cast<const float2*>(p)[1];
    v[0] = f0.x;
    v[1] = f0.y;
    v[2] = f1.x;
    v[3] = f1.y;
  } else {
#pragma unroll
    for (int l = 0; l < 4; ++l) v[l] = reinterpret_cast<const float*>(p)[l];
  }
}

__device__ __forceinline__ void store4_f32(char* p, const float* v) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a % 16 == 0) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
  } else if (a % 8 == 0) {
    reinterpret_cast<float2*>(p)[0] = make_float2(v[0], v[1]);
    reinterpret_cast<float2*>(p)[1] = make_float2(v[2], v[3]);
  } else {
#pragma unroll
    for (int l = 0; l < 4; ++l) reinterpret_cast<float*>(p)[l] = v[l];
  }
}

/// Four consecutive bf16 elements at p, with the widest access p's alignment allows.
__device__ __forceinline__ void load4_bf16(const char* p, float* v) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  std::uint32_t w0, w1;
  if (a % 8 == 0) {
    const uint2 w = *reinterpret_cast<const uint2*>(p);
    w0 = w.x;
    w1 = w.y;
  } else if (a % 4 == 0) {
    w0 = reinterpret_cast<const std::uint32_t*>(p)[0];
    w1 = reinterpret_cast<const std::uint32_t*>(p)[1];
  } else {
    const auto* h = reinterpret_cast<const std::uint16_t*>(p);
    w0 = static_cast<std::uint32_t>(h[0]) | (static_cast<std::uint32_t>(h[1]) << 16);
    w1 = static_cast<std::uint32_t>(h[2]) | (static_cast<std::uint32_t>(h[3]) << 16);
  }
  v[0] = bits_float(w0 << 16);
  v[1] = bits_float(w0 & 0xFFFF0000u);
  v[2] = bits_float(w1 << 16);
  v[3] = bits_float(w1 & 0xFFFF0000u);
}

__device__ __forceinline__ void store4_bf16(char* p, const float* v) {
  const std::uint32_t w0 = static_cast<std::uint32_t>(float_to_bf16(v[0])) |
                           (static_cast<std::uint32_t>(float_to_bf16(v[1])) << 16);
  const std::uint32_t w1 = static_cast<std::uint32_t>(float_to_bf16(v[2])) |
                           (static_cast<std::uint32_t>(float_to_bf16(v[3])) << 16);
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  if (a % 8 == 0) {
    *reinterpret_cast<uint2*>(p) = make_uint2(w0, w1);
  } else if (a % 4 == 0) {
    reinterpret_cast<std::uint32_t*>(p)[0] = w0;
    reinterpret_cast<std::uint32_t*>(p)[1] = w1;
  } else {
    auto* h = reinterpret_cast<std::uint16_t*>(p);
    h[0] = static_cast<std::uint16_t>(w0);
    h[1] = static_cast<std::uint16_t>(w0 >> 16);
    h[2] = static_cast<std::uint16_t>(w1);
    h[3] = static_cast<std::uint16_t>(w1 >> 16);
  }
}

/// Whether a tensor of the list is bf16: a constant unless the list mixes dtypes.
template <Layout kLayout>
__device__ __forceinline__ bool tensor_bf16(const StepperTensor& t) {
  if (kLayout == Layout::f32) return false;
  if (kLayout == Layout::bf16) return true;
  return t.bf16 != 0;
}

template <Layout kLayout>
__device__ __forceinline__ void load4(bool bf16, const char* p, float* v) {
  if (kLayout == Layout::f32 || (kLayout == Layout::mixed && !bf16)) {
    load4_f32(p, v);
  } else {
    load4_bf16(p, v);
  }
}

template <Layout kLayout>
__device__ __forceinline__ void store4(bool bf16, char* p, const float* v) {
  if (kLayout == Layout::f32 || (kLayout == Layout::mixed && !bf16)) {
    store4_f32(p, v);
  } else {
    store4_bf16(p, v);
  }
}

template <Distribution kDist, bool kFast, RestoreMode kMode, PassShape kShape, Layout kLayout>
__global__ void __launch_bounds__(kThreads, kMinBlocksPerSm)
    stepper_pass_kernel(const __grid_constant__ PassSpec spec, const PassArgs a) {
  using Flags = FixedFlags<kDist, kFast, kMode, kShape>;
  constexpr bool kCopy = kMode == RestoreMode::copy;
  constexpr bool kReadCodes =
      kMode == RestoreMode::residual && kShape != PassShape::perturb && kShape != PassShape::flip;
  constexpr bool kWriteCodes = kMode == RestoreMode::residual && Flags::kExit;
  constexpr bool kWriteBackup =
      kCopy && (kShape == PassShape::perturb || kShape == PassShape::update_perturb);
  // Copy mode reads the saved base only when the pass starts perturbed.
  constexpr bool kReadBackup = kCopy && kShape != PassShape::perturb;
  const Flags flags(spec, a.sphere_scales);
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

    // Contiguous path: four coordinates of one tensor (any alignment).
    bool contiguous = false;
    bool bf = kLayout == Layout::bf16;
    char* vp = nullptr;
    char* vb = nullptr;
    if (g0 >= a.offset && g0 - a.offset + 4 <= a.dim) {
      const std::uint64_t c0 = g0 - a.offset;
      cursor = locate(a.tensors, a.num_tensors, c0, cursor);
      const StepperTensor& t = a.tensors[cursor];
      const std::uint64_t e0 = c0 - t.begin;
      contiguous = e0 + 4 <= t.count;
      if (contiguous) {
        bf = tensor_bf16<kLayout>(t);
        const std::uint64_t size = bf ? 2 : 4;
        vp = static_cast<char*>(t.data) + e0 * size;
        io.valid = 0xFu;
        io.bf16 = bf ? 0xFu : 0u;
        load4<kLayout>(bf, vp, io.x);
        if (kCopy) vb = static_cast<char*>(t.backup) + e0 * size;
        if (kReadBackup) load4<kLayout>(bf, vb, io.backup);
      }
    }
    if (!contiguous) {
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        const std::uint64_t g = g0 + l;
        if (g < a.offset || g - a.offset >= a.dim) continue;
        const std::uint64_t c = g - a.offset;
        cursor = locate(a.tensors, a.num_tensors, c, cursor);
        const StepperTensor& t = a.tensors[cursor];
        const bool lane_bf = tensor_bf16<kLayout>(t);
        io.valid |= 1u << l;
        io.bf16 |= static_cast<std::uint32_t>(lane_bf) << l;
        io.x[l] = load_scalar(lane_bf, t.data, c - t.begin);
        if (kReadBackup) io.backup[l] = load_scalar(lane_bf, t.backup, c - t.begin);
      }
    }
    if (kReadCodes) io.code = a.codes[u];

    stepper_unit(spec, block, io, flags);

    if (kWriteCodes && io.escape) {
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        if (!((io.escape >> l) & 1u)) continue;
        const bool lane_bf = (io.bf16 >> l) & 1u;
        const unsigned long long slot = atomicAdd(a.escape_count, 1ull);
        if (slot < a.escape_capacity) {
          a.escape_index[slot] = g0 + l - a.offset;
          a.escape_bits[slot] = param_bits(lane_bf, io.base[l]);
        } else {
          io.x[l] = io.base[l];  // no slot: stay unperturbed, recoverable by the undo pass
        }
      }
    }

    if (contiguous) {
      store4<kLayout>(bf, vp, io.x);
      if (kWriteBackup) store4<kLayout>(bf, vb, io.backup);
    } else {
#pragma unroll
      for (int l = 0; l < 4; ++l) {
        if (!((io.valid >> l) & 1u)) continue;
        const std::uint64_t c = g0 + l - a.offset;
        cursor = locate(a.tensors, a.num_tensors, c, cursor);
        const StepperTensor& t = a.tensors[cursor];
        const bool lane_bf = tensor_bf16<kLayout>(t);
        store_scalar(lane_bf, t.data, c - t.begin, io.x[l]);
        if (kWriteBackup) store_scalar(lane_bf, t.backup, c - t.begin, io.backup[l]);
      }
    }
    if (kWriteCodes) a.codes[u] = static_cast<std::uint8_t>(io.code);
  }
}

/// Writes entries [0, min(*escape_count, limit)) of the exception list back into the parameters.
/// The count is read here, on the device, so the host need not know it (the grid is sized for
/// `limit` and the loop is grid-stride).
__global__ void scatter_escapes_kernel(const StepperTensor* tensors, std::uint32_t num_tensors,
                                       const std::uint64_t* index, const std::uint32_t* bits,
                                       const unsigned long long* escape_count,
                                       std::uint64_t limit) {
  const std::uint64_t count = std::min<std::uint64_t>(*escape_count, limit);
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

/// Directions whose sphere scales one launch computes: (seed, step[i], substream[i]).
constexpr std::uint32_t kMaxScalesPerLaunch = kMaxStepperQ + 2;

struct ScaleKeys {
  std::uint64_t seed;
  std::uint32_t step[kMaxScalesPerLaunch];
  std::uint32_t substream[kMaxScalesPerLaunch];
  __device__ DirectionKey operator()(std::uint64_t i) const {
    return DirectionKey{seed, step[i], substream[i]};
  }
};

struct StoreScales {
  float* table;
  std::uint32_t slot[kMaxScalesPerLaunch];
  __device__ void operator()(std::uint64_t i, float value) const { table[slot[i]] = value; }
};

/// The pass kernel of (kDist, kFast, kMode, kShape, kLayout) as a function pointer.
using PassKernel = void (*)(PassSpec, PassArgs);

template <Distribution kDist, bool kFast, RestoreMode kMode, PassShape kShape>
PassKernel pass_kernel_for(Layout layout) {
  switch (layout) {
    case Layout::f32:
      return stepper_pass_kernel<kDist, kFast, kMode, kShape, Layout::f32>;
    case Layout::bf16:
      return stepper_pass_kernel<kDist, kFast, kMode, kShape, Layout::bf16>;
    default:
      return stepper_pass_kernel<kDist, kFast, kMode, kShape, Layout::mixed>;
  }
}

template <Distribution kDist, bool kFast, RestoreMode kMode>
PassKernel pass_kernel_for(PassShape shape, Layout layout) {
  switch (shape) {
    case PassShape::perturb:
      return pass_kernel_for<kDist, kFast, kMode, PassShape::perturb>(layout);
    case PassShape::exchange:
      return pass_kernel_for<kDist, kFast, kMode, PassShape::exchange>(layout);
    case PassShape::flip:
      // MeZO's flip exists in arithmetic mode only; the other modes never ask for it.
      return kMode == RestoreMode::arithmetic
                 ? pass_kernel_for<kDist, kFast, RestoreMode::arithmetic, PassShape::flip>(layout)
                 : nullptr;
    case PassShape::restore:
      return pass_kernel_for<kDist, kFast, kMode, PassShape::restore>(layout);
    case PassShape::update:
      return pass_kernel_for<kDist, kFast, kMode, PassShape::update>(layout);
    default:
      return pass_kernel_for<kDist, kFast, kMode, PassShape::update_perturb>(layout);
  }
}

template <Distribution kDist, bool kFast>
PassKernel pass_kernel_for(RestoreMode mode, PassShape shape, Layout layout) {
  switch (mode) {
    case RestoreMode::arithmetic:
      return pass_kernel_for<kDist, kFast, RestoreMode::arithmetic>(shape, layout);
    case RestoreMode::copy:
      return pass_kernel_for<kDist, kFast, RestoreMode::copy>(shape, layout);
    default:
      return pass_kernel_for<kDist, kFast, RestoreMode::residual>(shape, layout);
  }
}

/// The specialised kernel of a pass: chosen once per pass on the host. `fast`: the fast GPU
/// Gaussian (Distribution::gaussian only; StepperOptions::gpu_fast_gaussian).
PassKernel pass_kernel_for(Distribution dist, bool fast, RestoreMode mode, PassShape shape,
                           Layout layout) {
  switch (dist) {
    case Distribution::gaussian:
      return fast ? pass_kernel_for<Distribution::gaussian, true>(mode, shape, layout)
                  : pass_kernel_for<Distribution::gaussian, false>(mode, shape, layout);
    case Distribution::rademacher:
      return pass_kernel_for<Distribution::rademacher, false>(mode, shape, layout);
    default:
      return pass_kernel_for<Distribution::sphere, false>(mode, shape, layout);
  }
}

/// The shape of a pass the state machine built (stepper.cpp); checks that the copy-mode backup
/// flag is the one the shape implies, so the specialised kernel does exactly what the spec says.
PassShape pass_shape(const PassSpec& s) {
  const bool perturbed = s.entry != PassEntry::at_x;
  PassShape shape;
  if (s.arithmetic_flip) {
    ZO_EXPECTS(perturbed && s.mode == RestoreMode::arithmetic && s.num_updates == 0,
               "Stepper (CUDA): internal error, a flip pass must start perturbed in arithmetic "
               "mode");
    shape = PassShape::flip;
  } else if (!perturbed) {
    ZO_EXPECTS(s.exit_sign != 0 && s.num_updates == 0,
               "Stepper (CUDA): internal error, a pass from x must perturb and not update");
    shape = PassShape::perturb;
  } else if (s.num_updates > 0) {
    shape = s.exit_sign != 0 ? PassShape::update_perturb : PassShape::update;
  } else {
    shape = s.exit_sign != 0 ? PassShape::exchange : PassShape::restore;
  }
  const bool backup = s.mode == RestoreMode::copy &&
                      (shape == PassShape::perturb || shape == PassShape::update_perturb);
  ZO_EXPECTS((s.write_backup != 0) == backup,
             "Stepper (CUDA): internal error, write_backup does not match the pass shape");
  return shape;
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

/// Events that mark the copies of the recording passes' counts (one per count slot).
class CountEvents {
 public:
  CountEvents() {
    for (cudaEvent_t& e : events_)
      ZO_CUDA_TRY(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  }
  ~CountEvents() {
    for (cudaEvent_t e : events_) {
      if (e) ZO_CUDA_TRY_NOTHROW(cudaEventDestroy(e));
    }
  }
  CountEvents(const CountEvents&) = delete;
  CountEvents& operator=(const CountEvents&) = delete;
  cudaEvent_t operator[](std::uint64_t slot) const { return events_[slot]; }

 private:
  cudaEvent_t events_[StepperEngine::kCountSlots] = {};
};

class CudaStepperEngine final : public StepperEngine {
 public:
  CudaStepperEngine(const std::vector<ParamTensor>& params, StepperGeometry geometry,
                    StreamView stream, bool fast_gaussian)
      : geometry_(geometry),
        view_(stream),
        stream_(cuda::to_cuda(stream)),
        fast_gaussian_(fast_gaussian) {
    int device = 0;
    ZO_CUDA_TRY(cudaGetDevice(&device));
    std::uint64_t begin = 0;
    bool any_f32 = false, any_bf16 = false;
    for (std::size_t i = 0; i < params.size(); ++i) {
      const ParamTensor& p = params[i];
      require_device_pointer(p.data, "Stepper: params[" + std::to_string(i) + "]");
      tensors_.push_back(
          StepperTensor{p.data, nullptr, begin, p.count, p.dtype == DType::bf16 ? 1u : 0u});
      begin += p.count;
      any_f32 = any_f32 || p.dtype != DType::bf16;
      any_bf16 = any_bf16 || p.dtype == DType::bf16;
    }
    layout_ = any_f32 && any_bf16 ? Layout::mixed : (any_bf16 ? Layout::bf16 : Layout::f32);
    d_tensors_ = device_alloc(tensors_.size() * sizeof(StepperTensor), "tensor descriptors", view_);
    upload_tensors();
    d_count_ = device_alloc(sizeof(unsigned long long), "the exception counter", view_);
    void* pinned = nullptr;
    ZO_CUDA_TRY(cudaMallocHost(&pinned, kCountSlots * sizeof(unsigned long long)));
    h_counts_.reset(pinned);
    ZO_CUDA_TRY(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, device));
    max_blocks_ = static_cast<std::uint64_t>(std::max(sms_, 1)) * 2048 / kThreads;
  }

  ~CudaStepperEngine() override { ZO_CUDA_TRY_NOTHROW(cudaStreamSynchronize(stream_)); }

  Backend backend() const override { return Backend::cuda; }

  void allocate_record(RestoreMode mode, std::uint64_t escape_capacity) override {
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));  // no pass may still use the old record
    list_current_ = false;
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
    list_current_ = false;
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
    const PassShape shape = pass_shape(spec);
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
    if (spec.distribution == Distribution::sphere) {
      queue_sphere_scales(spec);
      a.sphere_scales = scales_.data();
    }
    const bool write_codes = spec.mode == RestoreMode::residual && spec.exit_sign != 0;
    if (write_codes) {
      ZO_CUDA_TRY(cudaMemsetAsync(d_count_.data(), 0, sizeof(unsigned long long), stream_));
    }
    const PassKernel kernel =
        pass_kernel_for(spec.distribution, fast_gaussian_, spec.mode, shape, layout_);
    ZO_EXPECTS(kernel != nullptr, "Stepper (CUDA): internal error, no kernel for this pass");
    const std::uint64_t blocks = std::min<std::uint64_t>(
        grid_limit(kernel), std::max<std::uint64_t>(1, (a.units + kThreads - 1) / kThreads));
    kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_>>>(spec, a);
    ZO_CUDA_CHECK_LAUNCH();
    if (!write_codes) return kNoTicket;
    // The count goes to its own pinned slot, marked by an event: nothing waits here.
    const std::uint64_t ticket = next_ticket_++;
    const std::uint64_t slot = ticket % kCountSlots;
    ZO_CUDA_TRY(cudaMemcpyAsync(static_cast<unsigned long long*>(h_counts_.get()) + slot,
                                d_count_.data(), sizeof(unsigned long long), cudaMemcpyDeviceToHost,
                                stream_));
    ZO_CUDA_TRY(cudaEventRecord(events_[slot], stream_));
    list_current_ = true;
    last_count_known_ = false;
    return ticket;
  }

  std::uint64_t escape_count(std::uint64_t ticket) override {
    ZO_EXPECTS(ticket < next_ticket_ && next_ticket_ - ticket <= kCountSlots,
               "Stepper (CUDA): internal error, the count of recording pass " +
                   std::to_string(ticket) + " is no longer kept");
    const std::uint64_t slot = ticket % kCountSlots;
    ZO_CUDA_TRY(cudaEventSynchronize(events_[slot]));
    const std::uint64_t count = static_cast<const unsigned long long*>(h_counts_.get())[slot];
    if (ticket + 1 == next_ticket_) {
      last_count_ = count;
      last_count_known_ = true;
    }
    return count;
  }

  void scatter_escapes() override {
    if (!list_current_) return;
    // A count the host has read sizes the grid (and skips an empty list); otherwise the kernel
    // reads it on the device and the grid covers the whole list.
    const std::uint64_t limit = last_count_known_ ? std::min(last_count_, capacity_) : capacity_;
    if (limit == 0) return;
    const std::uint64_t blocks =
        std::min<std::uint64_t>(max_blocks_, (limit + kThreads - 1) / kThreads);
    scatter_escapes_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, stream_>>>(
        static_cast<const StepperTensor*>(d_tensors_.data()),
        static_cast<std::uint32_t>(tensors_.size()),
        static_cast<const std::uint64_t*>(escape_index_.data()),
        static_cast<const std::uint32_t*>(escape_bits_.data()),
        static_cast<const unsigned long long*>(d_count_.data()), limit);
    ZO_CUDA_CHECK_LAUNCH();
  }

  float sphere_scale(DirectionKey key) override {
    // Not used by the state machine (scales_on_device); kept exact for completeness: the
    // canonical reduction on the device, then one blocking copy.
    ZO_EXPECTS(key.substream < kMaxStepperQ, "Stepper (CUDA): sphere substream out of range");
    request_scale(key.seed, key.step, key.substream);
    flush_scales();
    float value = 0.0f;
    ZO_CUDA_TRY(cudaMemcpyAsync(&value, scales_.data() + scale_slot(key.step, key.substream),
                                sizeof(float), cudaMemcpyDeviceToHost, stream_));
    ZO_CUDA_TRY(cudaStreamSynchronize(stream_));
    return value;
  }

  bool scales_on_device() const override { return true; }

  void synchronize() override { ZO_CUDA_TRY(cudaStreamSynchronize(stream_)); }

 private:
  /// The most blocks of `kernel` that are resident at once (the occupancy calculator, asked once
  /// per kernel): the grid of its grid-stride loop.
  std::uint64_t grid_limit(PassKernel kernel) {
    const auto it = grid_limits_.find(reinterpret_cast<const void*>(kernel));
    if (it != grid_limits_.end()) return it->second;
    int per_sm = 0;
    ZO_CUDA_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0));
    const std::uint64_t limit =
        static_cast<std::uint64_t>(std::max(per_sm, 1)) * static_cast<std::uint64_t>(sms_);
    grid_limits_.emplace(reinterpret_cast<const void*>(kernel), limit);
    return limit;
  }

  /// Queues the sphere scales the pass `s` reads and the table does not hold yet.
  void queue_sphere_scales(const PassSpec& s) {
    for_each_scaled_direction(
        s, [&](std::uint32_t step, std::uint32_t j) { request_scale(s.seed, step, j); });
    flush_scales();
  }

  void request_scale(std::uint64_t seed, std::uint32_t step, std::uint32_t j) {
    if (!scale_table_.request(seed, step, j)) return;
    if (pending_ == 0) pending_keys_.seed = seed;
    pending_keys_.step[pending_] = step;
    pending_keys_.substream[pending_] = j;
    pending_slots_.slot[pending_] = scale_slot(step, j);
    ++pending_;
  }

  /// Launches the requested scale computations (asynchronous; the pass kernel follows on the
  /// same stream). The partial sums grow once to the largest request and are reused.
  void flush_scales() {
    if (pending_ == 0) return;
    if (scales_.size() == 0) {
      scales_ = DeviceArray<float>(2 * kMaxStepperQ, view_);
      scales_.fill_zero();
    }
    const std::uint64_t chunks = cuda::sphere_chunks(geometry_.dim);
    partials_.set_stream(view_);
    partials_.resize(std::max<std::size_t>(partials_.size(), pending_ * chunks));
    pending_slots_.table = scales_.data();
    cuda::launch_sphere_scales(pending_keys_, pending_slots_, pending_, geometry_.dim,
                               partials_.data(), stream_);
    pending_ = 0;
  }

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
  DeviceBuffer d_count_;  // the exception counter of the pass in flight
  // The counts of the last kCountSlots recording passes (slot = ticket mod kCountSlots), each
  // copied asynchronously and marked by its event.
  std::unique_ptr<void, PinnedFree> h_counts_;
  CountEvents events_;
  std::uint64_t next_ticket_ = 0;
  bool list_current_ = false;      // the list holds the exceptions of the last recording pass
  bool last_count_known_ = false;  // ... and the host has read their count:
  std::uint64_t last_count_ = 0;
  std::uint64_t capacity_ = 0;
  std::uint64_t record_bytes_ = 0;
  std::uint64_t max_blocks_ = 1;
  int sms_ = 1;
  bool fast_gaussian_ = false;
  Layout layout_ = Layout::f32;
  std::map<const void*, std::uint64_t> grid_limits_;
  // Sphere scales: two banks (step parity) of kMaxStepperQ slots on the device.
  SphereScaleTable scale_table_;
  DeviceArray<float> scales_;
  DeviceArray<double> partials_;
  ScaleKeys pending_keys_{};
  StoreScales pending_slots_{};
  std::uint32_t pending_ = 0;
};

}  // namespace

std::unique_ptr<StepperEngine> make_cuda_stepper_engine(const std::vector<ParamTensor>& params,
                                                        StepperGeometry geometry, StreamView stream,
                                                        bool fast_gaussian) {
  return std::make_unique<CudaStepperEngine>(params, geometry, stream, fast_gaussian);
}

}  // namespace detail
}  // namespace zo

// Probe kernels for the static instruction budget (tests/sass/check_sass.py, label `sass`).
// Compiled with libzo's device flags; never linked into anything.
//
// Each probe handles exactly one Philox block (four coordinates) per thread with no loop, so its
// static SASS instruction count is the count executed per block; subtracting the matching `io`
// probe (same index arithmetic, loads and stores, no work) leaves the cost of the work itself.
#include <cstdint>

#include "directions/fast_gaussian.cuh"
#include "stepper/bf16.hpp"
#include "stepper/stepper_math.hpp"
#include "zo/direction.hpp"

using zo::DirectionKey;
using zo::Float4;

// ---- the direction generator ------------------------------------------------------------------

/// Overhead of the generator probes: index, key, four stores.
extern "C" __global__ void zo_sass_store_probe(DirectionKey key, Float4* out) {
  const std::uint64_t b = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  out[b] = Float4{{zo::detail::bits_float(key.step), zo::detail::bits_float(key.substream),
                   zo::detail::bits_float(static_cast<std::uint32_t>(b)),
                   zo::detail::bits_float(static_cast<std::uint32_t>(b >> 32))}};
}

/// Philox4x32-10 alone.
extern "C" __global__ void zo_sass_philox_probe(DirectionKey key, zo::Philox4x32Block* out) {
  const std::uint64_t b = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  out[b] = zo::direction_bits(key, b);
}

/// The Gaussian generator: gaussian4() once per thread.
extern "C" __global__ void zo_sass_gaussian4_probe(DirectionKey key, Float4* out) {
  const std::uint64_t b = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  out[b] = zo::gaussian4(key, b);
}

/// The fast GPU Gaussian (StepperOptions::gpu_fast_gaussian): hardware log2, rsqrt, sin/cos.
extern "C" __global__ void zo_sass_fast_gaussian4_probe(DirectionKey key, Float4* out) {
  const std::uint64_t b = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  out[b] = zo::detail::cuda::fast_gaussian4(key, b);
}

/// Rademacher directions.
extern "C" __global__ void zo_sass_rademacher4_probe(DirectionKey key, Float4* out) {
  const std::uint64_t b = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  out[b] = zo::rademacher4(key, b);
}

// ---- the Stepper passes (src/stepper/stepper_math.hpp, q = 1, Gaussian) ---------------------

namespace {

using zo::RestoreMode;
using zo::detail::PassEntry;
using zo::detail::PassSpec;
using zo::detail::UnitIO;

enum class Pass { perturb, flip, update, update_perturb };

/// The PassSpec of a pass of step t = spec.update_step with q = 1, as zo::Stepper builds it
/// (src/stepper/stepper.cpp), with every flag and every direction identity known at compile time
/// so that only the path this pass executes is compiled; the values (λ, seed, t, coefficients)
/// stay run-time kernel arguments.
template <Pass kPass, RestoreMode kMode>
__device__ __forceinline__ PassSpec pass_spec(const PassSpec& runtime) {
  PassSpec s = runtime;
  const std::uint32_t t = runtime.update_step;
  s.distribution = zo::Distribution::gaussian;
  s.mode = kMode;
  s.arithmetic_flip = 0;
  s.num_updates = 0;
  s.exit_sign = 0;
  s.write_backup = 0;
  s.step_a = t;
  s.substream_a = 0;
  s.step_b = t;
  s.substream_b = 0;
  switch (kPass) {
    case Pass::perturb:  // P: x_t → x_t + λu_0
      s.entry = PassEntry::at_x;
      s.exit_sign = 1;
      break;
    case Pass::flip:  // F: x_t + λu_0 → x_t − λu_0
      s.entry = PassEntry::plus;
      if (kMode == RestoreMode::arithmetic) {
        s.arithmetic_flip = 1;  // x − 2λu_0
      } else {
        s.exit_sign = -1;
      }
      break;
    case Pass::update:  // U: x_t − λu_0 → x_{t+1}
      s.entry = PassEntry::minus;
      s.num_updates = 1;
      break;
    case Pass::update_perturb:  // U+P: x_t − λu_0 → x_{t+1} + λu_0 of step t + 1
      s.entry = PassEntry::minus;
      s.num_updates = 1;
      s.exit_sign = 1;
      s.step_b = t + 1;
      break;
  }
  return s;
}

/// Four f32 coordinates (one float4), or four bf16 coordinates (one uint2) when kBf16.
template <RestoreMode kMode, bool kBf16>
__device__ __forceinline__ void load_unit(const void* x, const std::uint32_t* codes,
                                          std::uint64_t u, UnitIO& io) {
  if (kBf16) {
    const uint2 w = static_cast<const uint2*>(x)[u];
    io.x[0] = zo::detail::bits_float(w.x << 16);
    io.x[1] = zo::detail::bits_float(w.x & 0xFFFF0000u);
    io.x[2] = zo::detail::bits_float(w.y << 16);
    io.x[3] = zo::detail::bits_float(w.y & 0xFFFF0000u);
  } else {
    const float4 v = static_cast<const float4*>(x)[u];
    io.x[0] = v.x;
    io.x[1] = v.y;
    io.x[2] = v.z;
    io.x[3] = v.w;
  }
  io.valid = 0xFu;
  io.bf16 = kBf16 ? 0xFu : 0u;
  io.escape = 0;
  io.code = kMode == RestoreMode::residual ? codes[u] : 0u;
}

template <RestoreMode kMode, bool kBf16>
__device__ __forceinline__ void store_unit(void* x, std::uint32_t* codes, std::uint64_t u,
                                           const UnitIO& io) {
  if (kBf16) {
    uint2 w;
    w.x = static_cast<std::uint32_t>(zo::detail::float_to_bf16(io.x[0])) |
          (static_cast<std::uint32_t>(zo::detail::float_to_bf16(io.x[1])) << 16);
    w.y = static_cast<std::uint32_t>(zo::detail::float_to_bf16(io.x[2])) |
          (static_cast<std::uint32_t>(zo::detail::float_to_bf16(io.x[3])) << 16);
    static_cast<uint2*>(x)[u] = w;
  } else {
    static_cast<float4*>(x)[u] = make_float4(io.x[0], io.x[1], io.x[2], io.x[3]);
  }
  if (kMode == RestoreMode::residual) codes[u] = io.code | (io.escape << 8);
}

template <Pass kPass, RestoreMode kMode, bool kBf16>
__device__ __forceinline__ void pass_probe(const PassSpec& spec, void* x, std::uint32_t* codes) {
  const std::uint64_t u = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  UnitIO io;
  load_unit<kMode, kBf16>(x, codes, u, io);
  zo::detail::stepper_unit(pass_spec<kPass, kMode>(spec), spec.first_block + u, io);
  store_unit<kMode, kBf16>(x, codes, u, io);
}

/// stepper_unit's flags with the fast GPU Gaussian as the direction generator (what the Stepper's
/// kernels use with StepperOptions::gpu_fast_gaussian).
struct FastFlags : zo::detail::SpecFlags {
  __device__ __forceinline__ Float4 direction(DirectionKey key, std::uint64_t block, float) const {
    return zo::detail::cuda::fast_gaussian4(key, block);
  }
};

template <Pass kPass, RestoreMode kMode>
__device__ __forceinline__ void fast_pass_probe(const PassSpec& spec, void* x,
                                                std::uint32_t* codes) {
  const std::uint64_t u = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  UnitIO io;
  load_unit<kMode, false>(x, codes, u, io);
  const PassSpec s = pass_spec<kPass, kMode>(spec);
  zo::detail::stepper_unit(s, spec.first_block + u, io, FastFlags{{s}});
  store_unit<kMode, false>(x, codes, u, io);
}

template <RestoreMode kMode, bool kBf16>
__device__ __forceinline__ void io_probe(const PassSpec& spec, void* x, std::uint32_t* codes) {
  const std::uint64_t u = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
  UnitIO io;
  load_unit<kMode, kBf16>(x, codes, u, io);
  io.x[0] += spec.lambda;  // keep the loads live
  store_unit<kMode, kBf16>(x, codes, u, io);
}

}  // namespace

#define ZO_PASS_PROBE(name, pass, mode, bf16)                                     \
  extern "C" __global__ void name(const __grid_constant__ PassSpec spec, void* x, \
                                  std::uint32_t* codes) {                         \
    pass_probe<Pass::pass, RestoreMode::mode, bf16>(spec, x, codes);              \
  }

#define ZO_IO_PROBE(name, mode, bf16)                                             \
  extern "C" __global__ void name(const __grid_constant__ PassSpec spec, void* x, \
                                  std::uint32_t* codes) {                         \
    io_probe<RestoreMode::mode, bf16>(spec, x, codes);                            \
  }

ZO_PASS_PROBE(zo_sass_stepper_P_arithmetic, perturb, arithmetic, false)
ZO_PASS_PROBE(zo_sass_stepper_F_arithmetic, flip, arithmetic, false)
ZO_PASS_PROBE(zo_sass_stepper_U_arithmetic, update, arithmetic, false)
ZO_PASS_PROBE(zo_sass_stepper_UP_arithmetic, update_perturb, arithmetic, false)
ZO_PASS_PROBE(zo_sass_stepper_P_residual, perturb, residual, false)
ZO_PASS_PROBE(zo_sass_stepper_F_residual, flip, residual, false)
ZO_PASS_PROBE(zo_sass_stepper_U_residual, update, residual, false)
ZO_PASS_PROBE(zo_sass_stepper_UP_residual, update_perturb, residual, false)
ZO_PASS_PROBE(zo_sass_stepper_P_arithmetic_bf16, perturb, arithmetic, true)
ZO_PASS_PROBE(zo_sass_stepper_UP_arithmetic_bf16, update_perturb, arithmetic, true)
#define ZO_FAST_PASS_PROBE(name, pass, mode)                                      \
  extern "C" __global__ void name(const __grid_constant__ PassSpec spec, void* x, \
                                  std::uint32_t* codes) {                         \
    fast_pass_probe<Pass::pass, RestoreMode::mode>(spec, x, codes);               \
  }

ZO_FAST_PASS_PROBE(zo_sass_stepper_P_arithmetic_fast, perturb, arithmetic)
ZO_FAST_PASS_PROBE(zo_sass_stepper_UP_arithmetic_fast, update_perturb, arithmetic)
ZO_IO_PROBE(zo_sass_stepper_io_arithmetic, arithmetic, false)
ZO_IO_PROBE(zo_sass_stepper_io_residual, residual, false)
ZO_IO_PROBE(zo_sass_stepper_io_arithmetic_bf16, arithmetic, true)

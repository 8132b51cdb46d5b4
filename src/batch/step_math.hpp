// Element-wise bodies of a ZO step, shared by the CPU loops and the CUDA kernels (one body, two
// launchers). Every operation is explicit about rounding so both backends agree bit for bit.
#pragma once

#include <cstdint>

#include "zo/config.hpp"
#include "zo/direction.hpp"

namespace zo {
namespace detail {

/// x + s·u with one rounding (the perturbation x ± λu uses s = ±λ).
ZO_HD ZO_INLINE float perturb(float x, float s, float u) { return fma_f(s, u, x); }

/// The two-point projected gradient (f(x+λu) − f(x−λu)) / (2λ), in double.
ZO_HD ZO_INLINE double projected_gradient(double f_plus, double f_minus, float lambda) {
  return (f_plus - f_minus) / (2.0 * static_cast<double>(lambda));
}

/// The scalar that multiplies u_j in the update: η·g_j/q, rounded once to float.
ZO_HD ZO_INLINE float update_coefficient(double g, float eta, std::uint32_t q) {
  return static_cast<float>(static_cast<double>(eta) * g / static_cast<double>(q));
}

/// x − c·u with one rounding; q directions are applied in order j = 0..q−1.
ZO_HD ZO_INLINE float apply_update(float x, float c, float u) { return fma_f(-c, u, x); }

/// True when v is neither NaN nor ±Inf (bit test: safe under any compiler flags).
ZO_HD ZO_INLINE bool is_finite(double v) {
  return v - v == 0.0;  // NaN − NaN and Inf − Inf are NaN
}

}  // namespace detail
}  // namespace zo

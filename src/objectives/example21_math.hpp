// Per-point math of Example 2.1, shared by the CPU loops and the CUDA kernels. A point is
// x = [y; z] with y, z ∈ R^d; inner products are accumulated in double by the caller.
#pragma once

#include "zo/config.hpp"

namespace zo {
namespace detail {

/// h = (s − 1)²/2 from s = yᵀz.
ZO_HD ZO_INLINE double example21_value(double s) {
  const double r = s - 1.0;
  return 0.5 * (r * r);
}

/// Gradient coordinate: ∂h/∂y_i = (s − 1) z_i and ∂h/∂z_i = (s − 1) y_i; `other` is the partner
/// coordinate (z_i for a y-coordinate, y_i for a z-coordinate).
ZO_HD ZO_INLINE float example21_gradient(double s, float other) {
  return static_cast<float>((s - 1.0) * static_cast<double>(other));
}

/// HVP coordinate. With v = (a, b) and c = zᵀa + yᵀb:
///   (Hv)_y = c·z + (s − 1)·b,  (Hv)_z = c·y + (s − 1)·a.
/// For a y-coordinate pass (partner = z_i, v_partner = b_i); for a z-coordinate (y_i, a_i).
ZO_HD ZO_INLINE float example21_hvp(double s, double c, float partner, float v_partner) {
  return static_cast<float>(c * static_cast<double>(partner) +
                            (s - 1.0) * static_cast<double>(v_partner));
}

}  // namespace detail
}  // namespace zo

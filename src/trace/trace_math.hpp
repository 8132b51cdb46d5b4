// Element-wise bodies of the trace estimators, shared by the CPU loops (src/trace/trace.cpp) and
// the CUDA kernels (kernels/trace/trace_cuda.cu) so both build bit-identical perturbed points.
#pragma once

#include <cstdint>

#include "zo/config.hpp"
#include "zo/direction.hpp"

namespace zo {
namespace detail {

/// x + t and x − t rounded to float32, made exactly symmetric about x whenever a symmetric
/// representable pair near (x + t, x − t) exists: plus = fl(x + t) and minus = 2x − plus when
/// that is a float (always, unless the pair crosses a binade boundary upwards or |t| ≫ |x|),
/// else the mirror of fl(x − t), else the two independently rounded values. Exact symmetry makes
/// the gradient term of f(x+δ) + f(x−δ) − 2f(x) cancel exactly; without it a rounding error r
/// adds 2∇fᵀr/ε² to the second difference, which for ε = 2^-6 and |x| ~ 1 is ~10^-4 ‖∇f‖ per
/// coordinate: large at non-stationary points.
ZO_HD ZO_INLINE void symmetric_pair(float x, float t, float* plus, float* minus) {
  const float p = x + t;
  const float q = x - t;
  const double twice_x = 2.0 * static_cast<double>(x);  // exact
  const double mirror_p = twice_x - static_cast<double>(p);
  const float mirror_p_f = static_cast<float>(mirror_p);
  if (static_cast<double>(mirror_p_f) == mirror_p) {
    *plus = p;
    *minus = mirror_p_f;
    return;
  }
  const double mirror_q = twice_x - static_cast<double>(q);
  const float mirror_q_f = static_cast<float>(mirror_q);
  if (static_cast<double>(mirror_q_f) == mirror_q) {
    *plus = mirror_q_f;
    *minus = q;
    return;
  }
  *plus = p;
  *minus = q;
}

/// ((plus + minus)/2 − x)²: the squared asymmetry of a pair (0 when symmetric_pair succeeded).
ZO_HD ZO_INLINE double pair_asymmetry_sq(float plus, float minus, float x) {
  const double s =
      0.5 * (static_cast<double>(plus) + static_cast<double>(minus)) - static_cast<double>(x);
  return s * s;
}

/// (plus − x)(g₊ − g₋): one term of δᵀ(∇f(x+δ) − ∇f(x−δ)), the quadratic form of a
/// gradient-difference Hessian-vector product with the applied perturbation δ.
ZO_HD ZO_INLINE double pair_dot_term(float plus, float x, float g_plus, float g_minus) {
  return (static_cast<double>(plus) - static_cast<double>(x)) *
         (static_cast<double>(g_plus) - static_cast<double>(g_minus));
}

/// Coordinates [4·block, 4·block + 4) of trace probe `probe` (a Gaussian or Rademacher
/// direction; see zo/trace.hpp for the key convention).
ZO_HD ZO_INLINE Float4 trace_probe4(Distribution dist, std::uint64_t seed, std::uint32_t substream,
                                    std::uint32_t probe, std::uint64_t block) {
  return direction4(dist, DirectionKey{seed, probe, substream}, block, 1.0f);
}

/// Addresses a row of a probe-major matrix: row r = (point k = r / m, probe j = r % m) lives at
/// base + (k·group + offset + j·probe_step)·stride. probe_step = 0 addresses the base point k.
struct RowRef {
  const float* base;
  std::uint64_t group;
  std::uint64_t offset;
  std::uint64_t probe_step;
  std::uint64_t stride;

  ZO_HD ZO_INLINE const float* row(std::uint64_t r, std::uint64_t m) const {
    return base + ((r / m) * group + offset + (r % m) * probe_step) * stride;
  }
};

/// The reductions the estimators need over each row of length D.
enum class RowOp : int {
  dot = 0,       ///< Σ aᵢ bᵢ                      (vᵀ(Hv))
  pair_dot = 1,  ///< Σ (aᵢ − xᵢ)(bᵢ − cᵢ)          (δᵀ(∇f(x+δ) − ∇f(x−δ)))
  asymmetry = 2,  ///< Σ ((aᵢ + bᵢ)/2 − xᵢ)²        (rounding asymmetry of a ± pair)
};

/// One term of a RowOp.
ZO_HD ZO_INLINE double row_term(RowOp op, float a, float b, float c, float x) {
  switch (op) {
    case RowOp::dot:
      return static_cast<double>(a) * static_cast<double>(b);
    case RowOp::pair_dot:
      return pair_dot_term(a, x, b, c);
    default:
      return pair_asymmetry_sq(a, b, x);
  }
}

}  // namespace detail
}  // namespace zo

// Per-sample terms of the linear-model losses as functions of the margin m = φᵀx, shared by the
// CPU loops and the CUDA reduction kernels (one body, two launchers). Everything is in double.
#pragma once

#include <cmath>

#include "zo/config.hpp"

namespace zo {
namespace detail {

/// The loss ℓ(m), its first and second derivatives in m, for one sample.
struct LossTerms {
  double value;
  double d1;
  double d2;
};

/// Squared hinge with label b ∈ {−1, +1}: ℓ = max(0, 1 − b·m)², ℓ' = −2b·max(0, 1 − b·m),
/// ℓ'' = 2 where 1 − b·m > 0 and 0 elsewhere (the paper's convention at the kink).
ZO_HD ZO_INLINE LossTerms squared_hinge_terms(double m, double b) {
  const double s = 1.0 - b * m;
  if (s > 0.0) return LossTerms{s * s, -2.0 * b * s, 2.0};
  return LossTerms{0.0, 0.0, 0.0};
}

/// Binary cross-entropy of σ(m) with label y ∈ {0, 1}, in the overflow-free form
/// ℓ = max(m, 0) − y·m + log(1 + e^{−|m|}); ℓ' = σ(m) − y; ℓ'' = σ(m)(1 − σ(m)).
ZO_HD ZO_INLINE LossTerms logistic_terms(double m, double y) {
  const double a = m >= 0.0 ? m : -m;
  const double e = std::exp(-a);                                // in (0, 1]
  const double p = m >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);  // σ(m), no overflow
  const double value = (m > 0.0 ? m : 0.0) - y * m + std::log1p(e);
  return LossTerms{value, p - y, p * (1.0 - p)};
}

/// Loss terms for loss kind 0 (squared hinge, label b ∈ {−1, +1}) or 1 (logistic; the label is
/// mapped to y = (b + 1)/2 ∈ {0, 1}).
ZO_HD ZO_INLINE LossTerms linear_loss_terms(int loss_kind, double m, double b) {
  return loss_kind == 0 ? squared_hinge_terms(m, b) : logistic_terms(m, 0.5 * (b + 1.0));
}

/// 1 when the prediction sign(m) (m ≥ 0 → +1) matches the label b ∈ {−1, +1}, else 0.
ZO_HD ZO_INLINE double correct_prediction(double m, double b) {
  return (m >= 0.0) == (b > 0.0) ? 1.0 : 0.0;
}

}  // namespace detail
}  // namespace zo

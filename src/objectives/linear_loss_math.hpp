// Per-sample terms of the linear-model losses as functions of the margin m = φᵀx, shared by the
// CPU loops and the CUDA reduction kernels (one body, two launchers). Everything is in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

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

/// The bits of a double (host: memcpy, which compiles to a register move and vectorises).
ZO_HD ZO_INLINE std::int64_t bits_of(double v) {
#ifdef __CUDA_ARCH__
  return __double_as_longlong(v);
#else
  std::int64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
#endif
}

ZO_HD ZO_INLINE double double_of(std::int64_t b) {
#ifdef __CUDA_ARCH__
  return __longlong_as_double(b);
#else
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
#endif
}

/// e^{−a} for a ≥ 0 without libm and without floating-point branches, so that the CPU loops
/// vectorise (every lane performs the same IEEE operations in the same order as this scalar body:
/// the same bits). Range reduction −a = k·ln 2 + r, |r| ≤ ln 2 / 2 (Cody–Waite split of ln 2), e^r
/// by its Taylor polynomial of degree 13 (truncation < 5e-18 relative), scaled by 2^k built from
/// the bits of t = k + 1.5·2^52 (whose low significand bits hold k). Relative error below 4 ulp
/// (4·2^-52; tests measure it against std::exp) for a ≤ 708; 0 for 708 < a ≤ ∞ (the true value
/// is below 3.3e-308); NaN for NaN. The range test compares bits as integers (for a ≥ 0 their
/// order is the numbers' order, NaN above ∞): a floating-point comparison could trap on NaN, and
/// GCC then keeps a branch that stops vectorisation.
ZO_HD ZO_INLINE double exp_neg(double a) {
  const std::int64_t ab = bits_of(a);
  // All ones where 708 < a ≤ ∞, else zero; applied with integer and/xor (no conditional code).
  const std::int64_t huge =
      -static_cast<std::int64_t>((ab > 0x4086200000000000) & (ab <= 0x7ff0000000000000));
  const double shifter = 0x1.8p52;
  const double c = double_of(ab ^ ((ab ^ 0x4086200000000000) & huge));  // min(a, 708), NaN kept
  const double t = c * -1.4426950408889634 + shifter;
  const double k = t - shifter;  // round(−c / ln 2), in [−1022, 0]
  const double r = (-c - k * 6.93147180369123816490e-01) - k * 1.90821492927058770002e-10;
  // Σ_{i ≤ 13} r^i / i! by Estrin's scheme (short dependency chains: the loops stay
  // throughput-bound).
  const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
  const double q0 = 1.0 + r, q1 = 0.5 + r * (1.0 / 6.0);
  const double q2 = 1.0 / 24.0 + r * (1.0 / 120.0), q3 = 1.0 / 720.0 + r * (1.0 / 5040.0);
  const double q4 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
  const double q5 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
  const double q6 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
  const double s0 = q0 + r2 * q1, s1 = q2 + r2 * q3, s2 = q4 + r2 * q5;
  const double p = (s0 + r4 * s1) + r8 * (s2 + r4 * q6);
  const auto tb = static_cast<std::uint64_t>(bits_of(t));
  const double scale = double_of(static_cast<std::int64_t>((tb + 1023u) << 52));  // 2^k
  return double_of(bits_of(p * scale) & ~huge);  // +0 where a > 708
}

/// log(1 + e) for e ∈ [0, 1] without libm, branch-free: log(1 + e) = 2 atanh(s) with
/// s = e / (2 + e) ∈ [0, 1/3], the atanh series Σ_{i ≤ 17} z^i / (2i + 1) in z = s² ≤ 1/9
/// (truncation < 1e-18 relative) by Estrin's scheme. Relative error below 4 ulp (4·2^-52; tests
/// measure it against std::log1p).
ZO_HD ZO_INLINE double log1p_unit(double e) {
  const double s = e / (2.0 + e);
  const double z = s * s, z2 = z * z, z4 = z2 * z2, z8 = z4 * z4, z16 = z8 * z8;
  const double q0 = 1.0 + z * (1.0 / 3.0), q1 = 1.0 / 5.0 + z * (1.0 / 7.0);
  const double q2 = 1.0 / 9.0 + z * (1.0 / 11.0), q3 = 1.0 / 13.0 + z * (1.0 / 15.0);
  const double q4 = 1.0 / 17.0 + z * (1.0 / 19.0), q5 = 1.0 / 21.0 + z * (1.0 / 23.0);
  const double q6 = 1.0 / 25.0 + z * (1.0 / 27.0), q7 = 1.0 / 29.0 + z * (1.0 / 31.0);
  const double q8 = 1.0 / 33.0 + z * (1.0 / 35.0);
  const double t0 = (q0 + z2 * q1) + z4 * (q2 + z2 * q3);
  const double t1 = (q4 + z2 * q5) + z4 * (q6 + z2 * q7);
  const double p = (t0 + z8 * t1) + z16 * q8;
  return 2.0 * s * p;
}

/// The logistic loss value alone (see logistic_terms), branch-free for vectorised loops.
ZO_HD ZO_INLINE double logistic_value(double m, double y) {
  return (m > 0.0 ? m : 0.0) - y * m + log1p_unit(exp_neg(std::fabs(m)));
}

/// Binary cross-entropy of σ(m) with label y ∈ {0, 1}, in the overflow-free form
/// ℓ = max(m, 0) − y·m + log(1 + e^{−|m|}); ℓ' = σ(m) − y; ℓ'' = σ(m)(1 − σ(m)). e^{−|m|} and
/// log(1 + ·) are exp_neg and log1p_unit (the same bits on every CPU path, vectorised or not).
ZO_HD ZO_INLINE LossTerms logistic_terms(double m, double y) {
  const double e = exp_neg(std::fabs(m));                       // in [0, 1]
  const double p = m >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);  // σ(m), no overflow
  const double value = (m > 0.0 ? m : 0.0) - y * m + log1p_unit(e);
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

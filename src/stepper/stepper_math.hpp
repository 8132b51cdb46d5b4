// Element-wise bodies of the in-place stepper passes, shared by the CPU loop
// (src/stepper/stepper_cpu.cpp) and the CUDA kernel (kernels/stepper/stepper_cuda.cu): one body,
// two launchers. The launchers only move memory (load four coordinates, call stepper_unit, store,
// append exceptions); every arithmetic operation, rounding and record decision is here, so the CPU
// tests test the GPU math.
//
// A pass works on units: unit u holds the coordinates of Philox block first_block + u, i.e.
// global coordinates 4(first_block + u) + lane, lane = 0..3, which may belong to different
// tensors (and dtypes). Values travel as float; `round_param` rounds to the tensor's dtype.
#pragma once

#include <cstdint>

#include "stepper/bf16.hpp"
#include "zo/config.hpp"
#include "zo/direction.hpp"
#include "zo/stepper.hpp"

namespace zo {
namespace detail {

/// What the parameters hold when a pass starts.
enum class PassEntry : std::uint32_t {
  at_x = 0,   ///< the unperturbed iterate (x_t, or x_{t+1} after a merged update)
  plus = 1,   ///< x + λu_a
  minus = 2,  ///< x − λu_a
};

/// One fused pass, fully described by value (it is a kernel argument).
///
///   base = the unperturbed value, from the entry state (exactly in copy/residual modes);
///   base = round(base − Σ_j coef_j u_j) if num_updates > 0 (fp32 accumulation, one rounding);
///   out  = round(base + exit_sign·λ·u_b) if exit_sign ≠ 0, else base;
/// and the record of `out` (backup copy / residual code) when the pass ends perturbed.
/// arithmetic_flip replaces all of this by MeZO's out = round(x − 2λu_a).
struct PassSpec {
  Distribution distribution;
  RestoreMode mode;
  float lambda;
  std::uint64_t seed;
  std::uint64_t first_block;  ///< global Philox block of unit 0

  PassEntry entry;
  std::uint32_t step_a, substream_a;  ///< entry direction (entry ≠ at_x)
  float scale_a;
  std::uint32_t arithmetic_flip;

  std::uint32_t num_updates;  ///< 0, or q: directions (seed, update_step, j), j < q
  std::uint32_t update_step;
  float coef[kMaxStepperQ];          ///< η g_j / q (detail::update_coefficient)
  float update_scale[kMaxStepperQ];  ///< sphere scale of direction j

  std::int32_t exit_sign;  ///< 0 (pass ends unperturbed), +1 or −1
  std::uint32_t step_b, substream_b;
  float scale_b;
  std::uint32_t write_backup;  ///< copy mode: base is new and must be saved
};

/// Four coordinates moving through a pass. Lanes outside the vector are masked out.
struct UnitIO {
  float x[4];            ///< in: parameters; out: new parameters
  float backup[4];       ///< copy mode: in: saved base; out: new saved base (write_backup)
  float base[4];         ///< out: the unperturbed value of the pass (what an exception stores)
  std::uint32_t code;    ///< residual mode: in/out: four 2-bit codes, lane l in bits 2l..2l+1
  std::uint32_t escape;  ///< out: lanes whose base must go to the exception list (code 3)
  std::uint32_t bf16;    ///< lane mask: the lane's tensor is bf16 (else f32)
  std::uint32_t valid;   ///< lane mask: the lane is a coordinate of the vector
};

/// Residual code values (two bits per coordinate).
constexpr std::uint32_t kCodeExact = 0;   ///< base == estimate
constexpr std::uint32_t kCodeUp = 1;      ///< base is the next representable value above
constexpr std::uint32_t kCodeDown = 2;    ///< base is the next representable value below
constexpr std::uint32_t kCodeEscape = 3;  ///< base is in the exception list (or left in place)

/// `v` rounded to the parameter type (identity for f32).
ZO_HD ZO_INLINE float round_param(bool bf16, float v) { return bf16 ? round_to_bf16(v) : v; }

/// The storage bits of a value already representable in the parameter type.
ZO_HD ZO_INLINE std::uint32_t param_bits(bool bf16, float v) {
  return bf16 ? static_cast<std::uint32_t>(float_to_bf16(v)) : float_bits(v);
}

/// The value of storage bits of the parameter type.
ZO_HD ZO_INLINE float param_value(bool bf16, std::uint32_t bits) {
  return bf16 ? bf16_to_float(static_cast<std::uint16_t>(bits)) : bits_float(bits);
}

/// Maps storage bits (sign-magnitude) to an unsigned integer that increases with the value and
/// is a bijection on all bit patterns (−0 sits just below +0), so neighbouring representable
/// values differ by exactly 1 and decoding is exact for every pattern, NaNs included.
ZO_HD ZO_INLINE std::uint32_t ordered_from_bits(bool bf16, std::uint32_t bits) {
  const std::uint32_t sign = bf16 ? 0x8000u : 0x80000000u;
  const std::uint32_t mask = sign | (sign - 1u);
  return (bits & sign) ? (~bits & mask) : (bits | sign);
}

/// Inverse of ordered_from_bits.
ZO_HD ZO_INLINE std::uint32_t bits_from_ordered(bool bf16, std::uint32_t ordered) {
  const std::uint32_t sign = bf16 ? 0x8000u : 0x80000000u;
  const std::uint32_t mask = sign | (sign - 1u);
  return (ordered & sign) ? (ordered & ~sign) : (~ordered & mask);
}

/// The residual code of `base` relative to `estimate` (both representable in the parameter type).
ZO_HD ZO_INLINE std::uint32_t residual_code(bool bf16, float base, float estimate) {
  const std::uint32_t ob = ordered_from_bits(bf16, param_bits(bf16, base));
  const std::uint32_t oe = ordered_from_bits(bf16, param_bits(bf16, estimate));
  if (ob == oe) return kCodeExact;
  if (ob == oe + 1u) return kCodeUp;
  if (ob + 1u == oe) return kCodeDown;
  return kCodeEscape;
}

/// The base value that `code` (not kCodeEscape) records relative to `estimate`.
ZO_HD ZO_INLINE float residual_decode(bool bf16, float estimate, std::uint32_t code) {
  if (code == kCodeExact) return estimate;
  const std::uint32_t oe = ordered_from_bits(bf16, param_bits(bf16, estimate));
  const std::uint32_t ob = code == kCodeUp ? oe + 1u : oe - 1u;
  return param_value(bf16, bits_from_ordered(bf16, ob));
}

ZO_HD ZO_INLINE bool same_direction(std::uint32_t step0, std::uint32_t substream0,
                                    std::uint32_t step1, std::uint32_t substream1) {
  return step0 == step1 && substream0 == substream1;
}

/// Where stepper_unit reads the shape of a pass (flags) and its sphere scales: here, from the
/// PassSpec at run time. The CUDA engine passes a type with the same members whose flags are
/// compile-time constants, so each specialised kernel compiles only its own path (the arithmetic
/// stays this one body).
struct SpecFlags {
  const PassSpec& s;
  ZO_HD ZO_INLINE RestoreMode mode() const { return s.mode; }
  ZO_HD ZO_INLINE bool entry_perturbed() const { return s.entry != PassEntry::at_x; }
  ZO_HD ZO_INLINE bool flip() const { return s.arithmetic_flip != 0; }
  ZO_HD ZO_INLINE std::uint32_t num_updates() const { return s.num_updates; }
  ZO_HD ZO_INLINE bool has_exit() const { return s.exit_sign != 0; }
  ZO_HD ZO_INLINE bool write_backup() const { return s.write_backup != 0; }
  ZO_HD ZO_INLINE float scale_a() const { return s.scale_a; }
  ZO_HD ZO_INLINE float scale_b() const { return s.scale_b; }
  ZO_HD ZO_INLINE float update_scale(std::uint32_t j) const { return s.update_scale[j]; }
  /// Coordinates [4·block, 4·block + 4) of direction `key` (scale: its sphere scale).
  ZO_HD ZO_INLINE Float4 direction(DirectionKey key, std::uint64_t block, float scale) const {
    return direction4(s.distribution, key, block, scale);
  }
};

/// The pass reads its entry direction u_a: to undo the perturbation arithmetically (arithmetic
/// and residual modes) and for MeZO's flip; copy mode reads the saved base instead.
ZO_HD ZO_INLINE bool pass_reads_entry(const PassSpec& s) {
  return s.entry != PassEntry::at_x && (s.mode != RestoreMode::copy || s.arithmetic_flip);
}

/// Update direction j is the entry direction (reused, not generated again).
ZO_HD ZO_INLINE bool update_is_entry(const PassSpec& s, std::uint32_t j) {
  return pass_reads_entry(s) && same_direction(s.update_step, j, s.step_a, s.substream_a);
}

/// The exit direction is the entry direction (reused, not generated again).
ZO_HD ZO_INLINE bool exit_is_entry(const PassSpec& s) {
  return pass_reads_entry(s) && same_direction(s.step_b, s.substream_b, s.step_a, s.substream_a);
}

/// The directions of a pass at one unit, generated in registers from (seed, step, substream,
/// block) through `f` (its distribution, sphere scales and, on the GPU, the fast Gaussian): what
/// the CUDA kernel uses. The CPU loop passes precomputed tiles instead (stepper_cpu.cpp); both
/// give the same Float4 bit for bit.
template <class Flags>
struct GeneratedPassDirections {
  const PassSpec& s;
  const Flags& f;
  std::uint64_t block;
  ZO_HD ZO_INLINE Float4 entry() const {
    return f.direction(DirectionKey{s.seed, s.step_a, s.substream_a}, block, f.scale_a());
  }
  ZO_HD ZO_INLINE Float4 update(std::uint32_t j) const {
    return f.direction(DirectionKey{s.seed, s.update_step, j}, block, f.update_scale(j));
  }
  ZO_HD ZO_INLINE Float4 exit() const {
    return f.direction(DirectionKey{s.seed, s.step_b, s.substream_b}, block, f.scale_b());
  }
};

/// One unit (four coordinates) of the pass `s`: its shape read through `f` (SpecFlags at run
/// time, or the CUDA engine's compile-time equivalent, so each specialised kernel compiles only
/// its own path) and its directions from `dirs` (entry(), update(j), exit(): the Float4 of this
/// unit's Philox block; only those the pass needs are asked for, see pass_reads_entry /
/// update_is_entry / exit_is_entry).
template <class Flags, class Directions>
ZO_HD ZO_INLINE void stepper_unit_with(const PassSpec& s, const Flags& f, const Directions& dirs,
                                       UnitIO& io) {
  const float lambda = s.lambda;
  const bool entry_perturbed = f.entry_perturbed();
  // The entry direction is needed to undo the perturbation arithmetically (arithmetic and
  // residual modes) and by MeZO's flip; copy mode reads the saved base instead
  // (= pass_reads_entry(s) for SpecFlags).
  const bool need_a = entry_perturbed && (f.mode() != RestoreMode::copy || f.flip());
  Float4 ua{};
  if (need_a) ua = dirs.entry();

  if (f.flip()) {
    const float minus_two_lambda = -2.0f * lambda;  // exact
    for (int l = 0; l < 4; ++l) {
      if (!((io.valid >> l) & 1u)) continue;
      const bool bf = (io.bf16 >> l) & 1u;
      io.x[l] = round_param(bf, fma_f(minus_two_lambda, ua.v[l], io.x[l]));
      io.base[l] = io.x[l];
    }
    io.escape = 0;
    return;
  }

  // 1. The unperturbed value.
  const float undo = s.entry == PassEntry::plus ? -lambda : lambda;
  float base[4];
  for (int l = 0; l < 4; ++l) {
    base[l] = 0.0f;
    if (!((io.valid >> l) & 1u)) continue;
    const bool bf = (io.bf16 >> l) & 1u;
    if (!entry_perturbed) {
      base[l] = io.x[l];
    } else if (f.mode() == RestoreMode::copy) {
      base[l] = io.backup[l];
    } else {
      const float estimate = round_param(bf, fma_f(undo, ua.v[l], io.x[l]));
      if (f.mode() == RestoreMode::arithmetic) {
        base[l] = estimate;
      } else {
        const std::uint32_t code = (io.code >> (2 * l)) & 3u;
        // An escaped coordinate already holds its base: the exception list was scattered
        // back before this pass (or the coordinate was never perturbed).
        base[l] = code == kCodeEscape ? io.x[l] : residual_decode(bf, estimate, code);
      }
    }
  }

  // 2. The q updates, accumulated in fp32, rounded once to the parameter type.
  if (f.num_updates() > 0) {
    float y[4] = {base[0], base[1], base[2], base[3]};
    for (std::uint32_t j = 0; j < f.num_updates(); ++j) {
      Float4 u;
      if (need_a && same_direction(s.update_step, j, s.step_a, s.substream_a)) {
        u = ua;
      } else {
        u = dirs.update(j);
      }
      const float minus_c = -s.coef[j];
      for (int l = 0; l < 4; ++l) y[l] = fma_f(minus_c, u.v[l], y[l]);
    }
    for (int l = 0; l < 4; ++l) base[l] = round_param((io.bf16 >> l) & 1u, y[l]);
  }

  // 3. The exit perturbation and its record.
  std::uint32_t code_out = 0;
  std::uint32_t escape = 0;
  if (f.has_exit()) {
    Float4 ub;
    if (need_a && same_direction(s.step_b, s.substream_b, s.step_a, s.substream_a)) {
      ub = ua;
    } else {
      ub = dirs.exit();
    }
    const float shift = s.exit_sign > 0 ? lambda : -lambda;
    // GCC leaves this loop rolled for bf16 residual passes unless told, which keeps the CPU loop
    // over units (stepper_cpu.cpp) from vectorising. The hint is for GCC's host code only.
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#pragma GCC unroll 4
#endif
    for (int l = 0; l < 4; ++l) {
      if (!((io.valid >> l) & 1u)) continue;
      const bool bf = (io.bf16 >> l) & 1u;
      io.x[l] = round_param(bf, fma_f(shift, ub.v[l], base[l]));
      if (f.mode() == RestoreMode::residual) {
        // Exactly the estimate the consuming pass will compute from io.x[l].
        const float estimate = round_param(bf, fma_f(-shift, ub.v[l], io.x[l]));
        const std::uint32_t code = residual_code(bf, base[l], estimate);
        code_out |= code << (2 * l);
        if (code == kCodeEscape) escape |= 1u << l;
      }
    }
  } else {
    for (int l = 0; l < 4; ++l) io.x[l] = base[l];
  }
  if (f.mode() == RestoreMode::residual) io.code = code_out;
  if (f.write_backup()) {
    for (int l = 0; l < 4; ++l) io.backup[l] = base[l];
  }
  for (int l = 0; l < 4; ++l) io.base[l] = base[l];
  io.escape = escape;
}

/// One unit (four coordinates, global Philox block `block`) of the pass `s`, its shape read
/// through `f`, generating its directions in registers.
template <class Flags>
ZO_HD ZO_INLINE void stepper_unit(const PassSpec& s, std::uint64_t block, UnitIO& io,
                                  const Flags& f) {
  stepper_unit_with(s, f, GeneratedPassDirections<Flags>{s, f, block}, io);
}

/// stepper_unit with the shape read from the PassSpec at run time.
ZO_HD ZO_INLINE void stepper_unit(const PassSpec& s, std::uint64_t block, UnitIO& io) {
  stepper_unit(s, block, io, SpecFlags{s});
}

}  // namespace detail
}  // namespace zo

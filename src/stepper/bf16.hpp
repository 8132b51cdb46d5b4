// bfloat16 <-> float conversions by bit manipulation, identical on host and device (no CUDA
// headers, no reliance on the compiler's rounding mode).
#pragma once

#include <cstdint>

#include "zo/config.hpp"
#include "zo/direction.hpp"

namespace zo {
namespace detail {

/// The float whose upper 16 bits are `bits` (exact).
ZO_HD ZO_INLINE float bf16_to_float(std::uint16_t bits) {
  return bits_float(static_cast<std::uint32_t>(bits) << 16);
}

/// `x` rounded to the nearest bfloat16, ties to even. Overflow gives ±Inf as IEEE rounding does;
/// a NaN stays a NaN (quieted, sign and top payload bits kept).
ZO_HD ZO_INLINE std::uint16_t float_to_bf16(float x) {
  std::uint32_t b = float_bits(x);
  if ((b & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<std::uint16_t>((b >> 16) | 0x0040u);
  b += 0x7FFFu + ((b >> 16) & 1u);
  return static_cast<std::uint16_t>(b >> 16);
}

/// `x` rounded to the nearest bfloat16 value, returned as a float.
ZO_HD ZO_INLINE float round_to_bf16(float x) { return bf16_to_float(float_to_bf16(x)); }

}  // namespace detail
}  // namespace zo

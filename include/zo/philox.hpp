// Philox4x32-10 counter-based random number generator (Salmon et al., SC'11), one header for
// host and device code. Stateless: the output is a pure function of (counter, key), so any
// element of a random stream can be regenerated in any order, on any device.
#pragma once

#include <cstdint>

#include "zo/config.hpp"

namespace zo {

/// Four 32-bit words: a Philox counter or one block of output.
struct Philox4x32Block {
  std::uint32_t v[4];
};

/// Two 32-bit words: a Philox key.
struct Philox4x32Key {
  std::uint32_t k[2];
};

namespace detail {

constexpr std::uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr std::uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr std::uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
constexpr std::uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

ZO_HD ZO_INLINE std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
#if defined(__CUDA_ARCH__)
  *hi = __umulhi(a, b);
  return a * b;
#else
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(product >> 32);
  return static_cast<std::uint32_t>(product);
#endif
}

ZO_HD ZO_INLINE Philox4x32Block philox_round(Philox4x32Block c, Philox4x32Key key) {
  std::uint32_t hi0, hi1;
  const std::uint32_t lo0 = mulhilo32(kPhiloxM0, c.v[0], &hi0);
  const std::uint32_t lo1 = mulhilo32(kPhiloxM1, c.v[2], &hi1);
  return Philox4x32Block{{hi1 ^ c.v[1] ^ key.k[0], lo1, hi0 ^ c.v[3] ^ key.k[1], lo0}};
}

}  // namespace detail

/// Philox4x32 with 10 rounds: the Random123 `philox4x32_R(10, ctr, key)` function.
ZO_HD ZO_INLINE Philox4x32Block philox4x32_10(Philox4x32Block counter, Philox4x32Key key) {
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key.k[0] += detail::kPhiloxW0;
      key.k[1] += detail::kPhiloxW1;
    }
    counter = detail::philox_round(counter, key);
  }
  return counter;
}

}  // namespace zo

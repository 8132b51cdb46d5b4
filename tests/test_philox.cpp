// Philox4x32-10 against the published Random123 known-answer vectors (kat_vectors, 10 rounds).
#include <gtest/gtest.h>

#include "zo/philox.hpp"

namespace {

struct Kat {
  zo::Philox4x32Block counter;
  zo::Philox4x32Key key;
  zo::Philox4x32Block expected;
};

// Lines "philox4x32 10 <ctr x4> <key x2> <expected x4>" of Random123's tests/kat_vectors.
const Kat kKats[] = {
    {{{0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u}},
     {{0x00000000u, 0x00000000u}},
     {{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}}},
    {{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
     {{0xffffffffu, 0xffffffffu}},
     {{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}}},
    {{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}},
     {{0xa4093822u, 0x299f31d0u}},
     {{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}}},
};

TEST(Philox, MatchesRandom123KnownAnswers) {
  for (const Kat& kat : kKats) {
    const zo::Philox4x32Block out = zo::philox4x32_10(kat.counter, kat.key);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.v[i], kat.expected.v[i]) << "word " << i;
  }
}

TEST(Philox, IsAPureFunctionOfCounterAndKey) {
  const zo::Philox4x32Block c{{1u, 2u, 3u, 4u}};
  const zo::Philox4x32Key k{{5u, 6u}};
  const auto a = zo::philox4x32_10(c, k);
  const auto b = zo::philox4x32_10(c, k);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.v[i], b.v[i]);
  // Changing any counter or key word changes the output.
  for (int w = 0; w < 4; ++w) {
    zo::Philox4x32Block c2 = c;
    c2.v[w] ^= 1u;
    EXPECT_NE(zo::philox4x32_10(c2, k).v[0], a.v[0]) << "counter word " << w;
  }
  for (int w = 0; w < 2; ++w) {
    zo::Philox4x32Key k2 = k;
    k2.k[w] ^= 1u;
    EXPECT_NE(zo::philox4x32_10(c, k2).v[0], a.v[0]) << "key word " << w;
  }
}

}  // namespace

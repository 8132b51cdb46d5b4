// Internal: the Gaussian generator of zo/direction.hpp (Philox4x32-10 + the Box–Muller transform
// of gaussian4()) on 8 (AVX2) or 16 (AVX-512) Philox blocks at a time, bit-identical to the scalar
// gaussian4(). Included by directions.cpp only; the functions carry their own target attributes, so
// the library needs no global -mavx flags and runs on any x86-64 CPU (directions.cpp picks the path
// at run time with __builtin_cpu_supports).
//
// Bit identity: every lane performs the operations of gaussian4() in the same order. The vector
// instructions used are exactly rounded IEEE-754 single-precision operations (add, sub, mul,
// fused multiply-add with one rounding) and integer/bit operations, as on the scalar path.
#pragma once

#include <cstdint>

#include "zo/direction.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ZO_HAVE_X86_SIMD 1
#else
#define ZO_HAVE_X86_SIMD 0
#endif

#if ZO_HAVE_X86_SIMD

#define ZO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define ZO_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma")))

namespace zo {
namespace detail {
namespace simd {

// ------------------------------------------------------------------------------------------------
// AVX-512: 16 blocks (64 coordinates) per call.
// ------------------------------------------------------------------------------------------------

struct Philox16 {
  __m512i v[4];
};

/// What Philox4x32-10 computes once for counters that differ only in word 0 (words 1–3 = c1, c2,
/// c3 in every lane) under per-lane keys (k0, k1): the first round's word 0 and 1, the second
/// round's M0 product, and the round keys, folded into the constants each round XORs in.
///
/// The rounds then run on the even and the odd lanes separately (half h = 0, 1), a lane's 32-bit
/// word in the low half of a 64-bit lane: _mm512_mul_epu32 reads only those low halves and gives
/// the whole 64-bit product, so the product's low word is in place (the high half is ignored by
/// the next multiply and never reaches a result) and its high word is one shift away. Every
/// lane computes the same XORs of the same words as philox4x32_10().
struct PhiloxPlan16 {
  __m512i x0[2];               ///< c3 ^ k1(round 1): word 2 of round 1 is hi(M0·c0) ^ x0
  __m512i y1[2];               ///< lo(M1·c2) ^ k0(round 2): word 0 of round 2 is hi(M1·w2) ^ y1
  __m512i y2[2];               ///< hi(M0·w0) ^ k1(round 2): word 2 of round 2 is w3 ^ y2
  __m512i y3[2];               ///< lo(M0·w0) ^ k1(round 3): word 2 of round 3 is hi(M0·v0) ^ y3
  __m512i k0r3[2];             ///< k0(round 3)
  __m512i k0[7][2], k1[7][2];  ///< rounds 4 … 10
};

/// The high and low 32 bits of a · m for every lane (m the same in all lanes).
ZO_TARGET_AVX512 inline void mulhilo16(__m512i a, __m512i m, __m512i* hi, __m512i* lo) {
  const __m512i even = _mm512_mul_epu32(a, m);                        // lanes 0, 2, …
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);  // lanes 1, 3, …
  *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

ZO_TARGET_AVX512 inline void split_halves(__m512i v, __m512i* h) {
  h[0] = v;
  h[1] = _mm512_srli_epi64(v, 32);
}

ZO_TARGET_AVX512 inline PhiloxPlan16 philox_plan16(std::uint32_t c1, std::uint32_t c2,
                                                   std::uint32_t c3, __m512i k0, __m512i k1) {
  const __m512i w0 = _mm512_set1_epi32(static_cast<int>(kPhiloxW0));
  const __m512i w1 = _mm512_set1_epi32(static_cast<int>(kPhiloxW1));
  __m512i rk0[10], rk1[10];
  rk0[0] = k0;
  rk1[0] = k1;
  for (int r = 1; r < 10; ++r) {
    rk0[r] = _mm512_add_epi32(rk0[r - 1], w0);
    rk1[r] = _mm512_add_epi32(rk1[r - 1], w1);
  }
  const std::uint64_t p1 = static_cast<std::uint64_t>(kPhiloxM1) * c2;  // the same in every lane
  const auto hi1 = static_cast<std::uint32_t>(p1 >> 32);
  const auto lo1 = static_cast<std::uint32_t>(p1);
  const __m512i a = _mm512_xor_si512(_mm512_set1_epi32(static_cast<int>(hi1 ^ c1)), rk0[0]);
  __m512i hia, loa;  // M0 · (round 1's word 0)
  mulhilo16(a, _mm512_set1_epi32(static_cast<int>(kPhiloxM0)), &hia, &loa);
  PhiloxPlan16 p;
  split_halves(_mm512_xor_si512(_mm512_set1_epi32(static_cast<int>(c3)), rk1[0]), p.x0);
  split_halves(_mm512_xor_si512(_mm512_set1_epi32(static_cast<int>(lo1)), rk0[1]), p.y1);
  split_halves(_mm512_xor_si512(hia, rk1[1]), p.y2);
  split_halves(_mm512_xor_si512(loa, rk1[2]), p.y3);
  split_halves(rk0[2], p.k0r3);
  for (int r = 3; r < 10; ++r) {
    split_halves(rk0[r], p.k0[r - 3]);
    split_halves(rk1[r], p.k1[r - 3]);
  }
  return p;
}

/// Philox4x32-10 of the counters (c0 lane by lane, c1, c2, c3 of `p`) under the keys of `p`.
ZO_TARGET_AVX512 inline Philox16 philox16_planned(const PhiloxPlan16& p, __m512i c0) {
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(kPhiloxM0));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(kPhiloxM1));
  __m512i out[4][2];
  for (int h = 0; h < 2; ++h) {
    const __m512i c = h == 0 ? c0 : _mm512_srli_epi64(c0, 32);
    // Round 1: word 0 and 1 are block-independent (in the plan).
    const __m512i q0 = _mm512_mul_epu32(c, m0);
    const __m512i w2 = _mm512_xor_si512(_mm512_srli_epi64(q0, 32), p.x0[h]);
    const __m512i w3 = q0;
    // Round 2: M0 · w0 is in the plan.
    const __m512i q1 = _mm512_mul_epu32(w2, m1);
    const __m512i v0 = _mm512_xor_si512(_mm512_srli_epi64(q1, 32), p.y1[h]);
    const __m512i v1 = q1;
    const __m512i v2 = _mm512_xor_si512(w3, p.y2[h]);
    // Round 3: word 3 of round 2 is in the plan.
    const __m512i r0 = _mm512_mul_epu32(v0, m0);
    const __m512i r1 = _mm512_mul_epu32(v2, m1);
    __m512i u0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(r1, 32), v1, p.k0r3[h], 0x96);
    __m512i u1 = r1;
    __m512i u2 = _mm512_xor_si512(_mm512_srli_epi64(r0, 32), p.y3[h]);
    __m512i u3 = r0;
    for (int r = 0; r < 7; ++r) {  // rounds 4 … 10; 0x96: a ^ b ^ c
      const __m512i s0 = _mm512_mul_epu32(u0, m0);
      const __m512i s1 = _mm512_mul_epu32(u2, m1);
      u0 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(s1, 32), u1, p.k0[r][h], 0x96);
      u1 = s1;
      u2 = _mm512_ternarylogic_epi32(_mm512_srli_epi64(s0, 32), u3, p.k1[r][h], 0x96);
      u3 = s0;
    }
    out[0][h] = u0;
    out[1][h] = u1;
    out[2][h] = u2;
    out[3][h] = u3;
  }
  Philox16 w;
  for (int j = 0; j < 4; ++j) {
    w.v[j] = _mm512_mask_blend_epi32(0xAAAA, out[j][0], _mm512_slli_epi64(out[j][1], 32));
  }
  return w;
}

/// The plan of blocks with high counter word `block_hi` of the direction `key` (all lanes).
ZO_TARGET_AVX512 inline PhiloxPlan16 philox_plan16(DirectionKey key, std::uint32_t block_hi) {
  return philox_plan16(block_hi, key.step, key.substream,
                       _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(key.seed))),
                       _mm512_set1_epi32(static_cast<int>(key.seed >> 32)));
}

ZO_TARGET_AVX512 inline __m512 fma16(__m512 a, __m512 b, __m512 c) {
  return _mm512_fmadd_ps(a, b, c);
}
ZO_TARGET_AVX512 inline __m512 set16(float x) { return _mm512_set1_ps(x); }
ZO_TARGET_AVX512 inline __m512 as_float16(__m512i x) { return _mm512_castsi512_ps(x); }
ZO_TARGET_AVX512 inline __m512i as_int16(__m512 x) { return _mm512_castps_si512(x); }
ZO_TARGET_AVX512 inline __m512i iset16(std::uint32_t x) {
  return _mm512_set1_epi32(static_cast<int>(x));
}

/// box_muller() of zo/direction.hpp on 16 lanes.
ZO_TARGET_AVX512 inline void box_muller16(__m512i a, __m512i b, __m512* z0, __m512* z1) {
  const __m512i mantissa = iset16(0x007FFFFFu);
  // −2 ln u (neg2_log_uniform)
  const __m512 u =
      _mm512_sub_ps(as_float16(_mm512_or_si512(_mm512_and_si512(a, mantissa), iset16(0x3F800000u))),
                    set16(0.99999994f));
  const __m512i ix = _mm512_sub_epi32(as_int16(u), iset16(0x3F3504F3u));
  const __m512 k = _mm512_cvtepi32_ps(_mm512_srai_epi32(ix, 23));
  const __m512 t = _mm512_sub_ps(
      as_float16(_mm512_add_epi32(_mm512_and_si512(ix, mantissa), iset16(0x3F3504F3u))),
      set16(1.0f));
  __m512 q = fma16(set16(kLogQ7), t, set16(kLogQ6));
  q = fma16(q, t, set16(kLogQ5));
  q = fma16(q, t, set16(kLogQ4));
  q = fma16(q, t, set16(kLogQ3));
  q = fma16(q, t, set16(kLogQ2));
  q = fma16(q, t, set16(kLogQ1));
  q = fma16(q, t, set16(kLogQ0));
  const __m512 log_m = _mm512_mul_ps(fma16(q, t, set16(-2.0f)), t);
  const __m512 w = fma16(k, set16(kNeg2Ln2), log_m);
  // √w (sqrt_positive)
  __m512 y = as_float16(_mm512_sub_epi32(iset16(kRsqrtMagic), _mm512_srli_epi32(as_int16(w), 1)));
  y = _mm512_mul_ps(y, fma16(_mm512_mul_ps(set16(-0.5f), w), _mm512_mul_ps(y, y), set16(1.5f)));
  const __m512 s = _mm512_mul_ps(w, y);
  const __m512 e = _mm512_fnmadd_ps(s, y, set16(1.0f));  // −(s·y) + 1, one rounding
  const __m512 r = fma16(_mm512_mul_ps(s, e), fma16(e, set16(0.375f), set16(0.5f)), s);
  // sin, cos of π f / 2 (sincos_half_turn)
  const __m512 f = _mm512_sub_ps(
      as_float16(_mm512_or_si512(_mm512_and_si512(b, mantissa), iset16(0x40000000u))), set16(3.0f));
  const __m512 f2 = _mm512_mul_ps(f, f);
  __m512 sp = fma16(set16(kSin4), f2, set16(kSin3));
  sp = fma16(sp, f2, set16(kSin2));
  sp = fma16(sp, f2, set16(kSin1));
  sp = fma16(sp, f2, set16(kSin0));
  const __m512 sn = _mm512_mul_ps(sp, f);
  __m512 cp = fma16(set16(kCos4), f2, set16(kCos3));
  cp = fma16(cp, f2, set16(kCos2));
  cp = fma16(cp, f2, set16(kCos1));
  const __m512 cs = fma16(cp, f2, set16(1.0f));
  *z0 = as_float16(
      _mm512_xor_si512(as_int16(_mm512_mul_ps(r, cs)), _mm512_and_si512(a, iset16(0x80000000u))));
  *z1 = _mm512_mul_ps(r, sn);
}

/// Writes the 64 coordinates of blocks [block, block + 16) to out (unaligned), as gaussian4()
/// would; `plan` = philox_plan16(key, block >> 32). The caller guarantees that the low 32 bits of
/// block + 15 do not wrap.
ZO_TARGET_AVX512 inline void gaussian_16_blocks(const PhiloxPlan16& plan, std::uint64_t block,
                                                float* out) {
  const Philox16 w = philox16_planned(
      plan,
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(block))),
                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
  __m512 z0, z1, z2, z3;
  box_muller16(w.v[0], w.v[1], &z0, &z1);
  box_muller16(w.v[2], w.v[3], &z2, &z3);
  // 4 × 16 → 16 × 4: out[4·i + j] = z_j[i].
  const __m512 t0 = _mm512_unpacklo_ps(z0, z1);  // per 128-bit lane: z0[0] z1[0] z0[1] z1[1]
  const __m512 t1 = _mm512_unpackhi_ps(z0, z1);  // z0[2] z1[2] z0[3] z1[3]
  const __m512 t2 = _mm512_unpacklo_ps(z2, z3);
  const __m512 t3 = _mm512_unpackhi_ps(z2, z3);
  const __m512 v0 =
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
  const __m512 v1 =
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t2)));
  const __m512 v2 =
      _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  const __m512 v3 =
      _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t1), _mm512_castps_pd(t3)));
  // v_j holds block 4L + j in its 128-bit lane L: transpose the 4 × 4 grid of 128-bit lanes.
  const __m512 x0 = _mm512_shuffle_f32x4(v0, v1, 0x44);            // v0.L0 v0.L1 v1.L0 v1.L1
  const __m512 x1 = _mm512_shuffle_f32x4(v2, v3, 0x44);            // v2.L0 v2.L1 v3.L0 v3.L1
  const __m512 x2 = _mm512_shuffle_f32x4(v0, v1, 0xEE);            // v0.L2 v0.L3 v1.L2 v1.L3
  const __m512 x3 = _mm512_shuffle_f32x4(v2, v3, 0xEE);            // v2.L2 v2.L3 v3.L2 v3.L3
  _mm512_storeu_ps(out, _mm512_shuffle_f32x4(x0, x1, 0x88));       // blocks 0–3
  _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(x0, x1, 0xDD));  // blocks 4–7
  _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(x2, x3, 0x88));  // blocks 8–11
  _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(x2, x3, 0xDD));  // blocks 12–15
}

/// Blocks `block` and `block + 1` of the directions (seeds[w], step, substream) of 8 runs, one run
/// per lane, written lane-minor: out[8·(4·(block + h) + i) + w] = coordinate 4·(block + h) + i of
/// run w (h = 0, 1; i = 0 … 3), i.e. the 64 floats at out + 32·block. Lanes 0–7 compute block
/// `block` of runs 0–7 and lanes 8–15 block `block + 1`, each as gaussian4() would; `plan` is
/// philox_plan16(block >> 32, step, substream, seed words of runs 0–7 twice). The caller
/// guarantees that the low 32 bits of block + 1 do not wrap.
ZO_TARGET_AVX512 inline void gaussian_2_blocks_8_runs(const PhiloxPlan16& plan, std::uint64_t block,
                                                      float* out) {
  const __m512i c0 =
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(block))),
                       _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const Philox16 w = philox16_planned(plan, c0);
  __m512 z0, z1, z2, z3;
  box_muller16(w.v[0], w.v[1], &z0, &z1);
  box_muller16(w.v[2], w.v[3], &z2, &z3);
  // z_i: lanes 0–7 coordinate 4·block + i, lanes 8–15 coordinate 4·block + 4 + i.
  _mm512_storeu_ps(out, _mm512_shuffle_f32x4(z0, z1, 0x44));       // coordinates +0, +1
  _mm512_storeu_ps(out + 16, _mm512_shuffle_f32x4(z2, z3, 0x44));  // +2, +3
  _mm512_storeu_ps(out + 32, _mm512_shuffle_f32x4(z0, z1, 0xEE));  // +4, +5
  _mm512_storeu_ps(out + 48, _mm512_shuffle_f32x4(z2, z3, 0xEE));  // +6, +7
}

// ------------------------------------------------------------------------------------------------
// AVX2: 8 blocks (32 coordinates) per call.
// ------------------------------------------------------------------------------------------------

struct Philox8 {
  __m256i v[4];
};

ZO_TARGET_AVX2 inline void mulhilo8(__m256i a, __m256i m, __m256i* hi, __m256i* lo) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

/// The round keys of Philox4x32-10 for per-lane keys (k0, k1), rounds 1 … 10 (in memory: with
/// 16 AVX2 registers the rounds read them as operands rather than keep them in registers).
struct PhiloxKeys8 {
  __m256i k0[10], k1[10];
};

ZO_TARGET_AVX2 inline void philox_keys8(__m256i k0, __m256i k1, PhiloxKeys8* keys) {
  keys->k0[0] = k0;
  keys->k1[0] = k1;
  for (int r = 1; r < 10; ++r) {
    keys->k0[r] = _mm256_add_epi32(keys->k0[r - 1], _mm256_set1_epi32(static_cast<int>(kPhiloxW0)));
    keys->k1[r] = _mm256_add_epi32(keys->k1[r - 1], _mm256_set1_epi32(static_cast<int>(kPhiloxW1)));
  }
}

/// Philox4x32-10 of the counters (c0, c1, c2, c3) under the round keys `keys`, lane by lane.
ZO_TARGET_AVX2 inline Philox8 philox8_rounds(__m256i c0, __m256i c1, __m256i c2, __m256i c3,
                                             const PhiloxKeys8& keys) {
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kPhiloxM0));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(kPhiloxM1));
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mulhilo8(c0, m0, &hi0, &lo0);
    mulhilo8(c2, m1, &hi1, &lo1);
    const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), keys.k0[round]);
    const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), keys.k1[round]);
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
  }
  return Philox8{{c0, c1, c2, c3}};
}

/// The round keys of `key` in every lane.
ZO_TARGET_AVX2 inline PhiloxKeys8 philox_keys8(DirectionKey key) {
  PhiloxKeys8 keys;
  philox_keys8(_mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(key.seed))),
               _mm256_set1_epi32(static_cast<int>(key.seed >> 32)), &keys);
  return keys;
}

/// Philox4x32-10 of the counters (block_lo + lane, block_hi, step, substream), lane = 0 … 7.
ZO_TARGET_AVX2 inline Philox8 philox8(const PhiloxKeys8& keys, DirectionKey key,
                                      std::uint32_t block_lo, std::uint32_t block_hi) {
  const __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int>(block_lo)),
                                      _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return philox8_rounds(c0, _mm256_set1_epi32(static_cast<int>(block_hi)),
                        _mm256_set1_epi32(static_cast<int>(key.step)),
                        _mm256_set1_epi32(static_cast<int>(key.substream)), keys);
}

ZO_TARGET_AVX2 inline __m256 fma8(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
ZO_TARGET_AVX2 inline __m256 set8(float x) { return _mm256_set1_ps(x); }
ZO_TARGET_AVX2 inline __m256 as_float8(__m256i x) { return _mm256_castsi256_ps(x); }
ZO_TARGET_AVX2 inline __m256i as_int8(__m256 x) { return _mm256_castps_si256(x); }
ZO_TARGET_AVX2 inline __m256i iset8(std::uint32_t x) {
  return _mm256_set1_epi32(static_cast<int>(x));
}

/// box_muller() of zo/direction.hpp on 8 lanes.
ZO_TARGET_AVX2 inline void box_muller8(__m256i a, __m256i b, __m256* z0, __m256* z1) {
  const __m256i mantissa = iset8(0x007FFFFFu);
  const __m256 u =
      _mm256_sub_ps(as_float8(_mm256_or_si256(_mm256_and_si256(a, mantissa), iset8(0x3F800000u))),
                    set8(0.99999994f));
  const __m256i ix = _mm256_sub_epi32(as_int8(u), iset8(0x3F3504F3u));
  const __m256 k = _mm256_cvtepi32_ps(_mm256_srai_epi32(ix, 23));
  const __m256 t = _mm256_sub_ps(
      as_float8(_mm256_add_epi32(_mm256_and_si256(ix, mantissa), iset8(0x3F3504F3u))), set8(1.0f));
  __m256 q = fma8(set8(kLogQ7), t, set8(kLogQ6));
  q = fma8(q, t, set8(kLogQ5));
  q = fma8(q, t, set8(kLogQ4));
  q = fma8(q, t, set8(kLogQ3));
  q = fma8(q, t, set8(kLogQ2));
  q = fma8(q, t, set8(kLogQ1));
  q = fma8(q, t, set8(kLogQ0));
  const __m256 log_m = _mm256_mul_ps(fma8(q, t, set8(-2.0f)), t);
  const __m256 w = fma8(k, set8(kNeg2Ln2), log_m);
  __m256 y = as_float8(_mm256_sub_epi32(iset8(kRsqrtMagic), _mm256_srli_epi32(as_int8(w), 1)));
  y = _mm256_mul_ps(y, fma8(_mm256_mul_ps(set8(-0.5f), w), _mm256_mul_ps(y, y), set8(1.5f)));
  const __m256 s = _mm256_mul_ps(w, y);
  const __m256 e = _mm256_fnmadd_ps(s, y, set8(1.0f));
  const __m256 r = fma8(_mm256_mul_ps(s, e), fma8(e, set8(0.375f), set8(0.5f)), s);
  const __m256 f = _mm256_sub_ps(
      as_float8(_mm256_or_si256(_mm256_and_si256(b, mantissa), iset8(0x40000000u))), set8(3.0f));
  const __m256 f2 = _mm256_mul_ps(f, f);
  __m256 sp = fma8(set8(kSin4), f2, set8(kSin3));
  sp = fma8(sp, f2, set8(kSin2));
  sp = fma8(sp, f2, set8(kSin1));
  sp = fma8(sp, f2, set8(kSin0));
  const __m256 sn = _mm256_mul_ps(sp, f);
  __m256 cp = fma8(set8(kCos4), f2, set8(kCos3));
  cp = fma8(cp, f2, set8(kCos2));
  cp = fma8(cp, f2, set8(kCos1));
  const __m256 cs = fma8(cp, f2, set8(1.0f));
  *z0 = as_float8(
      _mm256_xor_si256(as_int8(_mm256_mul_ps(r, cs)), _mm256_and_si256(a, iset8(0x80000000u))));
  *z1 = _mm256_mul_ps(r, sn);
}

/// Writes the 32 coordinates of blocks [block, block + 8) to out (unaligned). The caller
/// guarantees that the low 32 bits of block + 7 do not wrap.
ZO_TARGET_AVX2 inline void gaussian_8_blocks(const PhiloxKeys8& keys, DirectionKey key,
                                             std::uint64_t block, float* out) {
  const Philox8 w = philox8(keys, key, static_cast<std::uint32_t>(block),
                            static_cast<std::uint32_t>(block >> 32));
  __m256 z0, z1, z2, z3;
  box_muller8(w.v[0], w.v[1], &z0, &z1);
  box_muller8(w.v[2], w.v[3], &z2, &z3);
  const __m256 t0 = _mm256_unpacklo_ps(z0, z1);
  const __m256 t1 = _mm256_unpackhi_ps(z0, z1);
  const __m256 t2 = _mm256_unpacklo_ps(z2, z3);
  const __m256 t3 = _mm256_unpackhi_ps(z2, z3);
  // v_j holds block 4L + j in its 128-bit lane L (L = 0, 1).
  const __m256 v0 =
      _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
  const __m256 v1 =
      _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t0), _mm256_castps_pd(t2)));
  const __m256 v2 =
      _mm256_castpd_ps(_mm256_unpacklo_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  const __m256 v3 =
      _mm256_castpd_ps(_mm256_unpackhi_pd(_mm256_castps_pd(t1), _mm256_castps_pd(t3)));
  _mm256_storeu_ps(out, _mm256_permute2f128_ps(v0, v1, 0x20));       // blocks 0, 1
  _mm256_storeu_ps(out + 8, _mm256_permute2f128_ps(v2, v3, 0x20));   // blocks 2, 3
  _mm256_storeu_ps(out + 16, _mm256_permute2f128_ps(v0, v1, 0x31));  // blocks 4, 5
  _mm256_storeu_ps(out + 24, _mm256_permute2f128_ps(v2, v3, 0x31));  // blocks 6, 7
}

/// Block `block` of the directions (seeds[w], step, substream) of 8 runs, one run per lane,
/// written lane-minor: out[8·(4·block + i) + w] = coordinate 4·block + i of run w, i.e. the 32
/// floats at out + 32·block, each as gaussian4() would.
ZO_TARGET_AVX2 inline void gaussian_1_block_8_runs(const PhiloxKeys8& keys, std::uint32_t step,
                                                   std::uint32_t substream, std::uint64_t block,
                                                   float* out) {
  const Philox8 w =
      philox8_rounds(_mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(block))),
                     _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(block >> 32))),
                     _mm256_set1_epi32(static_cast<int>(step)),
                     _mm256_set1_epi32(static_cast<int>(substream)), keys);
  __m256 z0, z1, z2, z3;
  box_muller8(w.v[0], w.v[1], &z0, &z1);
  box_muller8(w.v[2], w.v[3], &z2, &z3);
  _mm256_storeu_ps(out, z0);
  _mm256_storeu_ps(out + 8, z1);
  _mm256_storeu_ps(out + 16, z2);
  _mm256_storeu_ps(out + 24, z3);
}

}  // namespace simd
}  // namespace detail
}  // namespace zo

#undef ZO_TARGET_AVX2
#undef ZO_TARGET_AVX512

#endif  // ZO_HAVE_X86_SIMD

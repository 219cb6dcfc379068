// Vector math shared by the AVX2 / AVX-512 fast paths: exp, tail masks and
// horizontal reductions. Scalar reference paths never use this file; they call
// std::exp and friends.
//
// exp (exp16 / exp8): Cephes expf. e^x = 2^n·e^r with n = round(x·log2 e)
// and r = x − n·ln 2 (Cody–Waite: ln 2 split in a 12-bit-exact high part and a
// low part), e^r = 1 + r + r²·P(r) with Cephes' degree-5 P on |r| ≤ ½ ln 2.
// Accuracy: ≤ 2 ulp in the normal range (measured 1.14 ulp max over
// [−87.3, 88.7]; asserted in test/kernels/ppo_loss.test.ts and
// cross_entropy.test.ts). Edges: x > 88.72 and +inf give +inf (2^n applied with
// correct overflow); x < −87.3365 (result below FLT_MIN) and −inf give 0 —
// flushed rather than denormal, because denormal operands take a microcode
// assist in the softmax loops that follow; NaN propagates.
#pragma once

// GCC 12 reports its own AVX-512 intrinsics (which start from an undefined
// register) as reading uninitialized values when they are inlined (GCC bug
// 105593, fixed in 13); the pragma covers the header's own lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

#include "cpu/cpu_features.h"

namespace lmkit::cpu::vec {

constexpr float kExpLo = -87.33654f;  // ln(FLT_MIN): below it e^x is flushed to 0
constexpr float kExpHi = 89.0f;       // past ln(FLT_MAX) = 88.72 the result is +inf anyway
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693145751953125f;     // ln 2 with 12 trailing zero bits: n·kLn2Hi is exact
constexpr float kLn2Lo = 1.428606765330187e-06f;  // ln 2 − kLn2Hi
// Cephes expf coefficients for (e^r − 1 − r)/r², highest degree first.
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f,
                kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

// Horizontal sum / max of 8 lanes (also used by the AVX-512 reductions).
LMKIT_TARGET_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

LMKIT_TARGET_AVX2 inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ------------------------------------------------------------------ AVX-512

// Lanes [0, n) of a 16-lane mask, n ≤ 16.
LMKIT_TARGET_AVX512 inline __mmask16 tailMask16(int64_t n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}

// Horizontal sum / max of 16 lanes: fold to 8, then as AVX2.
LMKIT_TARGET_AVX512 inline float hsum16(__m512 v) {
  return hsum8(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
LMKIT_TARGET_AVX512 inline float hmax16(__m512 v) {
  return hmax8(_mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

LMKIT_TARGET_AVX512 inline __m512 exp16(__m512 x) {
  // max/min return their second operand when one is NaN: NaN survives the clamp.
  const __m512 xc = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP5));
  const __m512 r2 = _mm512_mul_ps(r, r);
  const __m512 y = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // scalef computes y·2^n with correct overflow to +inf.
  const __m512 scaled = _mm512_scalef_ps(y, n);
  const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(kExpLo), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(under, scaled, _mm512_setzero_ps());
}

// ------------------------------------------------------------------ AVX2

// Lanes [0, n) set (all bits) in an 8-lane integer mask, n ≤ 8, for maskload/maskstore.
LMKIT_TARGET_AVX2 inline __m256i tailMask8(int64_t n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane);
}

LMKIT_TARGET_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP5));
  const __m256 r2 = _mm256_mul_ps(r, r);
  const __m256 y = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // n ∈ [−126, 129]: 2^n as 2^a·2^b, a = n>>1, b = n − a, each a normal float,
  // so overflow to +inf happens in the multiplies (NaN x: y is NaN, so is the product).
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i a = _mm256_srai_epi32(ni, 1);
  const __m256i b = _mm256_sub_epi32(ni, a);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 pa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23));
  const __m256 pb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23));
  const __m256 scaled = _mm256_mul_ps(_mm256_mul_ps(y, pa), pb);
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(kExpLo), _CMP_LT_OQ);
  return _mm256_andnot_ps(under, scaled);
}

}  // namespace lmkit::cpu::vec

// Vectorised float32 exp for the fast paths (AVX2 and AVX-512).
//
// exp(x) = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 split into a
// high and a low part (Cody–Waite, so r is exact to ~2^-32), |r| ≤ ½ ln 2.
// e^r comes from Cephes' expf minimax polynomial (degree 5 in r after 1 + r).
// Error ≤ 2 ulp for results in the normal range (measured max 1.14 ulp over
// [-87.3, 88.7]; test/kernels/ppo_loss.test.ts asserts ≤ 2); the scalar
// reference paths use std::exp instead.
// Special values: NaN → NaN, +inf and x > 88.7228 → +inf, −inf and x < −104 → 0.
// Results below FLT_MIN are denormal (AVX-512 via scalef) or may lose bits to
// double rounding (AVX2 splits 2^n in two factors); both are < 1.2e-38 off.
#pragma once

#include <immintrin.h>

#include "cpu/cpu_features.h"

namespace lmkit::cpu {

// Inputs are clamped to this range first: past it the result is 0 or inf
// anyway, and n stays small enough for the 2^n construction.
constexpr float kExpLo = -104.0f;
constexpr float kExpHi = 89.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693145751953125f;     // ln 2 with 12 trailing zero bits
constexpr float kLn2Lo = 1.428606765330187e-06f;  // ln 2 − kLn2Hi
// Cephes expf coefficients for (e^r − 1 − r)/r², highest degree first.
constexpr float kExpP0 = 1.9875691500e-4f;
constexpr float kExpP1 = 1.3981999507e-3f;
constexpr float kExpP2 = 8.3334519073e-3f;
constexpr float kExpP3 = 4.1665795894e-2f;
constexpr float kExpP4 = 1.6666665459e-1f;
constexpr float kExpP5 = 5.0000001201e-1f;

LMKIT_TARGET_AVX512 inline __m512 expAvx512(__m512 x) {
  // max/min return their second operand when either is NaN: NaN stays NaN.
  x = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP5));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  // scalef computes p·2^n with correct overflow to inf and gradual underflow.
  return _mm512_scalef_ps(p, n);
}

LMKIT_TARGET_AVX2 inline __m256 expAvx2(__m256 x) {
  x = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP5));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // n ∈ [−150, 129]: 2^n as 2^a·2^b with a = n>>1, b = n − a, each a normal
  // float, so overflow and underflow happen in the multiplies (NaN n gives
  // garbage factors, but p is NaN then and the product stays NaN).
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i a = _mm256_srai_epi32(ni, 1);
  const __m256i b = _mm256_sub_epi32(ni, a);
  const __m256i bias = _mm256_set1_epi32(127);
  const __m256 pa = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(a, bias), 23));
  const __m256 pb = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(b, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, pa), pb);
}

}  // namespace lmkit::cpu

// PPO losses: the clipped policy surrogate with a KL penalty, and the clipped
// value loss, each fused forward + gradient in one streaming pass.
//
// Policy (per token; all arrays [rows·cols], flat — the loss is token-level):
//   r = exp(logp − oldLogp),  p1 = −A·r,  p2 = −A·clip(r, 1−ε, 1+ε)
//   policy = max(p1, p2)            (= −min(r·A, clip(r)·A), TRL's pg_loss)
//   k1 = logp − refLogp,  k3 = exp(refLogp − logp) − 1 − (refLogp − logp)
//   loss = Σ mask·(policy + klCoef·k) / Σ mask
//   dlogp = mask/Σmask · (∂policy/∂logp + klCoef·∂k/∂logp)
// Stats: policyLoss, kl (masked mean of k; 0 without refLogp), approxKl
// (masked mean of ½(logp − oldLogp)²) and clipFrac = masked mean of
// [p2 > p1], TRL's pg_clipfrac: the tokens whose clipped term is the one max
// picks, i.e. r left [1−ε, 1+ε] on the side that removes the incentive.
//
// Value: vc = clamp(v, vOld − c, vOld + c), l1 = (v − R)², l2 = (vc − R)²;
//   loss = ½ Σ mask·max(l1, l2) / Σ mask, clipFrac = masked mean of [l2 > l1]
//   (TRL's vf_clipfrac).
//
// Gradients at ties follow torch's autograd of this composition: max splits
// the gradient half/half when its operands are equal, clamp passes it on the
// closed range [lo, hi]. So a tie inside the clip range gives the full
// unclipped gradient, a tie outside it (A = 0, or R midway between v and vc)
// gives half, and a strictly active clipped term gives exactly 0.
//
// Masking: mask is a weight (normally 0/1). Tokens with mask = 0 are skipped
// — their values, even NaN, never reach the loss and their gradient is 0
// (torch's mask·x would turn a NaN there into a NaN loss). An empty mask
// (Σ mask = 0) gives zero stats and zero gradients. NaN/Inf in a counted
// token propagates to the loss so the trainer's finite check fires; one
// exception is exact: if exp overflows where the clipped term is active the
// policy term is finite and its gradient 0 (torch's autograd gives 0·inf = NaN).
//
// Work split: two passes over fixed chunks of kGrain tokens: Σ mask, then
// everything else. Each chunk accumulates its partial sums in double; chunks
// are added in chunk order, so results do not depend on the thread count.
// The fast paths use a vectorised exp (cpu/vec_math.h, ≤ 2 ulp), so they may
// differ from the scalar reference by a few ulp, never across thread counts.
#include <immintrin.h>

#include <cmath>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "cpu/vec_math.h"
#include "kernels.h"

// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* is
// self-initialised on purpose; GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lmkit {
namespace {

constexpr int64_t kGrain = 8192;

struct Partial {
  double policy = 0, kl = 0, clipped = 0, approxKl = 0;
};

struct PolicyCtx {
  float* dlogp;
  const float *logp, *oldLogp, *refLogp, *adv, *mask;
  float lo, hi, klCoef, invDen;
};

struct ValueCtx {
  float* dvalues;
  const float *values, *oldValues, *returns, *mask;
  float clipRange, invDen;
};

// ---------------------------------------------------------------- scalar reference

double maskSumScalar(const float* mask, int64_t b, int64_t e) {
  double s = 0;
  for (int64_t i = b; i < e; ++i) s += mask[i];
  return s;
}

template <bool kHasRef, bool kK3>
Partial policyScalar(const PolicyCtx& c, int64_t b, int64_t e) {
  Partial acc;
  for (int64_t i = b; i < e; ++i) {
    const float m = c.mask[i];
    if (m == 0.0f) {
      c.dlogp[i] = 0.0f;
      continue;
    }
    const float d = c.logp[i] - c.oldLogp[i];
    const float r = std::exp(d);
    const float rc = std::min(std::max(r, c.lo), c.hi);
    const float negA = -c.adv[i];
    const float p1 = negA * r, p2 = negA * rc;
    const bool clipped = p2 > p1;
    const float policy = clipped ? p2 : p1;
    const bool inRange = r >= c.lo && r <= c.hi;
    // ∂policy/∂r by torch's rule for max(p1, p2) and clamp; NaN lands in the
    // last branch and propagates.
    float dpolicy;
    if (clipped) dpolicy = 0.0f;
    else if (p1 == p2) dpolicy = (inRange ? negA : 0.5f * negA) * r;
    else dpolicy = negA * r;
    float k = 0.0f, dk = 0.0f;
    if (kHasRef) {
      if (kK3) {
        const float x = c.refLogp[i] - c.logp[i];
        const float ex = std::exp(x);
        k = ex - 1.0f - x;
        dk = 1.0f - ex;
      } else {
        k = c.logp[i] - c.refLogp[i];
        dk = 1.0f;
      }
    }
    // klCoef = 0 keeps a non-finite k out of the gradient.
    const float dtotal = c.klCoef != 0.0f ? dpolicy + c.klCoef * dk : dpolicy;
    c.dlogp[i] = (c.invDen * m) * dtotal;
    acc.policy += m * policy;
    acc.kl += m * k;
    acc.clipped += clipped ? m : 0.0f;
    acc.approxKl += m * (0.5f * d * d);
  }
  return acc;
}

Partial valueScalar(const ValueCtx& c, int64_t b, int64_t e) {
  Partial acc;  // policy = Σ m·max(l1, l2), clipped = Σ m·[l2 > l1]
  for (int64_t i = b; i < e; ++i) {
    const float m = c.mask[i];
    if (m == 0.0f) {
      c.dvalues[i] = 0.0f;
      continue;
    }
    const float v = c.values[i];
    const float lo = c.oldValues[i] - c.clipRange, hi = c.oldValues[i] + c.clipRange;
    const float vc = std::min(std::max(v, lo), hi);
    const float e1 = v - c.returns[i], e2 = vc - c.returns[i];
    const float l1 = e1 * e1, l2 = e2 * e2;
    const bool clipped = l2 > l1;
    const bool inRange = v >= lo && v <= hi;
    // ∂(½·max)/∂v = w·(v − R) with w = 1, ½ at an out-of-range tie, 0 when clipped.
    float w;
    if (clipped) w = 0.0f;
    else if (l1 == l2) w = inRange ? 1.0f : 0.5f;
    else w = 1.0f;
    c.dvalues[i] = clipped ? 0.0f : (c.invDen * m) * (w * e1);
    acc.policy += m * (clipped ? l2 : l1);
    acc.clipped += clipped ? m : 0.0f;
  }
  return acc;
}

// ---------------------------------------------------------------- AVX-512

LMKIT_TARGET_AVX512 inline void addWide512(__m512d& lo, __m512d& hi, __m512 x) {
  lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
  hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1)));
}

LMKIT_TARGET_AVX512 inline double sumWide512(__m512d lo, __m512d hi) {
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

LMKIT_TARGET_AVX512 inline __mmask16 tailMask512(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
}

LMKIT_TARGET_AVX512 double maskSumAvx512(const float* mask, int64_t b, int64_t e) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = b; i < e; i += 16)
    addWide512(lo, hi, _mm512_maskz_loadu_ps(tailMask512(e - i), mask + i));
  return sumWide512(lo, hi);
}

template <bool kHasRef, bool kK3>
LMKIT_TARGET_AVX512 Partial policyAvx512(const PolicyCtx& c, int64_t b, int64_t e) {
  const __m512 lo = _mm512_set1_ps(c.lo), hi = _mm512_set1_ps(c.hi);
  const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f);
  const __m512 klCoef = _mm512_set1_ps(c.klCoef), invDen = _mm512_set1_ps(c.invDen);
  const bool useKl = kHasRef && c.klCoef != 0.0f;
  __m512d polLo = _mm512_setzero_pd(), polHi = polLo, klLo = polLo, klHi = polLo;
  __m512d clipLo = polLo, clipHi = polLo, akLo = polLo, akHi = polLo;
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 tail = tailMask512(e - i);
    const __m512 m = _mm512_maskz_loadu_ps(tail, c.mask + i);
    // NEQ_UQ: a NaN weight counts (and poisons the loss), as in the scalar path.
    const __mmask16 active = _mm512_mask_cmp_ps_mask(tail, m, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    const __m512 lp = _mm512_maskz_loadu_ps(active, c.logp + i);
    const __m512 d = _mm512_sub_ps(lp, _mm512_maskz_loadu_ps(active, c.oldLogp + i));
    const __m512 r = cpu::vec::exp16(d);
    const __m512 rc = _mm512_min_ps(hi, _mm512_max_ps(lo, r));  // keeps NaN r
    const __m512 negA = _mm512_sub_ps(_mm512_setzero_ps(), _mm512_maskz_loadu_ps(active, c.adv + i));
    const __m512 p1 = _mm512_mul_ps(negA, r), p2 = _mm512_mul_ps(negA, rc);
    const __mmask16 clipped = _mm512_cmp_ps_mask(p2, p1, _CMP_GT_OQ);
    const __mmask16 tie = _mm512_cmp_ps_mask(p1, p2, _CMP_EQ_OQ);
    const __mmask16 inRange =
        _mm512_cmp_ps_mask(r, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(r, hi, _CMP_LE_OQ);
    const __m512 policy = _mm512_mask_blend_ps(clipped, p1, p2);
    const __m512 w = _mm512_mask_blend_ps(tie & ~inRange, negA, _mm512_mul_ps(half, negA));
    __m512 dtotal = _mm512_maskz_mul_ps(~clipped, w, r);
    __m512 k = _mm512_setzero_ps();
    if (kHasRef) {
      const __m512 ref = _mm512_maskz_loadu_ps(active, c.refLogp + i);
      __m512 dk;
      if (kK3) {
        const __m512 x = _mm512_sub_ps(ref, lp);
        const __m512 ex = cpu::vec::exp16(x);
        k = _mm512_sub_ps(_mm512_sub_ps(ex, one), x);
        dk = _mm512_sub_ps(one, ex);
      } else {
        k = _mm512_sub_ps(lp, ref);
        dk = one;
      }
      if (useKl) dtotal = _mm512_add_ps(dtotal, _mm512_mul_ps(klCoef, dk));
    }
    const __m512 grad = _mm512_maskz_mul_ps(active, _mm512_mul_ps(invDen, m), dtotal);
    _mm512_mask_storeu_ps(c.dlogp + i, tail, grad);
    addWide512(polLo, polHi, _mm512_maskz_mul_ps(active, m, policy));
    if (kHasRef) addWide512(klLo, klHi, _mm512_maskz_mul_ps(active, m, k));
    addWide512(clipLo, clipHi, _mm512_maskz_mov_ps(active & clipped, m));
    addWide512(akLo, akHi, _mm512_maskz_mul_ps(active, m, _mm512_mul_ps(half, _mm512_mul_ps(d, d))));
  }
  Partial acc;
  acc.policy = sumWide512(polLo, polHi);
  acc.kl = sumWide512(klLo, klHi);
  acc.clipped = sumWide512(clipLo, clipHi);
  acc.approxKl = sumWide512(akLo, akHi);
  return acc;
}

LMKIT_TARGET_AVX512 Partial valueAvx512(const ValueCtx& c, int64_t b, int64_t e) {
  const __m512 clipRange = _mm512_set1_ps(c.clipRange), invDen = _mm512_set1_ps(c.invDen);
  const __m512 half = _mm512_set1_ps(0.5f);
  __m512d lossLo = _mm512_setzero_pd(), lossHi = lossLo, clipLo = lossLo, clipHi = lossLo;
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 tail = tailMask512(e - i);
    const __m512 m = _mm512_maskz_loadu_ps(tail, c.mask + i);
    const __mmask16 active = _mm512_mask_cmp_ps_mask(tail, m, _mm512_setzero_ps(), _CMP_NEQ_UQ);
    const __m512 v = _mm512_maskz_loadu_ps(active, c.values + i);
    const __m512 old = _mm512_maskz_loadu_ps(active, c.oldValues + i);
    const __m512 ret = _mm512_maskz_loadu_ps(active, c.returns + i);
    const __m512 lo = _mm512_sub_ps(old, clipRange), hi = _mm512_add_ps(old, clipRange);
    const __m512 vc = _mm512_min_ps(hi, _mm512_max_ps(lo, v));
    const __m512 e1 = _mm512_sub_ps(v, ret), e2 = _mm512_sub_ps(vc, ret);
    const __m512 l1 = _mm512_mul_ps(e1, e1), l2 = _mm512_mul_ps(e2, e2);
    const __mmask16 clipped = _mm512_cmp_ps_mask(l2, l1, _CMP_GT_OQ);
    const __mmask16 tie = _mm512_cmp_ps_mask(l1, l2, _CMP_EQ_OQ);
    const __mmask16 inRange =
        _mm512_cmp_ps_mask(v, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(v, hi, _CMP_LE_OQ);
    const __m512 we1 = _mm512_mask_mul_ps(e1, tie & ~inRange, half, e1);
    const __m512 grad = _mm512_maskz_mul_ps(active & ~clipped, _mm512_mul_ps(invDen, m), we1);
    _mm512_mask_storeu_ps(c.dvalues + i, tail, grad);
    addWide512(lossLo, lossHi, _mm512_maskz_mul_ps(active, m, _mm512_mask_blend_ps(clipped, l1, l2)));
    addWide512(clipLo, clipHi, _mm512_maskz_mov_ps(active & clipped, m));
  }
  Partial acc;
  acc.policy = sumWide512(lossLo, lossHi);
  acc.clipped = sumWide512(clipLo, clipHi);
  return acc;
}

// ---------------------------------------------------------------- AVX2

LMKIT_TARGET_AVX2 inline void addWide256(__m256d& lo, __m256d& hi, __m256 x) {
  lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
  hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
}

LMKIT_TARGET_AVX2 inline double sumWide256(__m256d lo, __m256d hi) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

// Lane j is loaded/stored when j < left (maskload reads nothing past it).
LMKIT_TARGET_AVX2 inline __m256i tailMask256(int64_t left) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int n = left >= 8 ? 8 : static_cast<int>(left);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

LMKIT_TARGET_AVX2 inline __m256 select256(__m256 mask, __m256 x) {
  return _mm256_and_ps(mask, x);
}

LMKIT_TARGET_AVX2 double maskSumAvx2(const float* mask, int64_t b, int64_t e) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  for (int64_t i = b; i < e; i += 8) addWide256(lo, hi, _mm256_maskload_ps(mask + i, tailMask256(e - i)));
  return sumWide256(lo, hi);
}

template <bool kHasRef, bool kK3>
LMKIT_TARGET_AVX2 Partial policyAvx2(const PolicyCtx& c, int64_t b, int64_t e) {
  const __m256 lo = _mm256_set1_ps(c.lo), hi = _mm256_set1_ps(c.hi);
  const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f), zero = _mm256_setzero_ps();
  const __m256 klCoef = _mm256_set1_ps(c.klCoef), invDen = _mm256_set1_ps(c.invDen);
  const bool useKl = kHasRef && c.klCoef != 0.0f;
  __m256d polLo = _mm256_setzero_pd(), polHi = polLo, klLo = polLo, klHi = polLo;
  __m256d clipLo = polLo, clipHi = polLo, akLo = polLo, akHi = polLo;
  for (int64_t i = b; i < e; i += 8) {
    const __m256i tail = tailMask256(e - i);
    const __m256 m = _mm256_maskload_ps(c.mask + i, tail);
    const __m256 active = _mm256_and_ps(_mm256_castsi256_ps(tail), _mm256_cmp_ps(m, zero, _CMP_NEQ_UQ));
    const __m256i activeI = _mm256_castps_si256(active);
    const __m256 lp = _mm256_maskload_ps(c.logp + i, activeI);
    const __m256 d = _mm256_sub_ps(lp, _mm256_maskload_ps(c.oldLogp + i, activeI));
    const __m256 r = cpu::vec::exp8(d);
    const __m256 rc = _mm256_min_ps(hi, _mm256_max_ps(lo, r));
    const __m256 negA = _mm256_sub_ps(zero, _mm256_maskload_ps(c.adv + i, activeI));
    const __m256 p1 = _mm256_mul_ps(negA, r), p2 = _mm256_mul_ps(negA, rc);
    const __m256 clipped = _mm256_cmp_ps(p2, p1, _CMP_GT_OQ);
    const __m256 tie = _mm256_cmp_ps(p1, p2, _CMP_EQ_OQ);
    const __m256 inRange = _mm256_and_ps(_mm256_cmp_ps(r, lo, _CMP_GE_OQ), _mm256_cmp_ps(r, hi, _CMP_LE_OQ));
    const __m256 policy = _mm256_blendv_ps(p1, p2, clipped);
    const __m256 w = _mm256_blendv_ps(negA, _mm256_mul_ps(half, negA), _mm256_andnot_ps(inRange, tie));
    __m256 dtotal = _mm256_andnot_ps(clipped, _mm256_mul_ps(w, r));
    __m256 k = zero;
    if (kHasRef) {
      const __m256 ref = _mm256_maskload_ps(c.refLogp + i, activeI);
      __m256 dk;
      if (kK3) {
        const __m256 x = _mm256_sub_ps(ref, lp);
        const __m256 ex = cpu::vec::exp8(x);
        k = _mm256_sub_ps(_mm256_sub_ps(ex, one), x);
        dk = _mm256_sub_ps(one, ex);
      } else {
        k = _mm256_sub_ps(lp, ref);
        dk = one;
      }
      if (useKl) dtotal = _mm256_add_ps(dtotal, _mm256_mul_ps(klCoef, dk));
    }
    const __m256 grad = select256(active, _mm256_mul_ps(_mm256_mul_ps(invDen, m), dtotal));
    // A masked store only for the tail: vmaskmovps stores are microcoded on AMD.
    if (i + 8 <= e) _mm256_storeu_ps(c.dlogp + i, grad);
    else _mm256_maskstore_ps(c.dlogp + i, tail, grad);
    addWide256(polLo, polHi, select256(active, _mm256_mul_ps(m, policy)));
    if (kHasRef) addWide256(klLo, klHi, select256(active, _mm256_mul_ps(m, k)));
    addWide256(clipLo, clipHi, select256(_mm256_and_ps(active, clipped), m));
    addWide256(akLo, akHi, select256(active, _mm256_mul_ps(m, _mm256_mul_ps(half, _mm256_mul_ps(d, d)))));
  }
  Partial acc;
  acc.policy = sumWide256(polLo, polHi);
  acc.kl = sumWide256(klLo, klHi);
  acc.clipped = sumWide256(clipLo, clipHi);
  acc.approxKl = sumWide256(akLo, akHi);
  return acc;
}

LMKIT_TARGET_AVX2 Partial valueAvx2(const ValueCtx& c, int64_t b, int64_t e) {
  const __m256 clipRange = _mm256_set1_ps(c.clipRange), invDen = _mm256_set1_ps(c.invDen);
  const __m256 half = _mm256_set1_ps(0.5f), zero = _mm256_setzero_ps();
  __m256d lossLo = _mm256_setzero_pd(), lossHi = lossLo, clipLo = lossLo, clipHi = lossLo;
  for (int64_t i = b; i < e; i += 8) {
    const __m256i tail = tailMask256(e - i);
    const __m256 m = _mm256_maskload_ps(c.mask + i, tail);
    const __m256 active = _mm256_and_ps(_mm256_castsi256_ps(tail), _mm256_cmp_ps(m, zero, _CMP_NEQ_UQ));
    const __m256i activeI = _mm256_castps_si256(active);
    const __m256 v = _mm256_maskload_ps(c.values + i, activeI);
    const __m256 old = _mm256_maskload_ps(c.oldValues + i, activeI);
    const __m256 ret = _mm256_maskload_ps(c.returns + i, activeI);
    const __m256 lo = _mm256_sub_ps(old, clipRange), hi = _mm256_add_ps(old, clipRange);
    const __m256 vc = _mm256_min_ps(hi, _mm256_max_ps(lo, v));
    const __m256 e1 = _mm256_sub_ps(v, ret), e2 = _mm256_sub_ps(vc, ret);
    const __m256 l1 = _mm256_mul_ps(e1, e1), l2 = _mm256_mul_ps(e2, e2);
    const __m256 clipped = _mm256_cmp_ps(l2, l1, _CMP_GT_OQ);
    const __m256 tie = _mm256_cmp_ps(l1, l2, _CMP_EQ_OQ);
    const __m256 inRange = _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ), _mm256_cmp_ps(v, hi, _CMP_LE_OQ));
    const __m256 we1 = _mm256_blendv_ps(e1, _mm256_mul_ps(half, e1), _mm256_andnot_ps(inRange, tie));
    const __m256 grad = select256(_mm256_andnot_ps(clipped, active), _mm256_mul_ps(_mm256_mul_ps(invDen, m), we1));
    if (i + 8 <= e) _mm256_storeu_ps(c.dvalues + i, grad);
    else _mm256_maskstore_ps(c.dvalues + i, tail, grad);
    addWide256(lossLo, lossHi, select256(active, _mm256_mul_ps(m, _mm256_blendv_ps(l1, l2, clipped))));
    addWide256(clipLo, clipHi, select256(_mm256_and_ps(active, clipped), m));
  }
  Partial acc;
  acc.policy = sumWide256(lossLo, lossHi);
  acc.clipped = sumWide256(clipLo, clipHi);
  return acc;
}

// ---------------------------------------------------------------- dispatch

double maskSum(const float* mask, int64_t n) {
  const int64_t tasks = (n + kGrain - 1) / kGrain;
  std::vector<double> partial(static_cast<size_t>(tasks), 0.0);
  const cpu::Isa isa = cpu::activeIsa();
  cpu::parallelRange(n, kGrain, [&](int64_t b, int64_t e) {
    double s;
    if (isa == cpu::Isa::Avx512) s = maskSumAvx512(mask, b, e);
    else if (isa == cpu::Isa::Avx2) s = maskSumAvx2(mask, b, e);
    else s = maskSumScalar(mask, b, e);
    partial[static_cast<size_t>(b / kGrain)] = s;
  });
  double total = 0;
  for (double s : partial) total += s;
  return total;
}

template <bool kHasRef, bool kK3>
Partial policyRange(const PolicyCtx& c, int64_t b, int64_t e) {
  switch (cpu::activeIsa()) {
    case cpu::Isa::Avx512: return policyAvx512<kHasRef, kK3>(c, b, e);
    case cpu::Isa::Avx2: return policyAvx2<kHasRef, kK3>(c, b, e);
    default: return policyScalar<kHasRef, kK3>(c, b, e);
  }
}

Partial valueRange(const ValueCtx& c, int64_t b, int64_t e) {
  switch (cpu::activeIsa()) {
    case cpu::Isa::Avx512: return valueAvx512(c, b, e);
    case cpu::Isa::Avx2: return valueAvx2(c, b, e);
    default: return valueScalar(c, b, e);
  }
}

// Runs `range` over fixed chunks and sums the partials in chunk order.
template <class Range>
Partial reduceChunks(int64_t n, Range&& range) {
  std::vector<Partial> partial(static_cast<size_t>((n + kGrain - 1) / kGrain));
  cpu::parallelRange(n, kGrain, [&](int64_t b, int64_t e) { partial[static_cast<size_t>(b / kGrain)] = range(b, e); });
  Partial total;
  for (const Partial& p : partial) {
    total.policy += p.policy;
    total.kl += p.kl;
    total.clipped += p.clipped;
    total.approxKl += p.approxKl;
  }
  return total;
}

void zero(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 0.0f;
}

}  // namespace

PpoStats ppoLoss(float* dlogp, const float* logp, const float* oldLogp, const float* refLogp,
                 const float* advantages, const float* mask, const PpoOptions& o) {
  const int64_t n = o.rows * o.cols;
  PpoStats stats{0, 0, 0, 0, 0};
  const double den = maskSum(mask, n);
  if (den == 0.0) {
    zero(dlogp, n);
    return stats;
  }
  PolicyCtx c{dlogp, logp, oldLogp, refLogp, advantages, mask,
              1.0f - o.clipEps, 1.0f + o.clipEps, o.klCoef, static_cast<float>(1.0 / den)};
  Partial sum;
  if (refLogp == nullptr) sum = reduceChunks(n, [&](int64_t b, int64_t e) { return policyRange<false, false>(c, b, e); });
  else if (o.klMode == KlMode::K3) sum = reduceChunks(n, [&](int64_t b, int64_t e) { return policyRange<true, true>(c, b, e); });
  else sum = reduceChunks(n, [&](int64_t b, int64_t e) { return policyRange<true, false>(c, b, e); });
  stats.policyLoss = sum.policy / den;
  stats.kl = sum.kl / den;
  stats.loss = o.klCoef != 0.0f ? stats.policyLoss + static_cast<double>(o.klCoef) * stats.kl : stats.policyLoss;
  stats.clipFrac = sum.clipped / den;
  stats.approxKl = sum.approxKl / den;
  return stats;
}

ValueLossStats valueLoss(float* dvalues, const float* values, const float* oldValues,
                         const float* returns, const float* mask, int64_t n, float clipRange) {
  ValueLossStats stats{0, 0};
  const double den = maskSum(mask, n);
  if (den == 0.0) {
    zero(dvalues, n);
    return stats;
  }
  ValueCtx c{dvalues, values, oldValues, returns, mask, clipRange, static_cast<float>(1.0 / den)};
  const Partial sum = reduceChunks(n, [&](int64_t b, int64_t e) { return valueRange(c, b, e); });
  stats.loss = 0.5 * sum.policy / den;
  stats.clipFrac = sum.clipped / den;
  return stats;
}

}  // namespace lmkit

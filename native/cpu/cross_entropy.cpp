// Softmax cross-entropy and token log-probs over rows of V = vocab logits.
//
// Every row starts with the same stable statistics (x = logits[r]):
//   m = max_j x_j,  u_j = x_j − m ≤ 0,  e_j = exp(u_j),  s = Σ_j e_j ≥ 1
//   lse = m + log s,  log p_j = u_j − log s,  p_j = e_j / s
// Subtracting m keeps every exp in (0, 1], so logits of ±1e4 neither overflow
// nor lose the row; log is taken once per row, never per element.
//
// softmaxCrossEntropy, target t, smoothing ε (PyTorch's label_smoothing):
//   loss_r = (1−ε)·(lse − x_t) + ε·(lse − Σ_j x_j / V)
//   loss   = Σ_counted loss_r / count   (count = rows whose t ≠ ignoreIndex; 0 if none)
//   ∂loss/∂x_j = (p_j − ε/V − (1−ε)·[j = t]) / count,  0 on ignored rows
// tokenLogProbs: logp_r = x_t − lse;  entropy H_r = −Σ p_j log p_j = log s − Σ_j e_j u_j / s
//   (written in u so a peaked row does not cancel lse against Σ p x).
// tokenLogProbsBackward, with gradients a = dlogp_r, h = dentropy_r:
//   ∂/∂x_j = a·([j = t] − p_j) − h·p_j·(log p_j + H)
//          = −p_j·(a + h·(H − log s) + h·u_j) + a·[j = t]
//
// Passes per row: (1) max (and Σx for smoothing); (2) e_j, summed, and stored
// into dlogits when a gradient is wanted; (3) the gradient, from the stored
// e_j. A 50257-float row is 200 KB, so passes 2–3 re-read it from L2 and
// DRAM sees the logits once (plus dlogits once). The fast paths use the
// polynomial exp of vec_math.h (relative error ≤ 1.2e-7).
//
// Work split: tasks of rowGrain(V) rows; each row's outputs belong to one
// task. Per-row losses are kept in double and summed in row order after the
// parallel loop, so the loss bits do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace lmkit {
namespace {

using cpu::Isa;

// ~16k logits per task; one row per task at LM vocab sizes.
int64_t rowGrain(int64_t vocab) { return std::max<int64_t>(1, 16384 / vocab); }

struct RowStats {
  float max;      // m
  double sumExp;  // s
  double sumX;    // Σ x_j          (kSumX)
  double sumEU;   // Σ e_j·u_j      (kSumEU)
};

// ------------------------------------------------------------------ scalar reference

// Passes 1–2; stores e_j into expOut when kStore.
template <bool kSumX, bool kStore, bool kSumEU>
RowStats rowStatsScalar(const float* x, int64_t V, float* expOut) {
  RowStats st{-std::numeric_limits<float>::infinity(), 0.0, 0.0, 0.0};
  for (int64_t j = 0; j < V; ++j) {
    st.max = std::max(st.max, x[j]);
    if (kSumX) st.sumX += x[j];
  }
  for (int64_t j = 0; j < V; ++j) {
    const float u = x[j] - st.max;
    const float e = std::exp(u);
    st.sumExp += e;
    if (kSumEU) st.sumEU += static_cast<double>(e) * u;
    if (kStore) expOut[j] = e;
  }
  return st;
}

// dl_j = e_j·mul + add, in place over the stored e_j.
void affineRowScalar(float* dl, int64_t V, float mul, float add) {
  for (int64_t j = 0; j < V; ++j) dl[j] = dl[j] * mul + add;
}

// dl_j = −e_j·invS·(c + h·(x_j − m)), in place over the stored e_j.
void logProbGradRowScalar(float* dl, const float* x, int64_t V, float m, float invS, float c, float h) {
  for (int64_t j = 0; j < V; ++j) dl[j] = -dl[j] * invS * (c + h * (x[j] - m));
}

// ------------------------------------------------------------------ AVX-512

template <bool kSumX, bool kStore, bool kSumEU>
LMKIT_TARGET_AVX512 RowStats rowStatsAvx512(const float* x, int64_t V, float* expOut) {
  const __m512 negInf = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  __m512 vmax0 = negInf, vmax1 = negInf, sx = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 32 <= V; j += 32) {  // two chains hide the max latency
    const __m512 a = _mm512_loadu_ps(x + j), b = _mm512_loadu_ps(x + j + 16);
    vmax0 = _mm512_max_ps(vmax0, a);
    vmax1 = _mm512_max_ps(vmax1, b);
    if (kSumX) sx = _mm512_add_ps(sx, _mm512_add_ps(a, b));
  }
  for (; j < V; j += 16) {
    const __mmask16 k = j + 16 <= V ? __mmask16(0xFFFF) : cpu::vec::tailMask16(V - j);
    const __m512 a = _mm512_mask_loadu_ps(negInf, k, x + j);
    vmax0 = _mm512_max_ps(vmax0, a);
    if (kSumX) sx = _mm512_mask_add_ps(sx, k, sx, a);
  }
  RowStats st{};
  st.max = cpu::vec::hmax16(_mm512_max_ps(vmax0, vmax1));
  st.sumX = kSumX ? cpu::vec::hsum16(sx) : 0.0;
  const __m512 vm = _mm512_set1_ps(st.max);
  __m512 se = _mm512_setzero_ps(), seu = _mm512_setzero_ps();
  for (j = 0; j < V; j += 16) {
    const __mmask16 k = j + 16 <= V ? __mmask16(0xFFFF) : cpu::vec::tailMask16(V - j);
    const __m512 u = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vm);
    const __m512 e = _mm512_maskz_mov_ps(k, cpu::vec::exp16(u));  // masked lanes add 0
    se = _mm512_add_ps(se, e);
    if (kSumEU) seu = _mm512_fmadd_ps(e, u, seu);
    if (kStore) _mm512_mask_storeu_ps(expOut + j, k, e);
  }
  st.sumExp = cpu::vec::hsum16(se);
  st.sumEU = kSumEU ? cpu::vec::hsum16(seu) : 0.0;
  return st;
}

LMKIT_TARGET_AVX512 void affineRowAvx512(float* dl, int64_t V, float mul, float add) {
  const __m512 vmul = _mm512_set1_ps(mul), vadd = _mm512_set1_ps(add);
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 k = j + 16 <= V ? __mmask16(0xFFFF) : cpu::vec::tailMask16(V - j);
    _mm512_mask_storeu_ps(dl + j, k, _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, dl + j), vmul, vadd));
  }
}

LMKIT_TARGET_AVX512 void logProbGradRowAvx512(float* dl, const float* x, int64_t V, float m,
                                              float invS, float c, float h) {
  const __m512 vm = _mm512_set1_ps(m), vNegInvS = _mm512_set1_ps(-invS);
  const __m512 vc = _mm512_set1_ps(c), vh = _mm512_set1_ps(h);
  for (int64_t j = 0; j < V; j += 16) {
    const __mmask16 k = j + 16 <= V ? __mmask16(0xFFFF) : cpu::vec::tailMask16(V - j);
    const __m512 u = _mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vm);
    const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, dl + j), vNegInvS);  // −p_j
    _mm512_mask_storeu_ps(dl + j, k, _mm512_mul_ps(p, _mm512_fmadd_ps(vh, u, vc)));
  }
}

// ------------------------------------------------------------------ AVX2

template <bool kSumX, bool kStore, bool kSumEU>
LMKIT_TARGET_AVX2 RowStats rowStatsAvx2(const float* x, int64_t V, float* expOut) {
  const __m256 negInf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  const __m256i full = _mm256_set1_epi32(-1);
  __m256 vmax0 = negInf, vmax1 = negInf, sx = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= V; j += 16) {
    const __m256 a = _mm256_loadu_ps(x + j), b = _mm256_loadu_ps(x + j + 8);
    vmax0 = _mm256_max_ps(vmax0, a);
    vmax1 = _mm256_max_ps(vmax1, b);
    if (kSumX) sx = _mm256_add_ps(sx, _mm256_add_ps(a, b));
  }
  for (; j < V; j += 8) {
    const __m256i k = j + 8 <= V ? full : cpu::vec::tailMask8(V - j);
    const __m256 a = _mm256_maskload_ps(x + j, k);  // masked lanes 0: fine for Σx
    vmax0 = _mm256_max_ps(vmax0, _mm256_blendv_ps(negInf, a, _mm256_castsi256_ps(k)));
    if (kSumX) sx = _mm256_add_ps(sx, a);
  }
  RowStats st{};
  st.max = cpu::vec::hmax8(_mm256_max_ps(vmax0, vmax1));
  st.sumX = kSumX ? cpu::vec::hsum8(sx) : 0.0;
  const __m256 vm = _mm256_set1_ps(st.max);
  __m256 se = _mm256_setzero_ps(), seu = _mm256_setzero_ps();
  // Whole vectors, then one masked tail (masked stores are microcoded on AMD).
  for (j = 0; j + 8 <= V; j += 8) {
    const __m256 u = _mm256_sub_ps(_mm256_loadu_ps(x + j), vm);
    const __m256 e = cpu::vec::exp8(u);
    se = _mm256_add_ps(se, e);
    if (kSumEU) seu = _mm256_fmadd_ps(e, u, seu);
    if (kStore) _mm256_storeu_ps(expOut + j, e);
  }
  if (j < V) {
    const __m256i k = cpu::vec::tailMask8(V - j);
    const __m256 u = _mm256_sub_ps(_mm256_maskload_ps(x + j, k), vm);
    const __m256 e = _mm256_and_ps(cpu::vec::exp8(u), _mm256_castsi256_ps(k));
    se = _mm256_add_ps(se, e);
    if (kSumEU) seu = _mm256_fmadd_ps(e, u, seu);
    if (kStore) _mm256_maskstore_ps(expOut + j, k, e);
  }
  st.sumExp = cpu::vec::hsum8(se);
  st.sumEU = kSumEU ? cpu::vec::hsum8(seu) : 0.0;
  return st;
}

LMKIT_TARGET_AVX2 void affineRowAvx2(float* dl, int64_t V, float mul, float add) {
  const __m256 vmul = _mm256_set1_ps(mul), vadd = _mm256_set1_ps(add);
  int64_t j = 0;
  for (; j + 8 <= V; j += 8) _mm256_storeu_ps(dl + j, _mm256_fmadd_ps(_mm256_loadu_ps(dl + j), vmul, vadd));
  if (j < V) {
    const __m256i k = cpu::vec::tailMask8(V - j);
    _mm256_maskstore_ps(dl + j, k, _mm256_fmadd_ps(_mm256_maskload_ps(dl + j, k), vmul, vadd));
  }
}

LMKIT_TARGET_AVX2 void logProbGradRowAvx2(float* dl, const float* x, int64_t V, float m, float invS,
                                          float c, float h) {
  const __m256 vm = _mm256_set1_ps(m), vNegInvS = _mm256_set1_ps(-invS);
  const __m256 vc = _mm256_set1_ps(c), vh = _mm256_set1_ps(h);
  int64_t j = 0;
  for (; j + 8 <= V; j += 8) {
    const __m256 u = _mm256_sub_ps(_mm256_loadu_ps(x + j), vm);
    const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(dl + j), vNegInvS);  // −p_j
    _mm256_storeu_ps(dl + j, _mm256_mul_ps(p, _mm256_fmadd_ps(vh, u, vc)));
  }
  if (j < V) {
    const __m256i k = cpu::vec::tailMask8(V - j);
    const __m256 u = _mm256_sub_ps(_mm256_maskload_ps(x + j, k), vm);
    const __m256 p = _mm256_mul_ps(_mm256_maskload_ps(dl + j, k), vNegInvS);
    _mm256_maskstore_ps(dl + j, k, _mm256_mul_ps(p, _mm256_fmadd_ps(vh, u, vc)));
  }
}

// ------------------------------------------------------------------ dispatch

template <bool kSumX, bool kStore, bool kSumEU>
RowStats rowStats(Isa isa, const float* x, int64_t V, float* expOut) {
  if (isa == Isa::Avx512) return rowStatsAvx512<kSumX, kStore, kSumEU>(x, V, expOut);
  if (isa == Isa::Avx2) return rowStatsAvx2<kSumX, kStore, kSumEU>(x, V, expOut);
  return rowStatsScalar<kSumX, kStore, kSumEU>(x, V, expOut);
}

void affineRow(Isa isa, float* dl, int64_t V, float mul, float add) {
  if (isa == Isa::Avx512) affineRowAvx512(dl, V, mul, add);
  else if (isa == Isa::Avx2) affineRowAvx2(dl, V, mul, add);
  else affineRowScalar(dl, V, mul, add);
}

void logProbGradRow(Isa isa, float* dl, const float* x, int64_t V, float m, float invS, float c,
                    float h) {
  if (isa == Isa::Avx512) logProbGradRowAvx512(dl, x, V, m, invS, c, h);
  else if (isa == Isa::Avx2) logProbGradRowAvx2(dl, x, V, m, invS, c, h);
  else logProbGradRowScalar(dl, x, V, m, invS, c, h);
}

// One cross-entropy row; returns loss_r and, when dl is given, writes its gradient
// (already divided by count: `scale` = 1/count).
template <bool kSmooth, bool kGrad>
double crossEntropyRow(Isa isa, float* dl, const float* x, int32_t t, int64_t V, float eps,
                       float scale) {
  const RowStats st = rowStats<kSmooth, kGrad, false>(isa, x, V, dl);
  const double logS = std::log(st.sumExp);
  const double lse = st.max + logS;
  double loss = lse - x[t];
  if (kSmooth) loss = (1.0 - eps) * loss + eps * (lse - st.sumX / V);
  if (kGrad) {
    const float smoothShare = kSmooth ? eps / static_cast<float>(V) : 0.0f;
    affineRow(isa, dl, V, static_cast<float>(scale / st.sumExp), -smoothShare * scale);
    dl[t] -= (1.0f - eps) * scale;
  }
  return loss;
}

}  // namespace

CrossEntropyStats softmaxCrossEntropy(float* dlogits, float* losses, const float* logits,
                                      const int32_t* targets, int64_t rows, int64_t vocab,
                                      int32_t ignoreIndex, float labelSmoothing) {
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r) count += targets[r] != ignoreIndex;
  const float scale = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
  const bool smooth = labelSmoothing != 0.0f;
  const Isa isa = cpu::activeIsa();
  std::vector<double> rowLoss(static_cast<size_t>(rows), 0.0);

  cpu::parallelRange(rows, rowGrain(vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * vocab;
      float* dl = dlogits ? dlogits + r * vocab : nullptr;
      const int32_t t = targets[r];
      if (t == ignoreIndex) {
        if (dl) std::memset(dl, 0, sizeof(float) * vocab);
        continue;
      }
      const float e = labelSmoothing;
      double loss;
      if (smooth) loss = dl ? crossEntropyRow<true, true>(isa, dl, x, t, vocab, e, scale)
                            : crossEntropyRow<true, false>(isa, dl, x, t, vocab, e, scale);
      else loss = dl ? crossEntropyRow<false, true>(isa, dl, x, t, vocab, 0.0f, scale)
                     : crossEntropyRow<false, false>(isa, dl, x, t, vocab, 0.0f, scale);
      rowLoss[r] = loss;
    }
  });

  double sum = 0.0;
  for (int64_t r = 0; r < rows; ++r) sum += rowLoss[r];  // row order: thread-count independent
  if (losses)
    for (int64_t r = 0; r < rows; ++r) losses[r] = static_cast<float>(rowLoss[r]);
  return {count > 0 ? sum / static_cast<double>(count) : 0.0, count};
}

void tokenLogProbs(float* logp, float* entropy, const float* logits, const int32_t* targets,
                   int64_t rows, int64_t vocab) {
  const Isa isa = cpu::activeIsa();
  cpu::parallelRange(rows, rowGrain(vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * vocab;
      const RowStats st = entropy ? rowStats<false, false, true>(isa, x, vocab, nullptr)
                                  : rowStats<false, false, false>(isa, x, vocab, nullptr);
      const double logS = std::log(st.sumExp);
      logp[r] = static_cast<float>((static_cast<double>(x[targets[r]]) - st.max) - logS);
      if (entropy) entropy[r] = static_cast<float>(logS - st.sumEU / st.sumExp);
    }
  });
}

void tokenLogProbsBackward(float* dlogits, const float* logits, const int32_t* targets,
                           const float* dlogp, const float* dentropy, int64_t rows, int64_t vocab) {
  const Isa isa = cpu::activeIsa();
  cpu::parallelRange(rows, rowGrain(vocab), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* x = logits + r * vocab;
      float* dl = dlogits + r * vocab;
      const float a = dlogp[r];
      const float h = dentropy ? dentropy[r] : 0.0f;
      double c = a;
      RowStats st;
      if (dentropy) {
        st = rowStats<false, true, true>(isa, x, vocab, dl);
        const double logS = std::log(st.sumExp);
        const double H = logS - st.sumEU / st.sumExp;
        c += h * (H - logS);
      } else {
        st = rowStats<false, true, false>(isa, x, vocab, dl);
      }
      logProbGradRow(isa, dl, x, vocab, st.max, static_cast<float>(1.0 / st.sumExp),
                     static_cast<float>(c), h);
      dl[targets[r]] += a;
    }
  });
}

}  // namespace lmkit

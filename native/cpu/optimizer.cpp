// AdamW step and global gradient-norm clipping.
//
// adamwStep, elementwise over [n], in torch.optim.AdamW's order (1.13,
// single-tensor path) with its float32 roundings; the scalars are computed in
// double as Python does and rounded to float once, as torch's kernels do:
//   p ← p·(1 − lr·wd)                        (wd = 0 where decayMask[i] = 0)
//   m ← fma(g, 1 − β1, m·β1)
//   v ← fma((1 − β2)·g, g, v·β2)
//   denom = sqrt(v) / sqrt(1 − β2^t) + eps
//   p ← p + ((−lr / (1 − β1^t))·m) / denom
// The FMAs are torch's: its AVX2 kernels (what Debian's torch 1.13 runs here)
// fuse both moment updates, and without them m, which cancels, drifts by
// hundreds of ulp from torch's. The scalar reference uses std::fma, the
// vector paths the same operations lane by lane (the build passes
// -ffp-contract=off so the compiler adds no FMAs of its own), so every ISA
// gives the same bits — and torch's: the 5-step fixtures match exactly.
//
// clipGradNorm: norm = sqrt(Σ_buffers Σ_i g_i²) accumulated in double over
// fixed chunks (kNormGrain elements of one buffer each), partials summed in
// chunk order: deterministic for any thread count. Like
// torch.nn.utils.clip_grad_norm_, coef = maxNorm / (norm + 1e-6) and the
// buffers are scaled by coef when coef < 1. A non-finite norm is returned
// and nothing is scaled, so the caller can skip the step.
#include <immintrin.h>

#include <cmath>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "kernels.h"

// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* is
// self-initialised on purpose; GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lmkit {
namespace {

constexpr int64_t kAdamGrain = 16384;
constexpr int64_t kNormGrain = 16384;

struct AdamScalars {
  float decay;    // 1 − lr·wd
  float beta1, oneMinusBeta1, beta2, oneMinusBeta2;
  float bc2Sqrt;  // sqrt(1 − β2^t)
  float eps;
  float negStepSize;  // −lr / (1 − β1^t)
};

AdamScalars adamScalars(const AdamWOptions& o) {
  const double t = static_cast<double>(o.step);
  AdamScalars s;
  s.decay = static_cast<float>(1.0 - o.lr * o.weightDecay);
  s.beta1 = static_cast<float>(o.beta1);
  s.oneMinusBeta1 = static_cast<float>(1.0 - o.beta1);
  s.beta2 = static_cast<float>(o.beta2);
  s.oneMinusBeta2 = static_cast<float>(1.0 - o.beta2);
  s.bc2Sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, t)));
  s.eps = static_cast<float>(o.eps);
  s.negStepSize = static_cast<float>(-(o.lr / (1.0 - std::pow(o.beta1, t))));
  return s;
}

// ---------------------------------------------------------------- scalar reference

void adamScalar(float* param, float* m, float* v, const float* grad, const uint8_t* decayMask,
                const AdamScalars& s, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) {
    const float g = grad[i];
    float p = param[i];
    if (decayMask == nullptr || decayMask[i] != 0) p = p * s.decay;
    const float mi = std::fma(g, s.oneMinusBeta1, m[i] * s.beta1);
    const float vi = std::fma(s.oneMinusBeta2 * g, g, v[i] * s.beta2);
    const float denom = std::sqrt(vi) / s.bc2Sqrt + s.eps;
    param[i] = p + (s.negStepSize * mi) / denom;
    m[i] = mi;
    v[i] = vi;
  }
}

double sumSquaresScalar(const float* g, int64_t b, int64_t e) {
  double s = 0.0;
  for (int64_t i = b; i < e; ++i) s += static_cast<double>(g[i]) * g[i];
  return s;
}

void scaleScalar(float* g, float coef, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; ++i) g[i] *= coef;
}

// ---------------------------------------------------------------- AVX-512

LMKIT_TARGET_AVX512 void adamAvx512(float* param, float* m, float* v, const float* grad,
                                    const uint8_t* decayMask, const AdamScalars& s, int64_t b,
                                    int64_t e) {
  const __m512 decay = _mm512_set1_ps(s.decay), beta1 = _mm512_set1_ps(s.beta1);
  const __m512 omb1 = _mm512_set1_ps(s.oneMinusBeta1), beta2 = _mm512_set1_ps(s.beta2);
  const __m512 omb2 = _mm512_set1_ps(s.oneMinusBeta2), bc2 = _mm512_set1_ps(s.bc2Sqrt);
  const __m512 eps = _mm512_set1_ps(s.eps), negStep = _mm512_set1_ps(s.negStepSize);
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 k = e - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (e - i)) - 1u);
    const __m512 g = _mm512_maskz_loadu_ps(k, grad + i);
    __m512 p = _mm512_maskz_loadu_ps(k, param + i);
    __mmask16 decayLanes = k;
    if (decayMask != nullptr) {
      const __m128i bytes = _mm_maskz_loadu_epi8(k, decayMask + i);
      decayLanes = _mm_mask_cmpneq_epi8_mask(k, bytes, _mm_setzero_si128());
    }
    p = _mm512_mask_mul_ps(p, decayLanes, p, decay);
    const __m512 mi = _mm512_fmadd_ps(g, omb1, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, m + i), beta1));
    const __m512 vi = _mm512_fmadd_ps(_mm512_mul_ps(omb2, g), g, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, v + i), beta2));
    const __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2), eps);
    p = _mm512_add_ps(p, _mm512_div_ps(_mm512_mul_ps(negStep, mi), denom));
    _mm512_mask_storeu_ps(param + i, k, p);
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
  }
}

LMKIT_TARGET_AVX512 double sumSquaresAvx512(const float* g, int64_t b, int64_t e) {
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 k = e - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (e - i)) - 1u);
    const __m512 x = _mm512_maskz_loadu_ps(k, g + i);
    const __m512d xl = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    const __m512d xh = _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1));
    lo = _mm512_fmadd_pd(xl, xl, lo);
    hi = _mm512_fmadd_pd(xh, xh, hi);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(lo, hi));
}

LMKIT_TARGET_AVX512 void scaleAvx512(float* g, float coef, int64_t b, int64_t e) {
  const __m512 c = _mm512_set1_ps(coef);
  for (int64_t i = b; i < e; i += 16) {
    const __mmask16 k = e - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (e - i)) - 1u);
    _mm512_mask_storeu_ps(g + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), c));
  }
}

// ---------------------------------------------------------------- AVX2

LMKIT_TARGET_AVX2 void adamAvx2(float* param, float* m, float* v, const float* grad,
                                const uint8_t* decayMask, const AdamScalars& s, int64_t b, int64_t e) {
  const __m256 decay = _mm256_set1_ps(s.decay), beta1 = _mm256_set1_ps(s.beta1);
  const __m256 omb1 = _mm256_set1_ps(s.oneMinusBeta1), beta2 = _mm256_set1_ps(s.beta2);
  const __m256 omb2 = _mm256_set1_ps(s.oneMinusBeta2), bc2 = _mm256_set1_ps(s.bc2Sqrt);
  const __m256 eps = _mm256_set1_ps(s.eps), negStep = _mm256_set1_ps(s.negStepSize);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    const __m256 g = _mm256_loadu_ps(grad + i);
    __m256 p = _mm256_loadu_ps(param + i);
    __m256 pd = _mm256_mul_ps(p, decay);
    if (decayMask != nullptr) {
      // Widen 8 mask bytes to 8 lanes of all-ones where the byte is nonzero.
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(decayMask + i));
      const __m256i lanes = _mm256_cvtepu8_epi32(bytes);
      const __m256 keep = _mm256_castsi256_ps(_mm256_cmpeq_epi32(lanes, _mm256_setzero_si256()));
      pd = _mm256_blendv_ps(pd, p, keep);
    }
    p = pd;
    const __m256 mi = _mm256_fmadd_ps(g, omb1, _mm256_mul_ps(_mm256_loadu_ps(m + i), beta1));
    const __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(omb2, g), g, _mm256_mul_ps(_mm256_loadu_ps(v + i), beta2));
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2), eps);
    p = _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(negStep, mi), denom));
    _mm256_storeu_ps(param + i, p);
    _mm256_storeu_ps(m + i, mi);
    _mm256_storeu_ps(v + i, vi);
  }
  adamScalar(param, m, v, grad, decayMask, s, i, e);
}

LMKIT_TARGET_AVX2 double sumSquaresAvx2(const float* g, int64_t b, int64_t e) {
  __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
  int64_t i = b;
  for (; i + 8 <= e; i += 8) {
    const __m256 x = _mm256_loadu_ps(g + i);
    const __m256d xl = _mm256_cvtps_pd(_mm256_castps256_ps128(x));
    const __m256d xh = _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1));
    lo = _mm256_fmadd_pd(xl, xl, lo);
    hi = _mm256_fmadd_pd(xh, xh, hi);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(lo, hi));
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + sumSquaresScalar(g, i, e);
}

LMKIT_TARGET_AVX2 void scaleAvx2(float* g, float coef, int64_t b, int64_t e) {
  const __m256 c = _mm256_set1_ps(coef);
  int64_t i = b;
  for (; i + 8 <= e; i += 8) _mm256_storeu_ps(g + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), c));
  scaleScalar(g, coef, i, e);
}

// One chunk of one buffer: the unit of work for the norm and the scaling.
struct Chunk {
  int64_t buffer, begin, end;
};

std::vector<Chunk> chunksOf(const int64_t* sizes, int64_t count) {
  std::vector<Chunk> chunks;
  for (int64_t bi = 0; bi < count; ++bi)
    for (int64_t b = 0; b < sizes[bi]; b += kNormGrain)
      chunks.push_back({bi, b, b + kNormGrain < sizes[bi] ? b + kNormGrain : sizes[bi]});
  return chunks;
}

}  // namespace

void adamwStep(float* param, float* m, float* v, const float* grad, const uint8_t* decayMask,
               int64_t n, const AdamWOptions& o) {
  const AdamScalars s = adamScalars(o);
  const cpu::Isa isa = cpu::activeIsa();
  cpu::parallelRange(n, kAdamGrain, [&](int64_t b, int64_t e) {
    if (isa == cpu::Isa::Avx512) adamAvx512(param, m, v, grad, decayMask, s, b, e);
    else if (isa == cpu::Isa::Avx2) adamAvx2(param, m, v, grad, decayMask, s, b, e);
    else adamScalar(param, m, v, grad, decayMask, s, b, e);
  });
}

double clipGradNorm(float* const* grads, const int64_t* sizes, int64_t count, double maxNorm) {
  const std::vector<Chunk> chunks = chunksOf(sizes, count);
  const int64_t tasks = static_cast<int64_t>(chunks.size());
  std::vector<double> partial(chunks.size(), 0.0);
  const cpu::Isa isa = cpu::activeIsa();
  cpu::parallelFor(tasks, [&](int64_t t) {
    const Chunk& c = chunks[static_cast<size_t>(t)];
    const float* g = grads[c.buffer];
    double s;
    if (isa == cpu::Isa::Avx512) s = sumSquaresAvx512(g, c.begin, c.end);
    else if (isa == cpu::Isa::Avx2) s = sumSquaresAvx2(g, c.begin, c.end);
    else s = sumSquaresScalar(g, c.begin, c.end);
    partial[static_cast<size_t>(t)] = s;
  });
  double total = 0.0;
  for (double s : partial) total += s;
  const double norm = std::sqrt(total);
  if (!std::isfinite(norm)) return norm;
  const double coef = maxNorm / (norm + 1e-6);
  if (coef >= 1.0) return norm;
  const float coefF = static_cast<float>(coef);
  cpu::parallelFor(tasks, [&](int64_t t) {
    const Chunk& c = chunks[static_cast<size_t>(t)];
    float* g = grads[c.buffer];
    if (isa == cpu::Isa::Avx512) scaleAvx512(g, coefF, c.begin, c.end);
    else if (isa == cpu::Isa::Avx2) scaleAvx2(g, coefF, c.begin, c.end);
    else scaleScalar(g, coefF, c.begin, c.end);
  });
  return norm;
}

}  // namespace lmkit

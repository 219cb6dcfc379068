// LayerNorm and RMSNorm over the last dim of a [rows, cols] tensor.
//
// LayerNorm (Ba et al. 2016), per row of C = cols values:
//   mean = Σx/C,  var = Σ(x − mean)²/C (biased),  rstd = 1/sqrt(var + eps)
//   x̂ = (x − mean)·rstd,  y = x̂∘w + b
//   backward with g = dy∘w:  dx = rstd·(g − mean(g) − x̂·mean(g∘x̂))
//                            dw += Σ_rows dy∘x̂,  db += Σ_rows dy
// RMSNorm (Zhang & Sennrich 2019; LLaMA):
//   rstd = 1/sqrt(Σx²/C + eps),  x̂ = x·rstd,  y = x̂∘w
//   backward: dx = rstd·(g − x̂·mean(g∘x̂)),  dw += Σ_rows dy∘x̂
// RMSNorm is LayerNorm with the mean pinned at 0 and no bias, so every row
// kernel is one template over kCentered.
//
// Layout: x, y, dy, dx [rows, cols]; w, b, dw, db [cols]; mean, rstd [rows].
// Variance is two-pass over the row (mean first, then Σ(x − mean)²): a row is
// a few KB and sits in L1, and the one-pass E[x²] − mean² form loses
// everything to cancellation when |mean| ≫ std. The fast paths sum in float,
// so the second pass also sums d = x − mean and corrects with it (the
// "corrected two-pass" of Chan, Golub & LeVeque): mean = hi + lo with
// lo = Σd/C, var = Σd²/C − lo², x̂ = ((x − hi) − lo)·rstd. x − hi is exact
// for x near hi, so x̂ keeps full precision even when |mean| ≫ std (the
// scalar reference gets the same from double accumulators).
//
// Work split. Forward: tasks of rowGrain(cols) rows. Backward: rows are cut in
// chunks whose size depends only on (rows, cols); a chunk computes dx for its
// rows and writes its own dw/db partial [cols]; then column blocks add the
// partials in chunk order into dw/db. So every bit is independent of the
// thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace lmkit {
namespace {

using cpu::Isa;

// ~16k elements per forward task: small rows are batched, big rows still spread.
int64_t rowGrain(int64_t cols) { return std::max<int64_t>(1, 16384 / cols); }

// Rows per backward chunk: ~32k elements, at least 4 rows, and at most 256
// chunks so the partial buffers stay ≤ 256·cols·2 floats.
constexpr int64_t kMaxChunks = 256;
int64_t chunkRows(int64_t rows, int64_t cols) {
  const int64_t byWork = std::clamp<int64_t>(32768 / cols, 4, 1024);
  const int64_t byCount = (rows + kMaxChunks - 1) / kMaxChunks;
  return std::max(byWork, byCount);
}

// ------------------------------------------------------------------ scalar reference

template <bool kCentered>
void forwardRowScalar(float* y, float* meanOut, float* rstdOut, const float* x, const float* w,
                      const float* b, int64_t C, float eps) {
  double sum = 0.0;
  if (kCentered)
    for (int64_t j = 0; j < C; ++j) sum += x[j];
  const double mean = kCentered ? sum / C : 0.0;
  double sq = 0.0;
  for (int64_t j = 0; j < C; ++j) {
    const double d = x[j] - mean;
    sq += d * d;
  }
  const float rstd = static_cast<float>(1.0 / std::sqrt(sq / C + eps));
  for (int64_t j = 0; j < C; ++j) {
    const float xhat = static_cast<float>(x[j] - mean) * rstd;
    y[j] = kCentered ? xhat * w[j] + b[j] : xhat * w[j];
  }
  if (kCentered) *meanOut = static_cast<float>(mean);
  *rstdOut = rstd;
}

template <bool kCentered>
void backwardRowScalar(float* dx, float* dw, float* db, const float* dy, const float* x,
                       const float* w, float mean, float rstd, int64_t C) {
  double sumG = 0.0, sumGX = 0.0;
  for (int64_t j = 0; j < C; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    const float g = dy[j] * w[j];
    sumG += g;
    sumGX += static_cast<double>(g) * xhat;
    dw[j] += dy[j] * xhat;
    if (kCentered) db[j] += dy[j];
  }
  const float meanG = kCentered ? static_cast<float>(sumG / C) : 0.0f;
  const float meanGX = static_cast<float>(sumGX / C);
  for (int64_t j = 0; j < C; ++j) {
    const float xhat = (x[j] - mean) * rstd;
    dx[j] = rstd * (dy[j] * w[j] - meanG - xhat * meanGX);
  }
}

// ------------------------------------------------------------------ AVX-512
// One masked loop per pass: full vectors use an all-ones mask, the tail a
// partial one, so C need not be a multiple of 16. Masked-off lanes load 0.

template <bool kCentered>
LMKIT_TARGET_AVX512 void forwardRowAvx512(float* y, float* meanOut, float* rstdOut, const float* x,
                                          const float* w, const float* b, int64_t C, float eps) {
  float mean = 0.0f;
  if (kCentered) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t j = 0; j < C; j += 16) {
      const __mmask16 m = j + 16 <= C ? __mmask16(0xFFFF) : cpu::vec::tailMask16(C - j);
      s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, x + j));
    }
    mean = cpu::vec::hsum16(s) / static_cast<float>(C);
  }
  const __m512 vmean = _mm512_set1_ps(mean);
  __m512 sd = _mm512_setzero_ps(), sq = _mm512_setzero_ps();
  for (int64_t j = 0; j < C; j += 16) {
    const __mmask16 m = j + 16 <= C ? __mmask16(0xFFFF) : cpu::vec::tailMask16(C - j);
    const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + j), vmean);
    sd = _mm512_add_ps(sd, d);
    sq = _mm512_fmadd_ps(d, d, sq);
  }
  const float meanLo = kCentered ? cpu::vec::hsum16(sd) / static_cast<float>(C) : 0.0f;
  const float var = cpu::vec::hsum16(sq) / static_cast<float>(C) - meanLo * meanLo;
  const float rstd = 1.0f / std::sqrt(std::max(var, 0.0f) + eps);
  const __m512 vrstd = _mm512_set1_ps(rstd), vmeanLo = _mm512_set1_ps(meanLo);
  for (int64_t j = 0; j < C; j += 16) {
    const __mmask16 m = j + 16 <= C ? __mmask16(0xFFFF) : cpu::vec::tailMask16(C - j);
    const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmean), vmeanLo);
    const __m512 xhat = _mm512_mul_ps(d, vrstd);
    const __m512 wv = _mm512_maskz_loadu_ps(m, w + j);
    const __m512 out = kCentered ? _mm512_fmadd_ps(xhat, wv, _mm512_maskz_loadu_ps(m, b + j))
                                 : _mm512_mul_ps(xhat, wv);
    _mm512_mask_storeu_ps(y + j, m, out);
  }
  if (kCentered) *meanOut = mean + meanLo;
  *rstdOut = rstd;
}

template <bool kCentered>
LMKIT_TARGET_AVX512 void backwardRowAvx512(float* dx, float* dw, float* db, const float* dy,
                                           const float* x, const float* w, float mean, float rstd,
                                           int64_t C) {
  const __m512 vmean = _mm512_set1_ps(mean), vrstd = _mm512_set1_ps(rstd);
  __m512 sumG = _mm512_setzero_ps(), sumGX = _mm512_setzero_ps();
  for (int64_t j = 0; j < C; j += 16) {
    const __mmask16 m = j + 16 <= C ? __mmask16(0xFFFF) : cpu::vec::tailMask16(C - j);
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmean), vrstd);
    const __m512 dyv = _mm512_maskz_loadu_ps(m, dy + j);
    const __m512 g = _mm512_mul_ps(dyv, _mm512_maskz_loadu_ps(m, w + j));  // 0 in masked lanes
    sumG = _mm512_add_ps(sumG, g);
    sumGX = _mm512_fmadd_ps(g, xhat, sumGX);
    _mm512_mask_storeu_ps(dw + j, m, _mm512_fmadd_ps(dyv, xhat, _mm512_maskz_loadu_ps(m, dw + j)));
    if (kCentered)
      _mm512_mask_storeu_ps(db + j, m, _mm512_add_ps(dyv, _mm512_maskz_loadu_ps(m, db + j)));
  }
  const float invC = 1.0f / static_cast<float>(C);
  const __m512 meanG = _mm512_set1_ps(kCentered ? cpu::vec::hsum16(sumG) * invC : 0.0f);
  const __m512 meanGX = _mm512_set1_ps(cpu::vec::hsum16(sumGX) * invC);
  for (int64_t j = 0; j < C; j += 16) {
    const __mmask16 m = j + 16 <= C ? __mmask16(0xFFFF) : cpu::vec::tailMask16(C - j);
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmean), vrstd);
    const __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + j), _mm512_maskz_loadu_ps(m, w + j));
    const __m512 inner = _mm512_sub_ps(g, _mm512_fmadd_ps(xhat, meanGX, meanG));
    _mm512_mask_storeu_ps(dx + j, m, _mm512_mul_ps(vrstd, inner));
  }
}

// ------------------------------------------------------------------ AVX2
// Same structure, 8 lanes, maskload/maskstore for the tail.

template <bool kCentered>
LMKIT_TARGET_AVX2 void forwardRowAvx2(float* y, float* meanOut, float* rstdOut, const float* x,
                                      const float* w, const float* b, int64_t C, float eps) {
  const __m256i full = _mm256_set1_epi32(-1);
  float mean = 0.0f;
  if (kCentered) {
    __m256 s = _mm256_setzero_ps();
    for (int64_t j = 0; j < C; j += 8) {
      const __m256i m = j + 8 <= C ? full : cpu::vec::tailMask8(C - j);
      s = _mm256_add_ps(s, _mm256_maskload_ps(x + j, m));
    }
    mean = cpu::vec::hsum8(s) / static_cast<float>(C);
  }
  const __m256 vmean = _mm256_set1_ps(mean);
  __m256 sd = _mm256_setzero_ps(), sq = _mm256_setzero_ps();
  for (int64_t j = 0; j < C; j += 8) {
    const __m256i m = j + 8 <= C ? full : cpu::vec::tailMask8(C - j);
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmean),
                                   _mm256_castsi256_ps(m));
    sd = _mm256_add_ps(sd, d);
    sq = _mm256_fmadd_ps(d, d, sq);
  }
  const float meanLo = kCentered ? cpu::vec::hsum8(sd) / static_cast<float>(C) : 0.0f;
  const float var = cpu::vec::hsum8(sq) / static_cast<float>(C) - meanLo * meanLo;
  const float rstd = 1.0f / std::sqrt(std::max(var, 0.0f) + eps);
  const __m256 vrstd = _mm256_set1_ps(rstd), vmeanLo = _mm256_set1_ps(meanLo);
  for (int64_t j = 0; j < C; j += 8) {
    const __m256i m = j + 8 <= C ? full : cpu::vec::tailMask8(C - j);
    const __m256 d = _mm256_sub_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmean), vmeanLo);
    const __m256 xhat = _mm256_mul_ps(d, vrstd);
    const __m256 wv = _mm256_maskload_ps(w + j, m);
    const __m256 out = kCentered ? _mm256_fmadd_ps(xhat, wv, _mm256_maskload_ps(b + j, m))
                                 : _mm256_mul_ps(xhat, wv);
    _mm256_maskstore_ps(y + j, m, out);
  }
  if (kCentered) *meanOut = mean + meanLo;
  *rstdOut = rstd;
}

template <bool kCentered>
LMKIT_TARGET_AVX2 void backwardRowAvx2(float* dx, float* dw, float* db, const float* dy,
                                       const float* x, const float* w, float mean, float rstd,
                                       int64_t C) {
  const __m256i full = _mm256_set1_epi32(-1);
  const __m256 vmean = _mm256_set1_ps(mean), vrstd = _mm256_set1_ps(rstd);
  __m256 sumG = _mm256_setzero_ps(), sumGX = _mm256_setzero_ps();
  for (int64_t j = 0; j < C; j += 8) {
    const __m256i m = j + 8 <= C ? full : cpu::vec::tailMask8(C - j);
    const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmean), vrstd);
    const __m256 dyv = _mm256_maskload_ps(dy + j, m);
    const __m256 g = _mm256_mul_ps(dyv, _mm256_maskload_ps(w + j, m));  // 0 in masked lanes
    sumG = _mm256_add_ps(sumG, g);
    sumGX = _mm256_fmadd_ps(g, xhat, sumGX);
    _mm256_maskstore_ps(dw + j, m, _mm256_fmadd_ps(dyv, xhat, _mm256_maskload_ps(dw + j, m)));
    if (kCentered) _mm256_maskstore_ps(db + j, m, _mm256_add_ps(dyv, _mm256_maskload_ps(db + j, m)));
  }
  const float invC = 1.0f / static_cast<float>(C);
  const __m256 meanG = _mm256_set1_ps(kCentered ? cpu::vec::hsum8(sumG) * invC : 0.0f);
  const __m256 meanGX = _mm256_set1_ps(cpu::vec::hsum8(sumGX) * invC);
  for (int64_t j = 0; j < C; j += 8) {
    const __m256i m = j + 8 <= C ? full : cpu::vec::tailMask8(C - j);
    const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmean), vrstd);
    const __m256 g = _mm256_mul_ps(_mm256_maskload_ps(dy + j, m), _mm256_maskload_ps(w + j, m));
    const __m256 inner = _mm256_sub_ps(g, _mm256_fmadd_ps(xhat, meanGX, meanG));
    _mm256_maskstore_ps(dx + j, m, _mm256_mul_ps(vrstd, inner));
  }
}

// ------------------------------------------------------------------ drivers

template <bool kCentered>
void normForward(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b,
                 int64_t rows, int64_t cols, float eps) {
  if (rows == 0 || cols == 0) return;
  const Isa isa = cpu::activeIsa();  // read once: every row takes the same path
  cpu::parallelRange(rows, rowGrain(cols), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* yr = y + r * cols;
      const float* xr = x + r * cols;
      float* meanR = kCentered ? mean + r : nullptr;
      if (isa == Isa::Avx512) forwardRowAvx512<kCentered>(yr, meanR, rstd + r, xr, w, b, cols, eps);
      else if (isa == Isa::Avx2) forwardRowAvx2<kCentered>(yr, meanR, rstd + r, xr, w, b, cols, eps);
      else forwardRowScalar<kCentered>(yr, meanR, rstd + r, xr, w, b, cols, eps);
    }
  });
}

template <bool kCentered>
void normBackward(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                  const float* w, const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  const Isa isa = cpu::activeIsa();
  const int64_t perChunk = chunkRows(rows, cols);
  const int64_t chunks = (rows + perChunk - 1) / perChunk;
  const int64_t sums = kCentered ? 2 : 1;  // dw (and db) partials per chunk
  std::vector<float> partial(static_cast<size_t>(chunks * sums * cols), 0.0f);

  cpu::parallelFor(chunks, [&](int64_t c) {
    float* dw = partial.data() + c * sums * cols;
    float* db = kCentered ? dw + cols : nullptr;
    const int64_t r1 = std::min(rows, (c + 1) * perChunk);
    for (int64_t r = c * perChunk; r < r1; ++r) {
      const float m = kCentered ? mean[r] : 0.0f;
      const int64_t o = r * cols;
      if (isa == Isa::Avx512) backwardRowAvx512<kCentered>(dx + o, dw, db, dy + o, x + o, w, m, rstd[r], cols);
      else if (isa == Isa::Avx2) backwardRowAvx2<kCentered>(dx + o, dw, db, dy + o, x + o, w, m, rstd[r], cols);
      else backwardRowScalar<kCentered>(dx + o, dw, db, dy + o, x + o, w, m, rstd[r], cols);
    }
  });

  // Partials summed in chunk order, then added once into the accumulating grads.
  constexpr int64_t kColBlock = 1024;
  cpu::parallelRange(cols, kColBlock, [&](int64_t j0, int64_t j1) {
    float accW[kColBlock], accB[kColBlock];
    const int64_t n = j1 - j0;
    std::fill(accW, accW + n, 0.0f);
    std::fill(accB, accB + n, 0.0f);
    for (int64_t c = 0; c < chunks; ++c) {
      const float* pw = partial.data() + c * sums * cols + j0;
      for (int64_t j = 0; j < n; ++j) accW[j] += pw[j];
      if (kCentered)
        for (int64_t j = 0; j < n; ++j) accB[j] += pw[cols + j];
    }
    for (int64_t j = 0; j < n; ++j) dweight[j0 + j] += accW[j];
    if (kCentered)
      for (int64_t j = 0; j < n; ++j) dbias[j0 + j] += accB[j];
  });
}

}  // namespace

void layerNormForward(float* out, float* mean, float* rstd, const float* x, const float* weight,
                      const float* bias, int64_t rows, int64_t cols, float eps) {
  normForward<true>(out, mean, rstd, x, weight, bias, rows, cols, eps);
}

void layerNormBackward(float* dx, float* dweight, float* dbias, const float* dout, const float* x,
                       const float* weight, const float* mean, const float* rstd, int64_t rows,
                       int64_t cols) {
  normBackward<true>(dx, dweight, dbias, dout, x, weight, mean, rstd, rows, cols);
}

void rmsNormForward(float* out, float* rstd, const float* x, const float* weight, int64_t rows,
                    int64_t cols, float eps) {
  normForward<false>(out, nullptr, rstd, x, weight, nullptr, rows, cols, eps);
}

void rmsNormBackward(float* dx, float* dweight, const float* dout, const float* x,
                     const float* weight, const float* rstd, int64_t rows, int64_t cols) {
  normBackward<false>(dx, dweight, nullptr, dout, x, weight, nullptr, rstd, rows, cols);
}

}  // namespace lmkit

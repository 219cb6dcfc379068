// Bias add and its backward. x, dout: [rows, cols]; bias, dbias: [cols].
//   biasAdd:      x[r, c] += bias[c]                (in place)
//   biasBackward: dbias[c] += Σ_r dout[r, c]        (accumulates, as grads do)
//
// Work split: biasAdd runs over chunks of kRowGrain rows. biasBackward cuts
// the matrix into fixed tiles (kRowGrain rows × kColGrain columns); each
// tile sums its rows, in row order, into double partials of its own; then
// each column adds its tiles' partials in tile order and rounds once to
// float. Every column sum therefore sees the same additions in the same
// order for any thread count, and — the vector paths only widen the same
// per-column double adds across lanes — for any ISA too.
#include <immintrin.h>

#include <algorithm>
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

constexpr int64_t kRowGrain = 256;
constexpr int64_t kColGrain = 1024;

// ---------------------------------------------------------------- scalar reference

void addRowsScalar(float* x, const float* bias, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = 0; c < cols; ++c) x[r * cols + c] += bias[c];
}

// acc[0, c1 − c0) = Σ_{r0 ≤ r < r1} dout[r, c0 + j] in double.
void columnSumsScalar(double* acc, const float* dout, int64_t r0, int64_t r1, int64_t c0, int64_t c1,
                      int64_t cols) {
  for (int64_t c = c0; c < c1; ++c) acc[c - c0] = 0.0;
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = c0; c < c1; ++c) acc[c - c0] += dout[r * cols + c];
}

// ---------------------------------------------------------------- AVX-512

LMKIT_TARGET_AVX512 void addRowsAvx512(float* x, const float* bias, int64_t r0, int64_t r1,
                                       int64_t cols) {
  for (int64_t r = r0; r < r1; ++r) {
    float* row = x + r * cols;
    for (int64_t c = 0; c < cols; c += 16) {
      const __mmask16 k = cols - c >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (cols - c)) - 1u);
      const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, row + c), _mm512_maskz_loadu_ps(k, bias + c));
      _mm512_mask_storeu_ps(row + c, k, v);
    }
  }
}

LMKIT_TARGET_AVX512 void columnSumsAvx512(double* acc, const float* dout, int64_t r0, int64_t r1,
                                          int64_t c0, int64_t c1, int64_t cols) {
  for (int64_t c = c0; c < c1; ++c) acc[c - c0] = 0.0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = dout + r * cols;
    int64_t c = c0;
    for (; c + 16 <= c1; c += 16) {
      const __m512 v = _mm512_loadu_ps(row + c);
      double* a = acc + (c - c0);
      _mm512_storeu_pd(a, _mm512_add_pd(_mm512_loadu_pd(a), _mm512_cvtps_pd(_mm512_castps512_ps256(v))));
      _mm512_storeu_pd(a + 8, _mm512_add_pd(_mm512_loadu_pd(a + 8), _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1))));
    }
    for (; c < c1; ++c) acc[c - c0] += row[c];
  }
}

// ---------------------------------------------------------------- AVX2

LMKIT_TARGET_AVX2 void addRowsAvx2(float* x, const float* bias, int64_t r0, int64_t r1, int64_t cols) {
  for (int64_t r = r0; r < r1; ++r) {
    float* row = x + r * cols;
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8)
      _mm256_storeu_ps(row + c, _mm256_add_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(bias + c)));
    for (; c < cols; ++c) row[c] += bias[c];
  }
}

LMKIT_TARGET_AVX2 void columnSumsAvx2(double* acc, const float* dout, int64_t r0, int64_t r1,
                                      int64_t c0, int64_t c1, int64_t cols) {
  for (int64_t c = c0; c < c1; ++c) acc[c - c0] = 0.0;
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = dout + r * cols;
    int64_t c = c0;
    for (; c + 8 <= c1; c += 8) {
      const __m256 v = _mm256_loadu_ps(row + c);
      double* a = acc + (c - c0);
      _mm256_storeu_pd(a, _mm256_add_pd(_mm256_loadu_pd(a), _mm256_cvtps_pd(_mm256_castps256_ps128(v))));
      _mm256_storeu_pd(a + 4, _mm256_add_pd(_mm256_loadu_pd(a + 4), _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))));
    }
    for (; c < c1; ++c) acc[c - c0] += row[c];
  }
}

}  // namespace

void biasAdd(float* x, const float* bias, int64_t rows, int64_t cols) {
  const cpu::Isa isa = cpu::activeIsa();
  cpu::parallelRange(rows, kRowGrain, [&](int64_t r0, int64_t r1) {
    if (isa == cpu::Isa::Avx512) addRowsAvx512(x, bias, r0, r1, cols);
    else if (isa == cpu::Isa::Avx2) addRowsAvx2(x, bias, r0, r1, cols);
    else addRowsScalar(x, bias, r0, r1, cols);
  });
}

void biasBackward(float* dbias, const float* dout, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  const int64_t rowTiles = (rows + kRowGrain - 1) / kRowGrain;
  const int64_t colTiles = (cols + kColGrain - 1) / kColGrain;
  // partial[t·cols + c]: tile-row t's sum for column c.
  std::vector<double> partial(static_cast<size_t>(rowTiles * cols));
  const cpu::Isa isa = cpu::activeIsa();
  cpu::parallelFor(rowTiles * colTiles, [&](int64_t task) {
    const int64_t t = task / colTiles;
    const int64_t r0 = t * kRowGrain, r1 = std::min(r0 + kRowGrain, rows);
    const int64_t c0 = (task % colTiles) * kColGrain, c1 = std::min(c0 + kColGrain, cols);
    double* acc = partial.data() + t * cols + c0;
    if (isa == cpu::Isa::Avx512) columnSumsAvx512(acc, dout, r0, r1, c0, c1, cols);
    else if (isa == cpu::Isa::Avx2) columnSumsAvx2(acc, dout, r0, r1, c0, c1, cols);
    else columnSumsScalar(acc, dout, r0, r1, c0, c1, cols);
  });
  cpu::parallelRange(cols, kColGrain, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double s = 0.0;
      for (int64_t t = 0; t < rowTiles; ++t) s += partial[static_cast<size_t>(t * cols + c)];
      dbias[c] += static_cast<float>(s);
    }
  });
}

}  // namespace lmkit

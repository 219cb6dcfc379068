// GEMM: C[m×n] = alpha·op(A)·op(B) + beta·C (row-major, op = identity or ᵀ).
//
// Work split: C is cut into row panels of kRowGrain rows, one task each; every
// element of C is produced by one task with a fixed k order, so the result
// does not depend on the thread count.
//
// Scalar path: an i-k-j loop over a row panel (the inner j loop is unit
// stride in B and C, which compilers vectorize with baseline SSE).
#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "kernels.h"

namespace lmkit {
namespace {

constexpr int64_t kRowGrain = 16;

// Element (i, p) of op(A) and (p, j) of op(B).
inline float opA(const float* a, const GemmShape& s, int64_t i, int64_t p) {
  return s.transA ? a[p * s.m + i] : a[i * s.k + p];
}
inline float opB(const float* b, const GemmShape& s, int64_t p, int64_t j) {
  return s.transB ? b[j * s.k + p] : b[p * s.n + j];
}

void scaleRows(float* c, const GemmShape& s, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) {
    float* row = c + i * s.n;
    if (s.beta == 0.0f) std::memset(row, 0, sizeof(float) * s.n);
    else if (s.beta != 1.0f)
      for (int64_t j = 0; j < s.n; ++j) row[j] *= s.beta;
  }
}

void gemmRowsScalar(float* c, const float* a, const float* b, const GemmShape& s, int64_t i0,
                    int64_t i1) {
  scaleRows(c, s, i0, i1);
  if (s.alpha == 0.0f || s.k == 0) return;
  if (!s.transB) {
    for (int64_t i = i0; i < i1; ++i) {
      float* crow = c + i * s.n;
      for (int64_t p = 0; p < s.k; ++p) {
        const float aip = s.alpha * opA(a, s, i, p);
        const float* brow = b + p * s.n;
        for (int64_t j = 0; j < s.n; ++j) crow[j] += aip * brow[j];
      }
    }
  } else {
    for (int64_t i = i0; i < i1; ++i) {
      float* crow = c + i * s.n;
      for (int64_t j = 0; j < s.n; ++j) {
        const float* brow = b + j * s.k;  // row j of B is column j of Bᵀ
        float acc = 0.0f;
        for (int64_t p = 0; p < s.k; ++p) acc += opA(a, s, i, p) * brow[p];
        crow[j] += s.alpha * acc;
      }
    }
  }
}

void gemmRows(float* c, const float* a, const float* b, const GemmShape& s, int64_t i0, int64_t i1) {
  gemmRowsScalar(c, a, b, s, i0, i1);
}

}  // namespace

void gemm(float* c, const float* a, const float* b, const GemmShape& s) {
  if (s.m == 0 || s.n == 0) return;
  cpu::parallelRange(s.m, kRowGrain, [&](int64_t i0, int64_t i1) { gemmRows(c, a, b, s, i0, i1); });
}

void gemmBatched(float* c, const float* a, const float* b, const GemmShape& s,
                 const GemmBatch& batch) {
  if (s.m == 0 || s.n == 0) return;
  const int64_t panels = (s.m + kRowGrain - 1) / kRowGrain;
  cpu::parallelFor(batch.batch * panels, [&](int64_t t) {
    const int64_t bi = t / panels;
    const int64_t i0 = (t % panels) * kRowGrain;
    const int64_t i1 = i0 + kRowGrain < s.m ? i0 + kRowGrain : s.m;
    gemmRows(c + bi * batch.strideC, a + bi * batch.strideA, b + bi * batch.strideB, s, i0, i1);
  });
}

}  // namespace lmkit

// Fused attention (FlashAttention-2 style), forward and backward.
//
// Math, per (batch b, head h), with S = scale·Q·Kᵀ:
//   forward   P = softmax(S + mask) row-wise,  O = P·V,  lse_i = log Σ_j exp(S_ij)
//   backward  D_i = Σ_d dO_id·O_id
//             dV = Pᵀ·dO,  dP = dO·Vᵀ,  dS = P ∘ (dP − D),
//             dQ = scale·dS·K,  dK = scale·dSᵀ·Q
// Mask: query i (at position i + qOffset) sees key j when
//   j < kvLen[b] and (!causal or j ≤ i + qOffset or j < prefixLen[b]),
// which is always a prefix of the keys: row i sees [0, end_i) with
//   end_i = min(kvLen, causal ? max(i + qOffset + 1, prefixLen) : Tk),
// and end_i never decreases with i. A row with end_i = 0 is fully masked:
// out = 0, lse = −inf, and it contributes nothing to any gradient.
//
// Layout: q/out/dout/dq [B, NH, Tq, HS], k/v/dk/dv [B, NH, Tk, HS],
// lse [B, NH, Tq], all row-major and contiguous.
//
// Algorithm: the Tq×Tk score matrix never exists. Forward: one task per
// (b, h, block of kBq query rows); it walks key blocks of kBk keys, computing
// the score tile with a register-blocked micro-GEMM and folding it into a
// running max m and sum l (online softmax); O accumulates in place and is
// divided by l at the end. Key blocks that every row of the query block masks
// (beyond max end_i: the causal upper triangle, padding) are skipped.
// Backward: one task per (b, h): key blocks outer, query blocks inner; P is
// recomputed from lse; dK/dV rows of the key block and dQ rows of the query
// block are accumulated in place. Each output element is written by one task
// in a fixed block order, so results are bitwise the same for any thread
// count (and no atomics are needed for dQ).
//
// Tiles go through four tile operations (scores micro-GEMM, accumulate
// micro-GEMM, online-softmax tile, recomputed-probabilities tile), each with
// a plain scalar reference and AVX2 / AVX-512 versions; the block driver is
// shared. Scratch (a few kBq×kBk tiles, packed Kᵀ/Vᵀ of HS×kBk, and two
// length-Tq rows in backward) lives in a per-thread arena reused across
// blocks and calls.
// GCC 12's AVX-512 intrinsics initialise their "undefined" operands from
// themselves (GCC bug 105593), which -Wmaybe-uninitialized reports at every use.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace lmkit {
namespace {

constexpr int64_t kBq = 64;  // query rows per block
constexpr int64_t kBk = 64;  // keys per block; score tiles are kBq×kBk
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// One past the last key row i may see (see the mask rule above).
inline int64_t visibleEnd(const AttentionShape& s, int64_t b, int64_t i) {
  int64_t end = s.kvLen ? s.kvLen[b] : s.Tk;
  if (s.causal) {
    int64_t limit = i + s.qOffset + 1;
    const int64_t prefix = s.prefixLen ? s.prefixLen[b] : 0;
    if (prefix > limit) limit = prefix;
    if (limit < end) end = limit;
  }
  return end;
}

inline int64_t roundUp16(int64_t n) { return (n + 15) & ~int64_t{15}; }

// ---------------------------------------------------------------- tile ops
//
// scoresNT:     C[M×N] = A[M×K]·Bt[K×N]; N is a multiple of 16 (Bt zero padded).
// accumulateNN: C[M×n] += A[M×K]·B[K×n], any n.
// softmaxTile:  one key block of the forward online softmax. Row r of s holds
//   raw dot products; its first visible[r] columns are unmasked. Writes
//   P = exp(scale·s − m_new) (0 on masked columns), alpha[r] = exp(m_old − m_new)
//   (the factor the running O row must be rescaled by), updates m and l.
// probsTile:    backward: s ← exp(scale·s − lse_r) on visible columns, else 0.
struct TileOps {
  void (*scoresNT)(float* c, int64_t ldc, const float* a, int64_t lda, const float* bt,
                   int64_t ldbt, int64_t M, int64_t K, int64_t N);
  void (*accumulateNN)(float* c, int64_t ldc, const float* a, int64_t lda, const float* b,
                       int64_t ldb, int64_t M, int64_t K, int64_t n);
  void (*softmaxTile)(float* s, int64_t lds, int64_t M, int64_t N, const int64_t* visible,
                      float scale, float* m, float* l, float* alpha);
  void (*probsTile)(float* s, int64_t lds, int64_t M, int64_t N, const int64_t* visible,
                    float scale, const float* lse);
};

// ------------------------------------------------ scalar reference tile ops

void scoresNTScalar(float* c, int64_t ldc, const float* a, int64_t lda, const float* bt,
                    int64_t ldbt, int64_t M, int64_t K, int64_t N) {
  for (int64_t r = 0; r < M; ++r) {
    float* crow = c + r * ldc;
    for (int64_t j = 0; j < N; ++j) crow[j] = 0.0f;
    for (int64_t p = 0; p < K; ++p) {
      const float arp = a[r * lda + p];
      const float* brow = bt + p * ldbt;
      for (int64_t j = 0; j < N; ++j) crow[j] += arp * brow[j];
    }
  }
}

void accumulateNNScalar(float* c, int64_t ldc, const float* a, int64_t lda, const float* b,
                        int64_t ldb, int64_t M, int64_t K, int64_t n) {
  for (int64_t r = 0; r < M; ++r) {
    float* crow = c + r * ldc;
    for (int64_t p = 0; p < K; ++p) {
      const float arp = a[r * lda + p];
      const float* brow = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) crow[j] += arp * brow[j];
    }
  }
}

void softmaxTileScalar(float* s, int64_t lds, int64_t M, int64_t N, const int64_t* visible,
                       float scale, float* m, float* l, float* alpha) {
  for (int64_t r = 0; r < M; ++r) {
    float* row = s + r * lds;
    const int64_t n = visible[r];
    alpha[r] = 1.0f;
    if (n == 0) {
      for (int64_t j = 0; j < N; ++j) row[j] = 0.0f;
      continue;
    }
    float mx = kNegInf;
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j] * scale);
    const float mNew = std::max(m[r], mx);
    alpha[r] = std::exp(m[r] - mNew);  // m = −inf on the first block: alpha = 0
    float sum = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      row[j] = std::exp(row[j] * scale - mNew);
      sum += row[j];
    }
    for (int64_t j = n; j < N; ++j) row[j] = 0.0f;
    l[r] = l[r] * alpha[r] + sum;
    m[r] = mNew;
  }
}

void probsTileScalar(float* s, int64_t lds, int64_t M, int64_t N, const int64_t* visible,
                     float scale, const float* lse) {
  for (int64_t r = 0; r < M; ++r) {
    float* row = s + r * lds;
    const int64_t n = lse[r] == kNegInf ? 0 : visible[r];
    for (int64_t j = 0; j < n; ++j) row[j] = std::exp(row[j] * scale - lse[r]);
    for (int64_t j = n; j < N; ++j) row[j] = 0.0f;
  }
}

// ------------------------------------------------------ AVX-512 tile ops
//
// Micro-GEMMs hold an MR×NV block of 16-wide accumulators in registers
// (4×4 = 16 zmm) and stream the K dimension: one broadcast of A and NV loads
// of B per step. exp is the shared vectorised one (cpu/vec_math.h): ≤ 2 ulp,
// and arguments below −87.33 (a denormal result) and −inf give exactly 0.

// Lanes [0, count) of a 16-lane chunk; count ≥ 16 means all.
LMKIT_TARGET_AVX512 inline __mmask16 lanes16(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff)
                     : static_cast<__mmask16>((1u << (count > 0 ? count : 0)) - 1u);
}

template <int MR, int NV>
LMKIT_TARGET_AVX512 void scoresBlock512(float* c, int64_t ldc, const float* a, int64_t lda,
                                        const float* bt, int64_t ldbt, int64_t K) {
  __m512 acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  for (int64_t p = 0; p < K; ++p) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_loadu_ps(bt + p * ldbt + 16 * v);
    for (int r = 0; r < MR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r * lda + p]);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
}

template <int MR>
LMKIT_TARGET_AVX512 void scoresRows512(float* c, int64_t ldc, const float* a, int64_t lda,
                                       const float* bt, int64_t ldbt, int64_t K, int64_t N) {
  for (int64_t j = 0; j < N; j += 64) {
    switch (std::min<int64_t>(4, (N - j) / 16)) {
      case 4: scoresBlock512<MR, 4>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
      case 3: scoresBlock512<MR, 3>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
      case 2: scoresBlock512<MR, 2>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
      default: scoresBlock512<MR, 1>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
    }
  }
}

LMKIT_TARGET_AVX512 void scoresNT512(float* c, int64_t ldc, const float* a, int64_t lda,
                                     const float* bt, int64_t ldbt, int64_t M, int64_t K,
                                     int64_t N) {
  int64_t r = 0;
  for (; r + 4 <= M; r += 4) scoresRows512<4>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N);
  switch (M - r) {
    case 3: scoresRows512<3>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N); break;
    case 2: scoresRows512<2>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N); break;
    case 1: scoresRows512<1>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N); break;
    default: break;
  }
}

// C[MR × (16·NV, the last vector cut to `last` lanes)] += A·B. kFull: every
// lane is in use, and B is read with whole-vector loads (a masked load in
// this loop costs several times more on Zen 4/5, even with every lane set).
template <int MR, int NV, bool kFull>
LMKIT_TARGET_AVX512 void accumulateBlock512(float* c, int64_t ldc, const float* a, int64_t lda,
                                            const float* b, int64_t ldb, int64_t K,
                                            __mmask16 last) {
  __mmask16 mask[NV];
  for (int v = 0; v < NV; ++v) mask[v] = v == NV - 1 ? last : static_cast<__mmask16>(0xffff);
  __m512 acc[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      acc[r][v] = kFull ? _mm512_loadu_ps(c + r * ldc + 16 * v) : _mm512_maskz_loadu_ps(mask[v], c + r * ldc + 16 * v);
  for (int64_t p = 0; p < K; ++p) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = kFull ? _mm512_loadu_ps(b + p * ldb + 16 * v) : _mm512_maskz_loadu_ps(mask[v], b + p * ldb + 16 * v);
    for (int r = 0; r < MR; ++r) {
      const __m512 ar = _mm512_set1_ps(a[r * lda + p]);
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) {
      if (kFull) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
      else _mm512_mask_storeu_ps(c + r * ldc + 16 * v, mask[v], acc[r][v]);
    }
}

template <int MR>
LMKIT_TARGET_AVX512 void accumulateRows512(float* c, int64_t ldc, const float* a, int64_t lda,
                                           const float* b, int64_t ldb, int64_t K, int64_t n) {
  for (int64_t j = 0; j < n; j += 64) {
    const int64_t width = std::min<int64_t>(64, n - j);
    const int64_t vectors = (width + 15) / 16;
    const __mmask16 last = lanes16(width - 16 * (vectors - 1));
    if (width == 64) {
      accumulateBlock512<MR, 4, true>(c + j, ldc, a, lda, b + j, ldb, K, last);
      continue;
    }
    switch (vectors) {
      case 4: accumulateBlock512<MR, 4, false>(c + j, ldc, a, lda, b + j, ldb, K, last); break;
      case 3: accumulateBlock512<MR, 3, false>(c + j, ldc, a, lda, b + j, ldb, K, last); break;
      case 2: accumulateBlock512<MR, 2, false>(c + j, ldc, a, lda, b + j, ldb, K, last); break;
      default: accumulateBlock512<MR, 1, false>(c + j, ldc, a, lda, b + j, ldb, K, last); break;
    }
  }
}

LMKIT_TARGET_AVX512 void accumulateNN512(float* c, int64_t ldc, const float* a, int64_t lda,
                                         const float* b, int64_t ldb, int64_t M, int64_t K,
                                         int64_t n) {
  int64_t r = 0;
  for (; r + 4 <= M; r += 4) accumulateRows512<4>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n);
  switch (M - r) {
    case 3: accumulateRows512<3>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n); break;
    case 2: accumulateRows512<2>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n); break;
    case 1: accumulateRows512<1>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n); break;
    default: break;
  }
}

LMKIT_TARGET_AVX512 void softmaxTile512(float* s, int64_t lds, int64_t M, int64_t N,
                                        const int64_t* visible, float scale, float* m, float* l,
                                        float* alpha) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t r = 0; r < M; ++r) {
    float* row = s + r * lds;
    const int64_t n = visible[r];
    alpha[r] = 1.0f;
    if (n == 0) {
      for (int64_t j = 0; j < N; j += 16) _mm512_storeu_ps(row + j, _mm512_setzero_ps());
      continue;
    }
    __m512 vmax = _mm512_set1_ps(kNegInf);
    for (int64_t j = 0; j < n; j += 16) {
      const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(row + j), vscale);
      vmax = _mm512_mask_max_ps(vmax, lanes16(n - j), vmax, x);
    }
    const float mNew = std::max(m[r], _mm512_reduce_max_ps(vmax));
    alpha[r] = std::exp(m[r] - mNew);
    const __m512 vm = _mm512_set1_ps(mNew);
    __m512 vsum = _mm512_setzero_ps();
    for (int64_t j = 0; j < N; j += 16) {
      const __m512 x = _mm512_fmsub_ps(_mm512_loadu_ps(row + j), vscale, vm);
      const __m512 p = _mm512_maskz_mov_ps(lanes16(n - j), cpu::vec::exp16(x));
      _mm512_storeu_ps(row + j, p);
      vsum = _mm512_add_ps(vsum, p);
    }
    l[r] = l[r] * alpha[r] + _mm512_reduce_add_ps(vsum);
    m[r] = mNew;
  }
}

LMKIT_TARGET_AVX512 void probsTile512(float* s, int64_t lds, int64_t M, int64_t N,
                                      const int64_t* visible, float scale, const float* lse) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int64_t r = 0; r < M; ++r) {
    float* row = s + r * lds;
    const int64_t n = lse[r] == kNegInf ? 0 : visible[r];
    const __m512 vl = _mm512_set1_ps(n == 0 ? 0.0f : lse[r]);
    for (int64_t j = 0; j < N; j += 16) {
      const __m512 x = _mm512_fmsub_ps(_mm512_loadu_ps(row + j), vscale, vl);
      _mm512_storeu_ps(row + j, _mm512_maskz_mov_ps(lanes16(n - j), cpu::vec::exp16(x)));
    }
  }
}

// --------------------------------------------------------- AVX2 tile ops
//
// Same structure with 8-wide vectors: 4 rows × 2 vectors (scores) or 4 rows ×
// 3 vectors (accumulate) of accumulators fit the 16 ymm registers.

// Lane mask for lanes [0, count) of an 8-lane chunk.
LMKIT_TARGET_AVX2 inline __m256i lanes8(int64_t count) {
  const int c = static_cast<int>(count < 0 ? 0 : (count > 8 ? 8 : count));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// MR × 8·NV scores: 4 × 24 keeps 12 accumulators in flight (4 × 16, 8
// chains of 4-cycle FMAs on two pipes, left the loop waiting on latency).
template <int MR, int NV>
LMKIT_TARGET_AVX2 void scoresBlock256(float* c, int64_t ldc, const float* a, int64_t lda,
                                      const float* bt, int64_t ldbt, int64_t K) {
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int64_t p = 0; p < K; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = _mm256_loadu_ps(bt + p * ldbt + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);
}

template <int MR>
LMKIT_TARGET_AVX2 void scoresRows256(float* c, int64_t ldc, const float* a, int64_t lda,
                                     const float* bt, int64_t ldbt, int64_t K, int64_t N) {
  for (int64_t j = 0; j < N;) {
    const int64_t vectors = std::min<int64_t>(3, (N - j) / 8);
    switch (vectors) {
      case 3: scoresBlock256<MR, 3>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
      case 2: scoresBlock256<MR, 2>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
      default: scoresBlock256<MR, 1>(c + j, ldc, a, lda, bt + j, ldbt, K); break;
    }
    j += 8 * vectors;
  }
}

LMKIT_TARGET_AVX2 void scoresNT256(float* c, int64_t ldc, const float* a, int64_t lda,
                                   const float* bt, int64_t ldbt, int64_t M, int64_t K,
                                   int64_t N) {
  int64_t r = 0;
  for (; r + 4 <= M; r += 4) scoresRows256<4>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N);
  switch (M - r) {
    case 3: scoresRows256<3>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N); break;
    case 2: scoresRows256<2>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N); break;
    case 1: scoresRows256<1>(c + r * ldc, ldc, a + r * lda, lda, bt, ldbt, K, N); break;
    default: break;
  }
}

// kFull: all 8·NV columns in use, loaded and stored whole. vmaskmovps on
// every step (and a microcoded masked store per row on AMD) held the AVX2
// attention near a third of peak on Zen 3.
template <int MR, int NV, bool kFull>
LMKIT_TARGET_AVX2 void accumulateBlock256(float* c, int64_t ldc, const float* a, int64_t lda,
                                          const float* b, int64_t ldb, int64_t K, int64_t width) {
  __m256i mask[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) mask[v] = lanes8(width - 8 * v);
  __m256 acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      acc[r][v] = kFull ? _mm256_loadu_ps(c + r * ldc + 8 * v) : _mm256_maskload_ps(c + r * ldc + 8 * v, mask[v]);
  for (int64_t p = 0; p < K; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      bv[v] = kFull ? _mm256_loadu_ps(b + p * ldb + 8 * v) : _mm256_maskload_ps(b + p * ldb + 8 * v, mask[v]);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 ar = _mm256_broadcast_ss(a + r * lda + p);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      if (kFull) _mm256_storeu_ps(c + r * ldc + 8 * v, acc[r][v]);
      else _mm256_maskstore_ps(c + r * ldc + 8 * v, mask[v], acc[r][v]);
    }
}

template <int MR>
LMKIT_TARGET_AVX2 void accumulateRows256(float* c, int64_t ldc, const float* a, int64_t lda,
                                         const float* b, int64_t ldb, int64_t K, int64_t n) {
  for (int64_t j = 0; j < n; j += 24) {
    const int64_t width = std::min<int64_t>(24, n - j);
    switch (width) {
      case 24: accumulateBlock256<MR, 3, true>(c + j, ldc, a, lda, b + j, ldb, K, width); continue;
      case 16: accumulateBlock256<MR, 2, true>(c + j, ldc, a, lda, b + j, ldb, K, width); continue;
      case 8: accumulateBlock256<MR, 1, true>(c + j, ldc, a, lda, b + j, ldb, K, width); continue;
      default: break;
    }
    switch ((width + 7) / 8) {
      case 3: accumulateBlock256<MR, 3, false>(c + j, ldc, a, lda, b + j, ldb, K, width); break;
      case 2: accumulateBlock256<MR, 2, false>(c + j, ldc, a, lda, b + j, ldb, K, width); break;
      default: accumulateBlock256<MR, 1, false>(c + j, ldc, a, lda, b + j, ldb, K, width); break;
    }
  }
}

LMKIT_TARGET_AVX2 void accumulateNN256(float* c, int64_t ldc, const float* a, int64_t lda,
                                       const float* b, int64_t ldb, int64_t M, int64_t K,
                                       int64_t n) {
  int64_t r = 0;
  for (; r + 4 <= M; r += 4) accumulateRows256<4>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n);
  switch (M - r) {
    case 3: accumulateRows256<3>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n); break;
    case 2: accumulateRows256<2>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n); break;
    case 1: accumulateRows256<1>(c + r * ldc, ldc, a + r * lda, lda, b, ldb, K, n); break;
    default: break;
  }
}

LMKIT_TARGET_AVX2 void softmaxTile256(float* s, int64_t lds, int64_t M, int64_t N,
                                      const int64_t* visible, float scale, float* m, float* l,
                                      float* alpha) {
  const __m256 vscale = _mm256_set1_ps(scale);
  const __m256 ninf = _mm256_set1_ps(kNegInf);
  for (int64_t r = 0; r < M; ++r) {
    float* row = s + r * lds;
    const int64_t n = visible[r];
    alpha[r] = 1.0f;
    if (n == 0) {
      for (int64_t j = 0; j < N; j += 8) _mm256_storeu_ps(row + j, _mm256_setzero_ps());
      continue;
    }
    __m256 vmax = ninf;
    for (int64_t j = 0; j < n; j += 8) {
      const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(row + j), vscale);
      const __m256 keep = _mm256_castsi256_ps(lanes8(n - j));
      vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(ninf, x, keep));
    }
    const float mNew = std::max(m[r], cpu::vec::hmax8(vmax));
    alpha[r] = std::exp(m[r] - mNew);
    const __m256 vm = _mm256_set1_ps(mNew);
    __m256 vsum = _mm256_setzero_ps();
    for (int64_t j = 0; j < N; j += 8) {
      const __m256 x = _mm256_fmsub_ps(_mm256_loadu_ps(row + j), vscale, vm);
      const __m256 p = _mm256_and_ps(cpu::vec::exp8(x), _mm256_castsi256_ps(lanes8(n - j)));
      _mm256_storeu_ps(row + j, p);
      vsum = _mm256_add_ps(vsum, p);
    }
    l[r] = l[r] * alpha[r] + cpu::vec::hsum8(vsum);
    m[r] = mNew;
  }
}

LMKIT_TARGET_AVX2 void probsTile256(float* s, int64_t lds, int64_t M, int64_t N,
                                    const int64_t* visible, float scale, const float* lse) {
  const __m256 vscale = _mm256_set1_ps(scale);
  for (int64_t r = 0; r < M; ++r) {
    float* row = s + r * lds;
    const int64_t n = lse[r] == kNegInf ? 0 : visible[r];
    const __m256 vl = _mm256_set1_ps(n == 0 ? 0.0f : lse[r]);
    for (int64_t j = 0; j < N; j += 8) {
      const __m256 x = _mm256_fmsub_ps(_mm256_loadu_ps(row + j), vscale, vl);
      _mm256_storeu_ps(row + j, _mm256_and_ps(cpu::vec::exp8(x), _mm256_castsi256_ps(lanes8(n - j))));
    }
  }
}

// ------------------------------------------------------------ the driver

const TileOps& tileOps() {
  static const TileOps scalar{scoresNTScalar, accumulateNNScalar, softmaxTileScalar, probsTileScalar};
  static const TileOps avx2{scoresNT256, accumulateNN256, softmaxTile256, probsTile256};
  static const TileOps avx512{scoresNT512, accumulateNN512, softmaxTile512, probsTile512};
  switch (cpu::activeIsa()) {
    case cpu::Isa::Avx512: return avx512;
    case cpu::Isa::Avx2: return avx2;
    default: return scalar;
  }
}

// A per-thread, 64-byte aligned scratch arena that only grows: tasks take
// their tiles from it instead of allocating per block (or per call).
float* scratch(size_t floats) {
  struct Arena {
    float* data = nullptr;
    size_t size = 0;
    ~Arena() { std::free(data); }
  };
  thread_local Arena arena;
  if (arena.size < floats) {
    std::free(arena.data);
    const size_t bytes = ((floats * sizeof(float) + 63) / 64) * 64;
    arena.data = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (arena.data == nullptr) throw std::bad_alloc();
    arena.size = floats;
  }
  return arena.data;
}

// bt[p·kBk + j] = x[(j0 + j)·HS + p] for j < nk, zero for nk ≤ j < N.
void packTransposed(float* bt, const float* x, int64_t j0, int64_t nk, int64_t N, int64_t HS) {
  for (int64_t p = 0; p < HS; ++p) {
    float* dst = bt + p * kBk;
    for (int64_t j = 0; j < nk; ++j) dst[j] = x[(j0 + j) * HS + p];
    for (int64_t j = nk; j < N; ++j) dst[j] = 0.0f;
  }
}

// dst[j·kBq + r] = src[r·kBk + j]: an M×nk tile to nk×M.
void transposeTile(float* dst, const float* src, int64_t M, int64_t nk) {
  for (int64_t r = 0; r < M; ++r)
    for (int64_t j = 0; j < nk; ++j) dst[j * kBq + r] = src[r * kBk + j];
}

}  // namespace

void attentionForward(float* out, float* lse, const float* q, const float* k, const float* v,
                      const AttentionShape& s) {
  if (s.B == 0 || s.NH == 0 || s.Tq == 0) return;
  const TileOps& ops = tileOps();
  const int64_t HS = s.HS;
  const int64_t qBlocks = (s.Tq + kBq - 1) / kBq;
  cpu::parallelFor(s.B * s.NH * qBlocks, [&](int64_t task) {
    const int64_t bh = task / qBlocks;
    const int64_t b = bh / s.NH;
    const int64_t i0 = (task % qBlocks) * kBq;
    const int64_t M = std::min(kBq, s.Tq - i0);
    const float* Q = q + (bh * s.Tq + i0) * HS;  // (M, HS)
    const float* K = k + bh * s.Tk * HS;         // (Tk, HS)
    const float* V = v + bh * s.Tk * HS;         // (Tk, HS)
    float* O = out + (bh * s.Tq + i0) * HS;      // (M, HS)
    float* L = lse + bh * s.Tq + i0;             // (M)

    float* S = scratch(kBq * kBk + HS * kBk);  // (kBq, kBk)
    float* Kt = S + kBq * kBk;                 // (HS, kBk)
    float m[kBq], l[kBq], alpha[kBq];          // running max, running sum, rescale
    int64_t ends[kBq], visible[kBq];

    std::memset(O, 0, sizeof(float) * M * HS);
    for (int64_t r = 0; r < M; ++r) {
      m[r] = kNegInf;
      l[r] = 0.0f;
      ends[r] = visibleEnd(s, b, i0 + r);
    }
    const int64_t maxEnd = visibleEnd(s, b, i0 + M - 1);  // ends never decrease with the row
    for (int64_t j0 = 0; j0 < maxEnd; j0 += kBk) {
      const int64_t nk = std::min(kBk, maxEnd - j0);
      const int64_t N = roundUp16(nk);
      packTransposed(Kt, K, j0, nk, N, HS);
      ops.scoresNT(S, kBk, Q, HS, Kt, kBk, M, HS, N);
      for (int64_t r = 0; r < M; ++r) visible[r] = std::clamp<int64_t>(ends[r] - j0, 0, nk);
      ops.softmaxTile(S, kBk, M, N, visible, s.scale, m, l, alpha);
      for (int64_t r = 0; r < M; ++r) {
        if (alpha[r] == 1.0f) continue;
        float* orow = O + r * HS;
        for (int64_t d = 0; d < HS; ++d) orow[d] *= alpha[r];
      }
      ops.accumulateNN(O, HS, S, kBk, V + j0 * HS, HS, M, nk, HS);
    }
    for (int64_t r = 0; r < M; ++r) {
      if (l[r] == 0.0f) {  // no visible key: O row is still zero
        L[r] = kNegInf;
        continue;
      }
      const float inv = 1.0f / l[r];
      float* orow = O + r * HS;
      for (int64_t d = 0; d < HS; ++d) orow[d] *= inv;
      L[r] = m[r] + std::log(l[r]);
    }
  });
}

void attentionBackward(float* dq, float* dk, float* dv, const float* dout, const float* q,
                       const float* k, const float* v, const float* out, const float* lse,
                       const AttentionShape& s) {
  if (s.B == 0 || s.NH == 0) return;
  const TileOps& ops = tileOps();
  const int64_t HS = s.HS;
  cpu::parallelFor(s.B * s.NH, [&](int64_t bh) {
    const int64_t b = bh / s.NH;
    const float* Q = q + bh * s.Tq * HS;      // (Tq, HS)
    const float* dO = dout + bh * s.Tq * HS;  // (Tq, HS)
    const float* O = out + bh * s.Tq * HS;    // (Tq, HS)
    const float* L = lse + bh * s.Tq;         // (Tq)
    const float* K = k + bh * s.Tk * HS;      // (Tk, HS)
    const float* V = v + bh * s.Tk * HS;      // (Tk, HS)
    float* dQ = dq + bh * s.Tq * HS;
    float* dK = dk + bh * s.Tk * HS;
    float* dV = dv + bh * s.Tk * HS;
    std::memset(dQ, 0, sizeof(float) * s.Tq * HS);
    std::memset(dK, 0, sizeof(float) * s.Tk * HS);
    std::memset(dV, 0, sizeof(float) * s.Tk * HS);
    if (s.Tq == 0) return;

    // Tile sizes are even, so `ends` (int64, 2 floats each) stays 8-byte aligned.
    float* P = scratch(3 * kBq * kBk + 2 * HS * kBk + 3 * s.Tq);  // (kBq, kBk), P then dS
    float* dP = P + kBq * kBk;                                     // (kBq, kBk)
    float* T = dP + kBq * kBk;                                     // (kBk, kBq): Pᵀ, then dSᵀ
    float* Kt = T + kBq * kBk;                                     // (HS, kBk)
    float* Vt = Kt + HS * kBk;                                     // (HS, kBk)
    int64_t* ends = reinterpret_cast<int64_t*>(Vt + HS * kBk);     // (Tq)
    float* D = reinterpret_cast<float*>(ends + s.Tq);              // (Tq)
    int64_t visible[kBq];

    for (int64_t i = 0; i < s.Tq; ++i) {
      float acc = 0.0f;
      for (int64_t d = 0; d < HS; ++d) acc += dO[i * HS + d] * O[i * HS + d];
      D[i] = acc;
      ends[i] = visibleEnd(s, b, i);
    }
    const int64_t maxEnd = ends[s.Tq - 1];
    for (int64_t j0 = 0; j0 < maxEnd; j0 += kBk) {
      const int64_t nk = std::min(kBk, maxEnd - j0);
      const int64_t N = roundUp16(nk);
      packTransposed(Kt, K, j0, nk, N, HS);
      packTransposed(Vt, V, j0, nk, N, HS);
      // Query rows before `first` see no key of this block (causal triangle).
      const int64_t first = std::upper_bound(ends, ends + s.Tq, j0) - ends;
      for (int64_t i0 = (first / kBq) * kBq; i0 < s.Tq; i0 += kBq) {
        const int64_t M = std::min(kBq, s.Tq - i0);
        for (int64_t r = 0; r < M; ++r) visible[r] = std::clamp<int64_t>(ends[i0 + r] - j0, 0, nk);
        ops.scoresNT(P, kBk, Q + i0 * HS, HS, Kt, kBk, M, HS, N);
        ops.probsTile(P, kBk, M, N, visible, s.scale, L + i0);
        transposeTile(T, P, M, nk);
        ops.accumulateNN(dV + j0 * HS, HS, T, kBq, dO + i0 * HS, HS, nk, M, HS);  // dV += Pᵀ·dO
        ops.scoresNT(dP, kBk, dO + i0 * HS, HS, Vt, kBk, M, HS, N);               // dP = dO·Vᵀ
        for (int64_t r = 0; r < M; ++r) {
          float* prow = P + r * kBk;
          const float* dprow = dP + r * kBk;
          const float Di = D[i0 + r];
          // dS, with the softmax scale folded in for dQ and dK.
          for (int64_t j = 0; j < nk; ++j) prow[j] = prow[j] * (dprow[j] - Di) * s.scale;
        }
        ops.accumulateNN(dQ + i0 * HS, HS, P, kBk, K + j0 * HS, HS, M, nk, HS);  // dQ += dS·K
        transposeTile(T, P, M, nk);
        ops.accumulateNN(dK + j0 * HS, HS, T, kBq, Q + i0 * HS, HS, nk, M, HS);  // dK += dSᵀ·Q
      }
    }
  });
}

}  // namespace lmkit

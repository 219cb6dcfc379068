// GEMM: C[m×n] = alpha·op(A)·op(B) + beta·C (row-major, op = identity or ᵀ).
//
// Layout: A is m×k (k×m when transA), B is k×n (n×k when transB), C is m×n,
// all contiguous. beta = 0 never reads C; alpha = 0 or k = 0 gives beta·C.
//
// Scalar path (the reference): row panels of kRowGrain rows, one task each,
// an i-k-j loop (unit stride in B and C) or i-j-k dot products for Bᵀ.
//
// Fast paths (AVX-512, AVX2), after BLIS / OpenBLAS:
//   * Packing absorbs the transposes. op(A) is copied into MR-row panels
//     (for each p, MR consecutive values) and op(B) into NR-column panels
//     (for each p, NR consecutive values), zero-padded at the m and n edges,
//     cut into kKc-deep blocks. k itself is never padded.
//   * A register-blocked micro-kernel computes an MR×NR tile of C from one
//     A panel and one B panel: per p, NR/16 vector loads of B, MR broadcasts
//     of A, MR·NR/16 FMAs (AVX-512 12×32 in 24 zmm accumulators; AVX2 6×16
//     in 12 ymm).
//   * Cache blocking: an A micro-panel (MR×kKc, 18 KB) stays in L1 while the
//     micro-kernel walks across the B panels of its tile (≤ 8 panels of
//     kKc×NR, 48 KB each, in L2), as BLIS keeps its broadcast operand in L1.
//     For small m with op(B) = B the AVX-512 kernel reads B in place (see
//     readsBInPlace): too few A panels reuse a packed B to repay packing it.
//   * Few A panels (one row of C tiles): each product task packs the B
//     panels it uses into a per-thread buffer, instead of all of op(B) being
//     packed up front and read back from memory.
//   * Few rows with op(B) = Bᵀ (a linear layer's weight, m ≤
//     kWeightRowsMaxM; AVX2: kWeightRowsMaxMAvx2): the weight's rows are
//     read in place as the broadcast operand and op(A) is packed as the
//     vector one, so the weight is never transposed (see gemmWeightRows).
//   * Decode shapes (m ≤ kSmallM; with op(B) = Bᵀ, m ≤ kSmallMDots or
//     kSmallMDotsAvx2): B is streamed once, in place: B rows against
//     broadcast A for op(B) = B, dot products along k for op(B) = Bᵀ.
//
// Work split: with AVX-512, C is cut into one block per thread, and each
// thread packs and computes its block alone (gemmThreadBlocks): panels
// packed by one core and read by another were slow where the cores share no
// cache. Within a block (and for AVX2, all of C), packing runs as one task
// per panel and the product as one task per C tile (TM×TN, sizes chosen
// from the shape alone). A task owns its tile and walks k blocks in order,
// and every element's arithmetic is the same whatever the blocks and tiles,
// so results are bitwise independent of the thread count. Packed panels
// live in per-thread scratch buffers (pool workers read the caller's, or in
// thread blocks their own), so concurrent callers never share one.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cpu/cpu_features.h"
#include "cpu/gemm_blocking.h"
#include "cpu/thread_pool.h"
#include "cpu/vec_math.h"
#include "kernels.h"

// GCC 12's AVX-512 headers trip -Wuninitialized on their own
// _mm512_undefined_ps() inside shuffles and reductions (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lmkit {
namespace {

// ---------------------------------------------------------------- scalar reference

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

void gemmScalar(float* c, const float* a, const float* b, const GemmShape& s) {
  cpu::parallelRange(s.m, kRowGrain, [&](int64_t i0, int64_t i1) { gemmRowsScalar(c, a, b, s, i0, i1); });
}

// ---------------------------------------------------------------- packing

// Depth of a packed block: a 12-row A micro-panel of kKc depths is 18 KB,
// which stays in a 32 KB (Zen 4) or 48 KB (Zen 5) L1 beside the B lines
// streaming past, and k = 768 (a transformer width) is two whole blocks.
// Measured on Zen 4 against 256 with this loop order and with the B panel
// in L1 instead: +2–5% on the training shapes, +30% on 32×768·(768×768).
constexpr int64_t kKc = 384;
// Packed A + B of one super-block (a run of k blocks packed together) stays
// under this many floats (16 MB), so huge products do not double memory use.
constexpr int64_t kPackBudget = int64_t{4} << 20;

using Buffer = cpu::AlignedBuffer<float>;
using Scratch = cpu::PanelScratch<float>;
Buffer allocFloats(int64_t count) { return cpu::allocAligned<float>(count); }

thread_local Scratch tlsScratch;

// A panel of `w` rows or columns of a matrix is packed as kc groups of w
// values: dst[p·w + r] = element r at depth p, zero for r ≥ valid.
//
// packCopy: the w values of one depth are contiguous in the source
// (op(A) = Aᵀ, op(B) = B): src[p·ld + r]. It packs `panels` neighbouring
// panels at once (panel g from src + g·w into dst + g·w·kc, `valid` counted
// from src), so each source row is read as one run of panels·w values
// rather than once per panel in w-value pieces, ld apart.
//
// packCopy with vector loads and stores, 16 values at a time. Whole-vector
// loads where the panel is full (masked loads are slow on Zen 4/5), and the
// source row kPackPrefetchRows depths ahead is fetched by hand: rows lie ld
// floats apart, often a page or more, beyond the hardware prefetcher.
constexpr int64_t kPackPrefetchRows = 8;

LMKIT_TARGET_AVX512 void packCopyAvx512(float* dst, const float* src, int64_t ld, int64_t valid, int w,
                                        int64_t kc, int panels) {
  const int64_t run = static_cast<int64_t>(panels) * w;  // values read per source row
  for (int64_t p = 0; p < kc; ++p) {
    const float* from = src + p * ld;
    if (p + kPackPrefetchRows < kc)
      for (int64_t r = 0; r < std::min(run, valid); r += 16)
        _mm_prefetch(reinterpret_cast<const char*>(from + kPackPrefetchRows * ld + r), _MM_HINT_T0);
    for (int g = 0; g < panels; ++g) {
      const float* in = from + g * w;
      float* to = dst + g * w * kc + p * w;
      const int64_t present = std::clamp<int64_t>(valid - g * w, 0, w);
      if (w == 32 && present == 32) {
        _mm512_store_ps(to, _mm512_loadu_ps(in));
        _mm512_store_ps(to + 16, _mm512_loadu_ps(in + 16));
        continue;
      }
      for (int r0 = 0; r0 < w; r0 += 16) {
        const int64_t lanes = std::clamp<int64_t>(present - r0, 0, 16);
        const int width = std::min(16, w - r0);
        const __mmask16 load = lanes == 16 ? __mmask16(0xffff) : __mmask16((1u << lanes) - 1);
        const __mmask16 store = width == 16 ? __mmask16(0xffff) : __mmask16((1u << width) - 1);
        _mm512_mask_storeu_ps(to + r0, store, _mm512_maskz_loadu_ps(load, in + r0));
      }
    }
  }
}

// packTranspose: each of the w vectors is contiguous along depth
// (op(A) = A, op(B) = Bᵀ): src[r·ld + p].
//
// In-register transpose of 16 rows of 16 floats: v[i] lane j ↔ v[j] lane i.
LMKIT_TARGET_AVX512 inline void transpose16x16(__m512 v[16]) {
  __m512 t[16], u[16], x[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i) {
      x[8 * h + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0x88);
      x[8 * h + 4 + i] = _mm512_shuffle_f32x4(u[8 * h + i], u[8 * h + 4 + i], 0xdd);
    }
  for (int i = 0; i < 8; ++i) {
    v[i] = _mm512_shuffle_f32x4(x[i], x[8 + i], 0x88);
    v[8 + i] = _mm512_shuffle_f32x4(x[i], x[8 + i], 0xdd);
  }
}

// packTranspose in 16×16 blocks: 16 depths of up to 16 vectors are loaded,
// transposed in registers and stored as 16 groups (masked to the panel width).
// One group of 16 source rows at a time, walked along depth, each row's line
// kPackPrefetchDepth floats ahead fetched by hand: the source rows are ld
// apart and 16 streams at once outrun the hardware prefetcher (on Zen 4,
// loads waiting on memory were half of a 64×768·(3072×768)ᵀ product).
constexpr int64_t kPackPrefetchDepth = 64;

// 16 depths of source rows 0..kRows-1 (rows kRows..15 read as zeros), each
// row's line kPackPrefetchDepth floats ahead fetched when `fetch`, transposed:
// v[q] holds depth q of every row.
template <int kRows>
LMKIT_TARGET_AVX512 inline void loadTransposed(__m512 v[16], const float* src, int64_t ld, bool fetch) {
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (i >= kRows) {
      v[i] = _mm512_setzero_ps();
      continue;
    }
    const float* row = src + i * ld;
    if (fetch) _mm_prefetch(reinterpret_cast<const char*>(row + kPackPrefetchDepth), _MM_HINT_T0);
    v[i] = _mm512_loadu_ps(row);
  }
  transpose16x16(v);
}

LMKIT_TARGET_AVX512 void packTransposeAvx512(float* dst, const float* src, int64_t ld, int64_t valid, int w,
                                             int64_t kc) {
  for (int r0 = 0; r0 < w; r0 += 16) {
    const int width = std::min(16, w - r0);
    const __mmask16 rmask = width == 16 ? __mmask16(0xffff) : __mmask16((1u << width) - 1);
    const bool fullRows = width == 16 && r0 + 16 <= valid;
    for (int64_t p = 0; p < kc; p += 16) {
      const int64_t depths = std::min<int64_t>(16, kc - p);
      __m512 v[16];
      const bool fetch = p + kPackPrefetchDepth < kc;
      if (fullRows && depths == 16) {
        // The common, full block: whole-vector loads and stores.
        loadTransposed<16>(v, src + r0 * ld + p, ld, fetch);
#pragma GCC unroll 16
        for (int q = 0; q < 16; ++q) _mm512_storeu_ps(dst + (p + q) * w + r0, v[q]);
        continue;
      }
      if (w == 12 && valid >= 12 && depths == 16) {
        // A whole block of a 12-row panel (the AVX-512 kernel's height):
        // rows 12–15 are zeros, and each depth's 12 values are stored as a
        // whole vector whose last 4 lanes the next depth's store overwrites;
        // only the block's last store is masked. Against 16 masked stores,
        // packing a 1024×1024 A: +29% from memory, +18% from cache (Zen 5).
        loadTransposed<12>(v, src + p, ld, fetch);
        float* block = dst + p * 12;
#pragma GCC unroll 16
        for (int q = 0; q < 15; ++q) _mm512_storeu_ps(block + q * 12, v[q]);
        _mm512_mask_storeu_ps(block + 15 * 12, rmask, v[15]);
        continue;
      }
      const __mmask16 pmask = depths == 16 ? __mmask16(0xffff) : __mmask16((1u << depths) - 1);
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        v[i] = r0 + i < valid && i < width ? _mm512_maskz_loadu_ps(pmask, src + (r0 + i) * ld + p)
                                           : _mm512_setzero_ps();
      transpose16x16(v);
#pragma GCC unroll 16
      for (int q = 0; q < 16; ++q)
        if (q < depths) _mm512_mask_storeu_ps(dst + (p + q) * w + r0, rmask, v[q]);
    }
  }
}

// AVX2 packing, as the AVX-512 versions above, 8 values at a time. A w-wide
// group is stored whole where the panel is full; the few values of an edge
// panel go one by one (vmaskmovps stores are microcoded on AMD).
LMKIT_TARGET_AVX2 inline void copyRunAvx2(float* to, const float* in, int w) {
  int r = 0;
  for (; r + 8 <= w; r += 8) _mm256_storeu_ps(to + r, _mm256_loadu_ps(in + r));
  for (; r + 4 <= w; r += 4) _mm_storeu_ps(to + r, _mm_loadu_ps(in + r));
  for (; r < w; ++r) to[r] = in[r];
}

LMKIT_TARGET_AVX2 void packCopyAvx2(float* dst, const float* src, int64_t ld, int64_t valid, int w, int64_t kc,
                                    int panels) {
  const int64_t run = static_cast<int64_t>(panels) * w;
  for (int64_t p = 0; p < kc; ++p) {
    const float* from = src + p * ld;
    if (p + kPackPrefetchRows < kc) {
      const int64_t last = std::min(run, valid) - 1;
      for (int64_t r = 0; r < last; r += 16)
        _mm_prefetch(reinterpret_cast<const char*>(from + kPackPrefetchRows * ld + r), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(from + kPackPrefetchRows * ld + last), _MM_HINT_T0);
    }
    for (int g = 0; g < panels; ++g) {
      float* to = dst + g * w * kc + p * w;
      const int64_t present = std::clamp<int64_t>(valid - g * w, 0, w);
      if (present == w) {
        copyRunAvx2(to, from + g * w, w);
        continue;
      }
      for (int64_t r = 0; r < w; ++r) to[r] = r < present ? from[g * w + r] : 0.0f;
    }
  }
}

// In-register transpose of 8 rows of 8 floats: v[i] lane j ↔ v[j] lane i.
LMKIT_TARGET_AVX2 inline void transpose8x8(__m256 v[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    v[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

// packTranspose in 8×8 blocks of (rows r0.., depths p..). A block row past
// `valid` reads as zeros. A panel narrower than 8 (w = 6) stores 8 values per
// depth: the 2 extra land on the next depth's first values, which its own
// store then writes, so only the panel's last depth is stored value by value.
LMKIT_TARGET_AVX2 void packTransposeAvx2(float* dst, const float* src, int64_t ld, int64_t valid, int w,
                                         int64_t kc) {
  for (int r0 = 0; r0 < w; r0 += 8) {
    const int width = std::min(8, w - r0);
    const bool fullRows = r0 + 8 <= valid;
    for (int64_t p = 0; p < kc; p += 8) {
      const int64_t depths = std::min<int64_t>(8, kc - p);
      __m256 v[8];
      if (fullRows && depths == 8) {
        const bool fetch = p + kPackPrefetchDepth < kc;
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {
          const float* row = src + (r0 + i) * ld + p;
          if (fetch) _mm_prefetch(reinterpret_cast<const char*>(row + kPackPrefetchDepth), _MM_HINT_T0);
          v[i] = _mm256_loadu_ps(row);
        }
      } else {
        const __m256i pmask = cpu::vec::tailMask8(static_cast<int>(depths));
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i)
          v[i] = r0 + i < valid && i < width ? _mm256_maskload_ps(src + (r0 + i) * ld + p, pmask)
                                             : _mm256_setzero_ps();
      }
      transpose8x8(v);
#pragma GCC unroll 8
      for (int q = 0; q < 8; ++q) {
        if (q >= depths) break;
        float* to = dst + (p + q) * w + r0;
        if (width == 8 || p + q + 1 < kc) {
          _mm256_storeu_ps(to, v[q]);
          continue;
        }
        alignas(32) float last[8];
        _mm256_store_ps(last, v[q]);
        for (int r = 0; r < width; ++r) to[r] = last[r];
      }
    }
  }
}

using PackFn = void (*)(float* dst, const float* src, int64_t ld, int64_t valid, int w, int64_t kc);
using PackCopyFn = void (*)(float* dst, const float* src, int64_t ld, int64_t valid, int w, int64_t kc,
                            int panels);

// ---------------------------------------------------------------- micro-kernels

// C tile (rows × cols valid of MR×NR) = alpha·Σ_p ap[p·MR + r]·bp[p·ldb + j]
// + beta·C. bp is a packed panel (ldb = NR) or B itself
// (ldb = n; columns past `cols` are never read). The blocked driver passes
// beta = 1 for every k block after the first; beta = 0 never reads C.
using MicroKernel = void (*)(int64_t kc, const float* ap, const float* bp, int64_t ldb, float* c,
                             int64_t ldc, int rows, int cols, float alpha, float beta);

// AVX-512: MR×(16·NV), kMr512 × kNr512 in use. With 12×32: 24 accumulators
// + 2 B vectors + 1 broadcast of 32 zmm; 12 broadcasts and 2 loads feed 24
// FMAs per k step.
// (Measured on Zen 5 against 8×48, 6×64 and 14×32: 12×32 is as fast or
// faster on every training shape.)
constexpr int kMr512 = 12;
constexpr int kNv512 = 2;
constexpr int kNr512 = 16 * kNv512;

// kInPlace: bp is B itself, whose rows lie a page or more apart, beyond the
// hardware prefetcher's reach; fetch kPrefetchRows ahead by hand.
constexpr int64_t kPrefetchRows = 8;

// kRows: the rows of the (kMr512-wide) packed A panel computed. The last
// panel of m = 64 holds 4 rows: a 4-row kernel skips the 8 rows of zero
// padding (11% of a 64-token product's FMAs). Each computed element sees the
// same FMAs in the same order either way.
template <bool kInPlace, bool kFullLoads, int kRows = kMr512>
LMKIT_TARGET_AVX512 void microKernelAvx512(int64_t kc, const float* ap, const float* bp, int64_t ldb,
                                           float* c, int64_t ldc, int rows, int cols, float alpha,
                                           float beta) {
  static_assert(kRows >= 1 && kRows <= kMr512, "kRows is at most the panel width");
  constexpr int MR = kRows;
  constexpr int NV = kNv512;
  // Column masks, for B loads (a packed panel's padding reads as zeros either
  // way) and for C.
  __mmask16 mask[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    const int left = cols - 16 * v;
    mask[v] = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
  }
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
    // The C tile is needed only at the end; start fetching it now.
    if (r < rows)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p) {
    if (kInPlace) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v)
        _mm_prefetch(reinterpret_cast<const char*>(bp + kPrefetchRows * ldb + 16 * v), _MM_HINT_T0);
    }
    // Masked loads only where columns run out: on Zen 5 a masked load in
    // this loop costs two thirds of the kernel's speed, so packed panels
    // (zero padded) and full in-place tiles load whole vectors.
    __m512 b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      b[v] = kFullLoads ? _mm512_loadu_ps(bp + 16 * v) : _mm512_maskz_loadu_ps(mask[v], bp + 16 * v);
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(ap[r]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, b[v], acc[r][v]);
    }
    ap += kMr512;
    bp += ldb;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r < rows) {
      float* cr = c + r * ldc;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        __m512 out = _mm512_mul_ps(acc[r][v], va);
        if (beta != 0.0f) out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[v], cr + 16 * v), vb, out);
        _mm512_mask_storeu_ps(cr + 16 * v, mask[v], out);
      }
    }
  }
}

// AVX2: 6×16. 12 accumulators + 2 B vectors + 1 broadcast of 16 ymm.
constexpr int kMr256 = 6;
constexpr int kNr256 = 16;


// The AVX-512 kernel's contract in 8 lanes, on packed panels only (ldb =
// NR): read in place, B's rows n floats apart missed L1 on Zen 3 (n = 3072:
// 128×3072·(768 deep) ran 62 GFLOP/s in place, 163 packed; 128×768: 145 vs
// 165). kRows as there. vmaskmovps is slow on AMD (a masked store is
// microcoded on Zen 3), so only a tile narrower than 16 columns uses the
// masked forms; a full tile loads and stores C whole.
template <int kRows = kMr256>
LMKIT_TARGET_AVX2 void microKernelAvx2(int64_t kc, const float* ap, const float* bp, int64_t ldb,
                                       float* c, int64_t ldc, int rows, int cols, float alpha, float beta) {
  static_assert(kRows >= 1 && kRows <= kMr256, "kRows is at most the panel width");
  constexpr int MR = kRows;
  __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    acc0[r] = acc1[r] = _mm256_setzero_ps();
    if (r < rows) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  }
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(bp);
    const __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      const __m256 av = _mm256_broadcast_ss(ap + r);
      acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
    }
    ap += kMr256;
    bp += ldb;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  const bool whole = cols == kNr256;
  const __m256i m0 = cpu::vec::tailMask8(cols);
  const __m256i m1 = cpu::vec::tailMask8(cols - 8);
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    if (r < rows) {
      float* cr = c + r * ldc;
      __m256 v0 = _mm256_mul_ps(acc0[r], va);
      __m256 v1 = _mm256_mul_ps(acc1[r], va);
      if (whole) {
        if (beta != 0.0f) {
          v0 = _mm256_fmadd_ps(_mm256_loadu_ps(cr), vb, v0);
          v1 = _mm256_fmadd_ps(_mm256_loadu_ps(cr + 8), vb, v1);
        }
        _mm256_storeu_ps(cr, v0);
        _mm256_storeu_ps(cr + 8, v1);
        continue;
      }
      if (beta != 0.0f) {
        v0 = _mm256_fmadd_ps(_mm256_maskload_ps(cr, m0), vb, v0);
        v1 = _mm256_fmadd_ps(_mm256_maskload_ps(cr + 8, m1), vb, v1);
      }
      _mm256_maskstore_ps(cr, m0, v0);
      _mm256_maskstore_ps(cr + 8, m1, v1);
    }
  }
}

// ---------------------------------------------------------------- blocked driver

// One micro-kernel in three heights, for the last A panel of m: at most 4,
// at most 8, or all mr rows.
struct KernelHeights {
  MicroKernel upTo4, upTo8, full;
  MicroKernel forRows(int rows) const { return rows <= 4 ? upTo4 : rows <= 8 ? upTo8 : full; }
  explicit operator bool() const { return full != nullptr; }
};

// Thread blocks of C may end part-way through a 12-row panel at any multiple
// of the shortest height without wasting FMAs (cpu::threadBlock).
constexpr int kRowStep512 = 4;

template <bool kInPlace, bool kFullLoads>
constexpr KernelHeights avx512Heights() {
  return {microKernelAvx512<kInPlace, kFullLoads, 4>, microKernelAvx512<kInPlace, kFullLoads, 8>,
          microKernelAvx512<kInPlace, kFullLoads>};
}

// The 6-row AVX2 panel: a 4-row kernel for a last panel of ≤ 4 rows.
constexpr KernelHeights kAvx2Heights{microKernelAvx2<4>, microKernelAvx2<>, microKernelAvx2<>};

struct Blocking {
  KernelHeights kernel;
  KernelHeights kernelInPlace;      // reads op(B) = B in place, full-width tiles; null if unsupported
  KernelHeights kernelInPlaceEdge;  // the same for the last, narrower tile (masked loads)
  int mr, nr;
  int rowStep;  // thread blocks' rows are cut every rowStep (cpu::threadBlock)
  PackCopyFn packCopy;
  PackFn packTranspose;
  int64_t maxTilePanels;  // A panels per C tile at most (cpu::planGemmTiles)
  // One block of C per thread (cpu::planThreadGrid). The AVX2 kernels, at
  // half the AVX-512 FMA rate, read shared panels as fast as their own
  // (Zen 5 forced to AVX2, 2 threads: 2048³ and 256×768·(3072×768)ᵀ within
  // ±3%), so they keep the shared tiles measured on Zen 3.
  bool blockPerThread;
};

// With few A panels to reuse it, packing B costs as much as the product
// (tokens×768 · 768×3072 at 64 tokens), so a kernel that can read B in place
// does so: always up to kInPlaceBAlwaysM rows, and up to kInPlaceBMaxM rows
// when k ≤ kInPlaceBMaxK. Deeper products pack: B's rows, n floats apart,
// fall into a few L1 sets (n·4 bytes a multiple of 1 KB), so an in-place
// tile is read from L2 by every A panel, which a deep walk does not repay
// (Zen 4, 64×768·(3072×768): packing 1.2× faster). Results are the same
// either way.
constexpr int64_t kInPlaceBAlwaysM = 32;
constexpr int64_t kInPlaceBMaxM = 128;
constexpr int64_t kInPlaceBMaxK = 1024;

bool readsBInPlace(const GemmShape& s, const Blocking& bl) {
  if (!bl.kernelInPlace || s.transB) return false;
  return s.m <= kInPlaceBAlwaysM || (s.m <= kInPlaceBMaxM && s.k <= kInPlaceBMaxK);
}

// A task's B panels (≤ 8 × kKc × kNr512 floats) packed inside the task, when
// B is packed per task rather than up front (see gemmBlocked). Each pool
// worker and each caller has its own.
thread_local Scratch tlsPanel;

// With one tile row, each task packs the B panels it uses into its own
// buffer just before using them, instead of all of op(B) being packed up
// front: a product with few A panels (64–192 tokens through a 768×3072
// weight, Zen 4) spends as much on the up-front pack's round trip through
// memory as on the arithmetic. A second tile row would pack the same
// panels again: Zen 5, 2 threads (one 512-row block of C each, two tile
// rows), 1024³ ran 355 GFLOP/s packing in the tasks and 394 up front;
// 512³, 768³, 192–576 tokens through 768- and 3072-wide weights and a
// 384×384 weight gradient within ±2.5% at 1 and 2 threads (AVX2 forced:
// ±3%). The micro-kernel calls and their order are the same either way, so
// the results are too.
constexpr int64_t kPackBInTaskMaxTileRows = 1;

// Panels per up-front packing task where the pack is a copy (op(A) = Aᵀ,
// op(B) = B): a source row is then read as one run of 48 (A) or 64 (B)
// values instead of 12 or 32. Packing op(A) = Aᵀ panel by panel was 23% of
// a 1152×384·(2048-deep) weight-gradient product on Zen 4.
constexpr int64_t kCopyGroupA = 4;
constexpr int64_t kCopyGroupB = 2;

// C's block `blk` (all of C, or one thread's share; see gemmThreadBlocks),
// packing at most about packBudget floats at a time.
void gemmBlocked(float* c, const float* a, const float* b, const GemmShape& s, const Blocking& bl,
                 const cpu::CBlock& blk, int64_t packBudget) {
  const cpu::BlockOperands op = cpu::blockOperands(c, a, b, s, blk);
  const bool oneThread = cpu::insideParallelLoop() || cpu::numThreads() == 1;
  const cpu::GemmTiling t = cpu::planGemmTiles(op.shape, bl.mr, bl.nr, bl.maxTilePanels,
                                               oneThread ? cpu::kMinTilesOneThread : cpu::kMinTilesShared);
  const int64_t mPad = t.mPanels * bl.mr;
  const bool packB = !readsBInPlace(op.shape, bl);
  const bool packBInTask = packB && t.mTiles <= kPackBInTaskMaxTileRows;
  const bool packBUpFront = packB && !packBInTask;
  const int64_t nPad = packBUpFront ? t.nPanels * bl.nr : 0;
  // k super-block: whole kKc blocks whose packed A and B fit the budget.
  // Where one thread runs all the tiles, one k block at a time: the panels
  // it packs are read back while still in cache, and no barrier separates
  // the rounds. Zen 5, 2 threads, interleaved, medians of 5–9 runs on a
  // noisy host, in four A/B sessions: 1024³ +1.4% to +5.5%, 2048³ −0.6% to
  // +4%, 768³ +1.7%, one thread 1024³ +2–3%; 4096×768·(768×768)ᵀ and
  // 1024×768·(3072×768)ᵀ within ±3%. The scratch then holds one k block.
  const int64_t superK =
      oneThread ? kKc : std::max<int64_t>(kKc, std::min<int64_t>(s.k, packBudget / (mPad + nPad)) / kKc * kKc);
  const int64_t depth = std::min(superK, s.k);
  // A's panels, then B's from the next 64-byte boundary (B is read with
  // aligned loads).
  const int64_t aFloats = (mPad * depth + 15) / 16 * 16;
  const int64_t total = aFloats + nPad * depth;
  Buffer oneOff;
  float* scratch = total <= 2 * packBudget ? tlsScratch.get(total) : (oneOff = allocFloats(total)).get();
  float* const apack = scratch;
  float* const bpack = scratch + aFloats;

  // Packs `count` panels of op(B) from column j0, depths p0..p0+kc, at dst
  // (panel g at dst + g·nr·kc). A copy reads each row of B once for all of
  // them; a transpose goes panel by panel.
  auto packBPanels = [&](float* dst, int64_t j0, int64_t p0, int64_t kc, int64_t count) {
    if (!s.transB)
      return bl.packCopy(dst, op.b + p0 * s.n + j0, s.n, blk.cols - j0, bl.nr, kc, static_cast<int>(count));
    for (int64_t g = 0; g < count; ++g) {
      const int64_t jg = j0 + g * bl.nr;
      bl.packTranspose(dst + g * bl.nr * kc, op.b + jg * s.k + p0, s.k, std::min<int64_t>(bl.nr, blk.cols - jg), bl.nr,
                       kc);
    }
  };
  // The up-front pack runs as tasks of neighbouring panels: kCopyGroup of
  // them where the pack is a copy (one run per source row), one otherwise.
  const int64_t aGroup = s.transA ? kCopyGroupA : 1;
  const int64_t bGroup = s.transB ? 1 : kCopyGroupB;
  const int64_t aTasks = cpu::ceilDiv(t.mPanels, aGroup);
  const int64_t bTasks = packBUpFront ? cpu::ceilDiv(t.nPanels, bGroup) : 0;

  for (int64_t q0 = 0; q0 < s.k; q0 += superK) {
    const int64_t qk = std::min(superK, s.k - q0);
    // Block starting at depth d (relative to q0) holds panel i at
    // pack + d·pad + i·(panel width)·kc.
    cpu::parallelFor(aTasks + bTasks, [&](int64_t task) {
      for (int64_t d = 0; d < qk; d += kKc) {
        const int64_t kc = std::min(kKc, qk - d);
        const int64_t p0 = q0 + d;
        if (task < aTasks) {
          const int64_t first = task * aGroup;
          const int64_t i0 = first * bl.mr;
          float* dst = apack + d * mPad + i0 * kc;
          if (s.transA)
            bl.packCopy(dst, op.a + p0 * s.m + i0, s.m, blk.rows - i0, bl.mr, kc,
                        static_cast<int>(std::min(aGroup, t.mPanels - first)));
          else bl.packTranspose(dst, op.a + i0 * s.k + p0, s.k, std::min<int64_t>(bl.mr, blk.rows - i0), bl.mr, kc);
        } else {
          const int64_t first = (task - aTasks) * bGroup;
          const int64_t j0 = first * bl.nr;
          packBPanels(bpack + d * nPad + j0 * kc, j0, p0, kc, std::min(bGroup, t.nPanels - first));
        }
      }
    });
    cpu::parallelFor(t.mTiles * t.nTiles, [&](int64_t task) {
      const int64_t ip0 = (task / t.nTiles) * t.tm, ip1 = std::min(ip0 + t.tm, t.mPanels);
      const int64_t jp0 = (task % t.nTiles) * t.tn, jp1 = std::min(jp0 + t.tn, t.nPanels);
      float* const panels = packBInTask ? tlsPanel.get(t.tn * kKc * bl.nr) : nullptr;
      for (int64_t d = 0; d < qk; d += kKc) {
        const int64_t kc = std::min(kKc, qk - d);
        const float beta = q0 + d == 0 ? s.beta : 1.0f;
        const float* ablock = apack + d * mPad;
        if (packB) {
          // Each A panel stays in L1 while it meets the tile's B panels (L2).
          const float* bpanels = packBInTask ? panels : bpack + d * nPad + jp0 * bl.nr * kc;
          if (packBInTask) packBPanels(panels, jp0 * bl.nr, q0 + d, kc, jp1 - jp0);
          for (int64_t ip = ip0; ip < ip1; ++ip) {
            const int rows = static_cast<int>(std::min<int64_t>(bl.mr, blk.rows - ip * bl.mr));
            const MicroKernel kernel = bl.kernel.forRows(rows);
            for (int64_t jp = jp0; jp < jp1; ++jp) {
              const int cols = static_cast<int>(std::min<int64_t>(bl.nr, blk.cols - jp * bl.nr));
              kernel(kc, ablock + ip * bl.mr * kc, bpanels + (jp - jp0) * bl.nr * kc, bl.nr,
                     op.c + ip * bl.mr * s.n + jp * bl.nr, s.n, rows, cols, s.alpha, beta);
            }
          }
          continue;
        }
        // B in place: its rows lie n apart, so each tile of it is walked down
        // all the A panels while its lines are cached.
        for (int64_t jp = jp0; jp < jp1; ++jp) {
          const int cols = static_cast<int>(std::min<int64_t>(bl.nr, blk.cols - jp * bl.nr));
          const float* bpanel = op.b + (q0 + d) * s.n + jp * bl.nr;
          const KernelHeights& kernel = cols == bl.nr ? bl.kernelInPlace : bl.kernelInPlaceEdge;
          for (int64_t ip = ip0; ip < ip1; ++ip) {
            const int rows = static_cast<int>(std::min<int64_t>(bl.mr, blk.rows - ip * bl.mr));
            kernel.forRows(rows)(kc, ablock + ip * bl.mr * kc, bpanel, s.n, op.c + ip * bl.mr * s.n + jp * bl.nr, s.n,
                                 rows, cols, s.alpha, beta);
          }
        }
      }
    });
  }
}

// The blocked GEMM on all threads: one block of C per thread where the
// blocking asks for it (cpu::planThreadGrid), else all of C with the pool
// sharing its tiles.
void gemmThreadBlocks(float* c, const float* a, const float* b, const GemmShape& s, const Blocking& bl) {
  cpu::forEachThreadBlock(s, bl.mr, bl.nr, bl.rowStep, bl.blockPerThread, kPackBudget,
                          [&](const cpu::CBlock& blk, int64_t budget) { gemmBlocked(c, a, b, s, bl, blk, budget); });
}

// ---------------------------------------------------------------- weight rows in place

// op(B) = Bᵀ (a linear layer's n×k weight W) with few rows of op(A):
// packing W's columns into NR panels is a transpose that each element of W
// repays over only m FMAs (64×768·(768×768)ᵀ: 21% of the time in
// packTransposeAvx512). Here the roles turn: W is the broadcast operand,
// read in place along its rows (each contiguous in k), and op(A) is packed
// into panels (for each p, 32 consecutive rows; AVX2: 16) as the vector
// operand. The accumulators hold a tile of Cᵀ, transposed in registers on
// the way out. Zen 5, AVX-512, 1 thread, medians in GFLOP/s, packed path →
// this: 16 tokens ×768·(768×768)ᵀ 132 → 168, 64 tokens 193 → 225,
// 64×768·(3072×768)ᵀ 181 → 210, 64×3072·(768×3072)ᵀ 170 → 211,
// 128×768·(3072×768)ᵀ 191 → 208; at 2 threads 64×768·(768×768)ᵀ 373 →
// 417. From 192 tokens on the two are within ±3% (512×768·(3072×768)ᵀ: 203
// against 199), so the packed path keeps them.
constexpr int64_t kWeightRowsMaxM = 128;  // from kSmallMDots + 1 rows
// The AVX2 form against the AVX2 packed path (Zen 5 forced to AVX2, a proxy:
// no AVX2-only CPU measured it), 1 / 2 threads: 16×768·(768×768)ᵀ +40% /
// +57%, 64 tokens +9% / +31%, 64×768·(3072×768)ᵀ +11% / +19%,
// 256×768·(768×768)ᵀ +3% / +16%; 1024×768·(3072×768)ᵀ −3% / +3%.
constexpr int64_t kWeightRowsMaxMAvx2 = 256;
// AVX-512: 12 rows of W (columns of C) against a panel of 32 rows of op(A)
// (rows of C) per kernel call.
constexpr int kWeightRows = 12;
constexpr int kTokenPanel = 32;

// One depth of weightRowsKernelAvx512: W row r = 3q + s at w3[q] + s·ldw
// (four pointers and one stride address the twelve rows).
template <int NV>
LMKIT_TARGET_AVX512 inline __attribute__((always_inline)) void weightRowsStep(__m512 (&acc)[kWeightRows][NV],
                                                                              const float* const (&w3)[4],
                                                                              int64_t ldw, const float* x, int64_t p) {
  __m512 xv[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) xv[v] = _mm512_load_ps(x + 16 * v);
#pragma GCC unroll 12
  for (int r = 0; r < kWeightRows; ++r) {
    const __m512 wv = _mm512_set1_ps(w3[r / 3][(r % 3) * ldw + p]);
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(wv, xv[v], acc[r][v]);
  }
}

// C[i, j] = alpha·Σ_p W[j, p]·xp[p·ldx + i] + beta·C for i < rows (at most
// 16·NV) and j < cols (at most 12); beta = 0 never reads C. All twelve W
// rows, ldw apart, are read: the caller pads a narrower last group.
// The hardware prefetcher keeps up with the twelve row streams: fetching
// 64 or 128 depths ahead by hand measured within noise.
template <int NV>
LMKIT_TARGET_AVX512 void weightRowsKernelAvx512(int64_t kc, const float* w, int64_t ldw, const float* xp,
                                                int64_t ldx, float* c, int64_t ldc, int rows, int cols,
                                                float alpha, float beta) {
  __m512 acc[kWeightRows][NV];
#pragma GCC unroll 12
  for (int r = 0; r < kWeightRows; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
  const float* const w3[4] = {w, w + 3 * ldw, w + 6 * ldw, w + 9 * ldw};
  for (int64_t p = 0; p < kc; ++p) weightRowsStep<NV>(acc, w3, ldw, xp + p * ldx, p);
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __mmask16 colMask = static_cast<__mmask16>((1u << cols) - 1);
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    __m512 t[16];
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) t[r] = r < kWeightRows ? acc[r][v] : _mm512_setzero_ps();
    transpose16x16(t);  // t[l] lane j = C[16v + l, j]
#pragma GCC unroll 16
    for (int l = 0; l < 16; ++l) {
      if (16 * v + l >= rows) break;
      float* cr = c + (16 * v + l) * ldc;
      __m512 out = _mm512_mul_ps(t[l], va);
      if (beta != 0.0f) out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(colMask, cr), vb, out);
      _mm512_mask_storeu_ps(cr, colMask, out);
    }
  }
}

// AVX2: 6 rows of W against 16 rows of op(A): 12 accumulators + 2 vectors
// + 1 broadcast of 16 ymm. Each row of the 6-column tile of C is stored as
// 4 + 2 floats (vmaskmovps stores are microcoded on AMD); a narrower last
// tile goes value by value.
constexpr int kWeightRowsAvx2 = 6;
constexpr int kTokenPanelAvx2 = 16;

template <int NV>
LMKIT_TARGET_AVX2 void weightRowsKernelAvx2(int64_t kc, const float* w, int64_t ldw, const float* xp, int64_t ldx,
                                            float* c, int64_t ldc, int rows, int cols, float alpha, float beta) {
  constexpr int NJ = kWeightRowsAvx2;
  // alpha and beta wait in memory: kept in registers across the loop, they
  // left GCC 12 one short of the 15 ymm the loop needs, and it spilled an
  // accumulator instead (a store and a reload on every depth, half speed).
  volatile float alphaAtEnd = alpha, betaAtEnd = beta;
  __m256 acc[NJ][NV];
#pragma GCC unroll 6
  for (int r = 0; r < NJ; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  const float* const w3[2] = {w, w + 3 * ldw};
  for (int64_t p = 0; p < kc; ++p) {
    __m256 xv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) xv[v] = _mm256_load_ps(xp + p * ldx + 8 * v);
#pragma GCC unroll 6
    for (int r = 0; r < NJ; ++r) {
      const __m256 wv = _mm256_broadcast_ss(w3[r / 3] + (r % 3) * ldw + p);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(wv, xv[v], acc[r][v]);
    }
  }
  alpha = alphaAtEnd;
  beta = betaAtEnd;
  const __m256 va = _mm256_set1_ps(alpha);
  const __m128 vb = _mm_set1_ps(beta);
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    __m256 t[8];
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) t[r] = r < NJ ? acc[r][v] : _mm256_setzero_ps();
    transpose8x8(t);  // t[l] lane j = C[8v + l, j]
#pragma GCC unroll 8
    for (int l = 0; l < 8; ++l) {
      if (8 * v + l >= rows) break;
      float* cr = c + (8 * v + l) * ldc;
      const __m256 out = _mm256_mul_ps(t[l], va);
      if (cols == NJ) {
        __m128 lo = _mm256_castps256_ps128(out);
        __m128 hi = _mm256_extractf128_ps(out, 1);
        if (beta != 0.0f) {
          lo = _mm_fmadd_ps(_mm_loadu_ps(cr), vb, lo);
          hi = _mm_fmadd_ps(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(cr + 4))), vb, hi);
        }
        _mm_storeu_ps(cr, lo);
        _mm_store_sd(reinterpret_cast<double*>(cr + 4), _mm_castps_pd(hi));
        continue;
      }
      float lanes[8];
      _mm256_storeu_ps(lanes, out);
      for (int j = 0; j < cols; ++j) cr[j] = beta == 0.0f ? lanes[j] : std::fma(cr[j], beta, lanes[j]);
    }
  }
}

// The ISA's pieces of the weight-rows path.
using WeightRowsKernel = void (*)(int64_t kc, const float* w, int64_t ldw, const float* xp, int64_t ldx, float* c,
                                  int64_t ldc, int rows, int cols, float alpha, float beta);
struct WeightRowsIsa {
  int groupRows;  // rows of W per kernel call
  int panelRows;  // rows of op(A) per packed panel
  WeightRowsKernel halfPanel, fullPanel;  // for panels of ≤ panelRows / 2 rows, and of more
  PackCopyFn packCopy;
  PackFn packTranspose;
};
constexpr WeightRowsIsa kWeightRowsOnAvx512{kWeightRows, kTokenPanel, weightRowsKernelAvx512<1>,
                                            weightRowsKernelAvx512<2>, packCopyAvx512, packTransposeAvx512};
constexpr WeightRowsIsa kWeightRowsOnAvx2{kWeightRowsAvx2, kTokenPanelAvx2, weightRowsKernelAvx2<1>,
                                          weightRowsKernelAvx2<2>, packCopyAvx2, packTransposeAvx2};

// Depth per pass: all of k up to kWeightRowsMaxDepth, so C is written once
// (k = 768: 12 W rows of 36 KB stay in Zen 5's 48 KB L1 while they meet
// every panel), else blocks of kWeightRowsDepth. Zen 5, 1 thread: whole k
// against 384-deep blocks +4–6% at k = 768; 768-deep blocks against 512 or
// 1024 within noise at k = 3072–4096, whole k (no blocks) 5–10% slower.
constexpr int64_t kWeightRowsMaxDepth = 1024;
constexpr int64_t kWeightRowsDepth = 768;
// W row groups per product task (48 columns of C; AVX2: 24).
constexpr int64_t kWeightGroupsPerTask = 4;

// The last group of W rows, zero padded to a whole group; one per thread.
thread_local Scratch tlsWeightEdge;

// C's block `blk` (see gemmThreadBlocks): op(A)'s panels packed per depth
// pass, then each group of W rows walked down all of them.
void gemmWeightRowsBlock(float* c, const float* a, const float* b, const GemmShape& s, const cpu::CBlock& blk,
                         const WeightRowsIsa& isa) {
  const cpu::BlockOperands op = cpu::blockOperands(c, a, b, s, blk);
  const int64_t m = blk.rows, n = blk.cols;
  const int64_t depth = s.k <= kWeightRowsMaxDepth ? s.k : kWeightRowsDepth;
  const int64_t width = isa.panelRows;
  const int64_t panels = cpu::ceilDiv(m, width);
  const int64_t groups = cpu::ceilDiv(n, isa.groupRows);
  float* const xpack = tlsScratch.get(panels * width * depth);
  for (int64_t q0 = 0; q0 < s.k; q0 += depth) {
    const int64_t kc = std::min(depth, s.k - q0);
    const float beta = q0 == 0 ? s.beta : 1.0f;
    cpu::parallelFor(panels, [&](int64_t ip) {
      const int64_t i0 = ip * width;
      float* dst = xpack + ip * width * kc;
      if (s.transA) isa.packCopy(dst, op.a + q0 * s.m + i0, s.m, m - i0, isa.panelRows, kc, 1);
      else isa.packTranspose(dst, op.a + i0 * s.k + q0, s.k, std::min(width, m - i0), isa.panelRows, kc);
    });
    cpu::parallelFor(cpu::ceilDiv(groups, kWeightGroupsPerTask), [&](int64_t task) {
      const int64_t lastGroup = std::min(groups, (task + 1) * kWeightGroupsPerTask);
      for (int64_t g = task * kWeightGroupsPerTask; g < lastGroup; ++g) {
        const int64_t j0 = g * isa.groupRows;
        const int cols = static_cast<int>(std::min<int64_t>(isa.groupRows, n - j0));
        const float* w = op.b + j0 * s.k + q0;
        int64_t ldw = s.k;
        if (cols < isa.groupRows) {
          float* edge = tlsWeightEdge.get(isa.groupRows * kc);
          std::memset(edge, 0, sizeof(float) * isa.groupRows * kc);
          for (int r = 0; r < cols; ++r) std::memcpy(edge + r * kc, w + r * s.k, sizeof(float) * kc);
          w = edge;
          ldw = kc;
        }
        for (int64_t ip = 0; ip < panels; ++ip) {
          const int rows = static_cast<int>(std::min(width, m - ip * width));
          const WeightRowsKernel kernel = 2 * rows <= isa.panelRows ? isa.halfPanel : isa.fullPanel;
          kernel(kc, w, ldw, xpack + ip * width * kc, width, op.c + ip * width * s.n + j0, s.n, rows, cols, s.alpha,
                 beta);
        }
      }
    });
  }
}

// One block of C per thread, as gemmThreadBlocks, cut on whole panels and
// row groups. Each element's FMAs run in depth order whatever the blocks,
// so results do not depend on the thread count.
void gemmWeightRows(float* c, const float* a, const float* b, const GemmShape& s, const WeightRowsIsa& isa) {
  cpu::forEachThreadBlock(s, isa.panelRows, isa.groupRows, isa.panelRows, true, kPackBudget,
                          [&](const cpu::CBlock& blk, int64_t) { gemmWeightRowsBlock(c, a, b, s, blk, isa); });
}

// ---------------------------------------------------------------- decode shapes (AVX-512)

// m ≤ kSmallM: one pass over B in place. Tasks are column chunks of op(B).
constexpr int64_t kSmallM = 8;
// op(B) = Bᵀ: dot products for up to 4 rows; from 5 rows gemmWeightRows is
// as fast or faster (Zen 5, ×768·(3072×768)ᵀ, GFLOP/s at 1 / 2 threads:
// 5 rows 60 / 102 against 57 / 105, 6 rows 58 / 113 against 64 / 122,
// 8 rows 62 / 120 against 99 / 164).
constexpr int64_t kSmallMDots = 4;
// AVX2 likewise up to 5 rows (Zen 5 forced to AVX2, 1 / 2 threads: 5 rows
// 59 / 107 against 48 / 97, 6 rows 58 / 112 against 59 / 119, 8 rows
// 61 / 113 against 78 / 157).
constexpr int64_t kSmallMDotsAvx2 = 5;
constexpr int64_t kSmallChunkN = 64;   // columns per task, op(B) = B
constexpr int64_t kSmallChunkNt = 16;  // columns per task, op(B) = Bᵀ

// C[i, j0..j0+16·NV) for RI rows of A (row-major m×k, ap), op(B) = B.
template <int RI, int NV>
LMKIT_TARGET_AVX512 void smallRowsAvx512(float* c, const float* ap, const float* b, const GemmShape& s,
                                         int64_t i0, int64_t j0, int cols) {
  __m512 acc[RI][NV];
  __mmask16 mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) {
    const int left = cols - 16 * v;
    mask[v] = left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
#pragma GCC unroll 8
    for (int r = 0; r < RI; ++r) acc[r][v] = _mm512_setzero_ps();
  }
  const float* arow = ap + i0 * s.k;
  const float* bp = b + j0;
  for (int64_t p = 0; p < s.k; ++p, bp += s.n) {
    if (p + kPrefetchRows < s.k) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(bp + kPrefetchRows * s.n + 16 * v), _MM_HINT_T0);
    }
    __m512 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(mask[v], bp + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < RI; ++r) {
      const __m512 av = _mm512_set1_ps(arow[r * s.k + p]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const __m512 va = _mm512_set1_ps(s.alpha);
  const __m512 vb = _mm512_set1_ps(s.beta);
#pragma GCC unroll 8
  for (int r = 0; r < RI; ++r) {
    float* cr = c + (i0 + r) * s.n + j0;
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m512 out = _mm512_mul_ps(acc[r][v], va);
      if (s.beta != 0.0f) out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[v], cr + 16 * v), vb, out);
      _mm512_mask_storeu_ps(cr + 16 * v, mask[v], out);
    }
  }
}

// 16 depths of the dot products of smallDotsAvx512 (k − p ≥ 16 when kWhole).
// Each B row's line kDotsPrefetchDepth floats ahead is fetched by hand:
// Zen 5, (1–4)×768·(3072×768)ᵀ, against none: +6–24% at 1 and 2 threads
// (64 ahead: +3–22%).
constexpr int64_t kDotsPrefetchDepth = 128;
template <int RI, int RJ, bool kWhole>
LMKIT_TARGET_AVX512 inline __attribute__((always_inline)) void smallDotsStep(
    __m512 (&acc)[RI][RJ], const float* ap, const float* b, const GemmShape& s, int64_t i0, int64_t j0,
    int64_t p, __mmask16 m) {
  __m512 bv[RJ];
  if (kWhole)
#pragma GCC unroll 4
    for (int q = 0; q < RJ; ++q)
      _mm_prefetch(reinterpret_cast<const char*>(b + (j0 + q) * s.k + p + kDotsPrefetchDepth), _MM_HINT_T0);
#pragma GCC unroll 4
  for (int q = 0; q < RJ; ++q)
    bv[q] = kWhole ? _mm512_loadu_ps(b + (j0 + q) * s.k + p) : _mm512_maskz_loadu_ps(m, b + (j0 + q) * s.k + p);
#pragma GCC unroll 8
  for (int r = 0; r < RI; ++r) {
    const __m512 av =
        kWhole ? _mm512_loadu_ps(ap + (i0 + r) * s.k + p) : _mm512_maskz_loadu_ps(m, ap + (i0 + r) * s.k + p);
#pragma GCC unroll 4
    for (int q = 0; q < RJ; ++q) acc[r][q] = _mm512_fmadd_ps(av, bv[q], acc[r][q]);
  }
}

// C[i, j..j+RJ) for RI rows of A, op(B) = Bᵀ: dot products along k, 16 lanes
// at a time, reduced at the end.
template <int RI, int RJ>
LMKIT_TARGET_AVX512 void smallDotsAvx512(float* c, const float* ap, const float* b, const GemmShape& s,
                                         int64_t i0, int64_t j0) {
  __m512 acc[RI][RJ];
#pragma GCC unroll 8
  for (int r = 0; r < RI; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < RJ; ++q) acc[r][q] = _mm512_setzero_ps();
  // Whole vectors, then the masked tail of k (masked loads in the main loop
  // are slow on Zen 5).
  int64_t p = 0;
  for (; p + 16 <= s.k; p += 16) smallDotsStep<RI, RJ, true>(acc, ap, b, s, i0, j0, p, __mmask16(0xffff));
  if (p < s.k) smallDotsStep<RI, RJ, false>(acc, ap, b, s, i0, j0, p, __mmask16((1u << (s.k - p)) - 1));
#pragma GCC unroll 8
  for (int r = 0; r < RI; ++r) {
    float* cr = c + (i0 + r) * s.n + j0;
#pragma GCC unroll 4
    for (int q = 0; q < RJ; ++q) {
      const float dot = _mm512_reduce_add_ps(acc[r][q]);
      cr[q] = s.beta == 0.0f ? s.alpha * dot : s.alpha * dot + s.beta * cr[q];
    }
  }
}

// Row groups: up to 4 rows × 64 columns, or 5–8 rows × 32 columns (16 zmm
// accumulators either way); for op(B) = Bᵀ, up to 4 rows × 4 columns (AVX-512
// sends Bᵀ products of more rows to gemmWeightRows).
template <int RI>
LMKIT_TARGET_AVX512 void smallRowGroup(float* c, const float* ap, const float* b, const GemmShape& s,
                                       int64_t j0, int64_t j1) {
  constexpr int NV = RI <= 4 ? 4 : 2;
  for (int64_t j = j0; j < j1; j += 16 * NV)
    smallRowsAvx512<RI, NV>(c, ap, b, s, 0, j, static_cast<int>(std::min<int64_t>(16 * NV, j1 - j)));
}

template <int RI>
LMKIT_TARGET_AVX512 void smallDotGroup(float* c, const float* ap, const float* b, const GemmShape& s,
                                       int64_t j0, int64_t j1) {
  constexpr int RJ = 4;
  int64_t j = j0;
  for (; j + RJ <= j1; j += RJ) smallDotsAvx512<RI, RJ>(c, ap, b, s, 0, j);
  for (; j < j1; ++j) smallDotsAvx512<RI, 1>(c, ap, b, s, 0, j);
}

template <int RI>
void smallChunk(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0, int64_t j1) {
  if (s.transB) smallDotGroup<RI>(c, ap, b, s, j0, j1);
  else smallRowGroup<RI>(c, ap, b, s, j0, j1);
}

// ---------------------------------------------------------------- decode shapes (AVX2)

// The same one pass over B in 8 lanes. 16 ymm registers hold RI·NV (or
// RI·RJ) accumulators, the B vectors and one of A: up to 2 rows × 4 vectors,
// 3–4 rows × 2, 5–8 rows × 1. Full vectors in the loops; k's tail (op(B) = Bᵀ)
// and the last columns (op(B) = B) are masked loads, never masked stores.

// Columns per op(B) = B task: about 4 tasks per thread, whole 32-column
// blocks, at most kSmallChunkNAvx2. (The results do not depend on it.)
constexpr int64_t kSmallChunkNAvx2 = 512;
int64_t avx2RowChunk(int64_t n) {
  const int64_t perTask = cpu::ceilDiv(n, 4 * int64_t{cpu::numThreads()});
  return std::clamp<int64_t>(cpu::ceilDiv(perTask, 32) * 32, 32, kSmallChunkNAvx2);
}

// op(B) = B, columns [j0, j0 + cols) (cols ≤ kSmallChunkNAvx2) of C. B is
// walked along its rows: kSmallDepthBlock rows at a time, each 8·NV-column
// block of them met with its accumulators loaded from and stored back to
// `acc` (L1), so each row of B is read as one run of up to 2 KB. Walking
// down a 32-column strip instead read 128-byte pieces n floats apart, which
// for n = 3072 (12 KB) all fall into the same L1 sets (Zen 3: 1×3072·(768
// deep) 10.4 GFLOP/s, OpenBLAS 12.8). Every element sees the same FMAs in
// the same order either way.
constexpr int64_t kSmallDepthBlock = 4;

template <int RI, int NV>
LMKIT_TARGET_AVX2 void smallRowsAvx2(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0,
                                     int cols) {
  alignas(32) float acc[RI][kSmallChunkNAvx2];
  const int width = (cols + 7) / 8 * 8;
  for (int r = 0; r < RI; ++r) std::fill(acc[r], acc[r] + width, 0.0f);
  for (int64_t p0 = 0; p0 < s.k; p0 += kSmallDepthBlock) {
    const int64_t p1 = std::min(s.k, p0 + kSmallDepthBlock);
    for (int j = 0; j < cols; j += 8 * NV) {
      __m256i mask[NV];
      __m256 sum[RI][NV];
      const bool whole = j + 8 * NV <= cols;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        mask[v] = cpu::vec::tailMask8(cols - j - 8 * v);
#pragma GCC unroll 8
        for (int r = 0; r < RI; ++r) sum[r][v] = _mm256_load_ps(acc[r] + j + 8 * v);
      }
      for (int64_t p = p0; p < p1; ++p) {
        const float* bp = b + p * s.n + j0 + j;
        __m256 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v)
          bv[v] = whole ? _mm256_loadu_ps(bp + 8 * v) : _mm256_maskload_ps(bp + 8 * v, mask[v]);
#pragma GCC unroll 8
        for (int r = 0; r < RI; ++r) {
          const __m256 av = _mm256_broadcast_ss(ap + r * s.k + p);
#pragma GCC unroll 4
          for (int v = 0; v < NV; ++v) sum[r][v] = _mm256_fmadd_ps(av, bv[v], sum[r][v]);
        }
      }
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
#pragma GCC unroll 8
        for (int r = 0; r < RI; ++r)
          if (8 * v + j < width) _mm256_store_ps(acc[r] + j + 8 * v, sum[r][v]);
    }
  }
  for (int r = 0; r < RI; ++r) {
    float* cr = c + r * s.n + j0;
    for (int j = 0; j < cols; ++j) cr[j] = s.beta == 0.0f ? s.alpha * acc[r][j] : s.alpha * acc[r][j] + s.beta * cr[j];
  }
}

// 8 depths of smallDotsAvx2's dot products (k − p ≥ 8 when kWhole).
template <int RI, int RJ, bool kWhole>
LMKIT_TARGET_AVX2 inline __attribute__((always_inline)) void smallDotsStepAvx2(
    __m256 (&acc)[RI][RJ], const float* ap, const float* b, const GemmShape& s, int64_t j0, int64_t p, __m256i m) {
  __m256 bv[RJ];
#pragma GCC unroll 4
  for (int q = 0; q < RJ; ++q) {
    const float* at = b + (j0 + q) * s.k + p;
    bv[q] = kWhole ? _mm256_loadu_ps(at) : _mm256_maskload_ps(at, m);
  }
#pragma GCC unroll 8
  for (int r = 0; r < RI; ++r) {
    const float* at = ap + r * s.k + p;
    const __m256 av = kWhole ? _mm256_loadu_ps(at) : _mm256_maskload_ps(at, m);
#pragma GCC unroll 4
    for (int q = 0; q < RJ; ++q) acc[r][q] = _mm256_fmadd_ps(av, bv[q], acc[r][q]);
  }
}

template <int RI, int RJ>
LMKIT_TARGET_AVX2 void smallDotsAvx2(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0) {
  __m256 acc[RI][RJ];
#pragma GCC unroll 8
  for (int r = 0; r < RI; ++r)
#pragma GCC unroll 4
    for (int q = 0; q < RJ; ++q) acc[r][q] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= s.k; p += 8) smallDotsStepAvx2<RI, RJ, true>(acc, ap, b, s, j0, p, _mm256_setzero_si256());
  if (p < s.k) smallDotsStepAvx2<RI, RJ, false>(acc, ap, b, s, j0, p, cpu::vec::tailMask8(s.k - p));
  for (int r = 0; r < RI; ++r) {
    float* cr = c + r * s.n + j0;
    for (int q = 0; q < RJ; ++q) {
      const float dot = cpu::vec::hsum8(acc[r][q]);
      cr[q] = s.beta == 0.0f ? s.alpha * dot : s.alpha * dot + s.beta * cr[q];
    }
  }
}

template <int RI>
void smallChunkAvx2(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0, int64_t j1) {
  if (s.transB) {
    constexpr int RJ = RI <= 2 ? 4 : RI <= 4 ? 2 : 1;
    int64_t j = j0;
    for (; j + RJ <= j1; j += RJ) smallDotsAvx2<RI, RJ>(c, ap, b, s, j);
    for (; j < j1; ++j) smallDotsAvx2<RI, 1>(c, ap, b, s, j);
    return;
  }
  constexpr int NV = RI <= 2 ? 4 : RI <= 4 ? 2 : 1;
  for (int64_t j = j0; j < j1; j += kSmallChunkNAvx2)
    smallRowsAvx2<RI, NV>(c, ap, b, s, j, static_cast<int>(std::min<int64_t>(kSmallChunkNAvx2, j1 - j)));
}

// ---------------------------------------------------------------- decode driver

// Columns [j0, j1) of C for all m rows; one per row count 1..kSmallM.
using SmallChunkFn = void (*)(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0,
                              int64_t j1);
template <template <int> class Chunk>
struct SmallChunks {
  static constexpr SmallChunkFn kByRows[kSmallM] = {Chunk<1>::run, Chunk<2>::run, Chunk<3>::run, Chunk<4>::run,
                                                    Chunk<5>::run, Chunk<6>::run, Chunk<7>::run, Chunk<8>::run};
};
template <int RI>
struct Avx512Chunk {
  static void run(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0, int64_t j1) {
    smallChunk<RI>(c, ap, b, s, j0, j1);
  }
};
template <int RI>
struct Avx2Chunk {
  static void run(float* c, const float* ap, const float* b, const GemmShape& s, int64_t j0, int64_t j1) {
    smallChunkAvx2<RI>(c, ap, b, s, j0, j1);
  }
};

// rowChunk: columns per task for op(B) = B.
void gemmSmallM(float* c, const float* a, const float* b, const GemmShape& s, const SmallChunkFn (&byRows)[kSmallM],
                int64_t rowChunk) {
  // op(A) as a contiguous m×k block (absorbs transA; at most 8 rows).
  Buffer apack;
  const float* ap = a;
  if (s.transA) {
    apack = allocFloats(s.m * s.k);
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t p = 0; p < s.k; ++p) apack.get()[i * s.k + p] = a[p * s.m + i];
    ap = apack.get();
  }
  const int64_t chunk = s.transB ? kSmallChunkNt : rowChunk;
  const SmallChunkFn run = byRows[s.m - 1];
  cpu::parallelRange(s.n, chunk, [&](int64_t j0, int64_t j1) { run(c, ap, b, s, j0, j1); });
}

// ---------------------------------------------------------------- dispatch

// beta·C when no product is needed (alpha = 0 or k = 0), as BLAS does.
void scaleOnly(float* c, const GemmShape& s) {
  cpu::parallelRange(s.m, kRowGrain, [&](int64_t i0, int64_t i1) { scaleRows(c, s, i0, i1); });
}

void gemmDispatch(float* c, const float* a, const float* b, const GemmShape& s) {
  const cpu::Isa isa = cpu::activeIsa();
  if (isa == cpu::Isa::Scalar) return gemmScalar(c, a, b, s);
  if (s.alpha == 0.0f || s.k == 0) return scaleOnly(c, s);
  if (isa == cpu::Isa::Avx512) {
    if (s.m <= (s.transB ? kSmallMDots : kSmallM))
      return gemmSmallM(c, a, b, s, SmallChunks<Avx512Chunk>::kByRows, kSmallChunkN);
    if (s.transB && s.m <= kWeightRowsMaxM) return gemmWeightRows(c, a, b, s, kWeightRowsOnAvx512);
    return gemmThreadBlocks(c, a, b, s, Blocking{avx512Heights<false, true>(), avx512Heights<true, true>(),
                                                     avx512Heights<true, false>(), kMr512, kNr512, kRowStep512,
                                                     packCopyAvx512, packTransposeAvx512, 24, true});
  }
  if (s.m <= (s.transB ? kSmallMDotsAvx2 : kSmallM))
    return gemmSmallM(c, a, b, s, SmallChunks<Avx2Chunk>::kByRows, avx2RowChunk(s.n));
  if (s.transB && s.m <= kWeightRowsMaxMAvx2) return gemmWeightRows(c, a, b, s, kWeightRowsOnAvx2);
  gemmThreadBlocks(c, a, b, s,
                   Blocking{kAvx2Heights, {}, {}, kMr256, kNr256, kMr256, packCopyAvx2, packTransposeAvx2, 96, false});
}

}  // namespace

void gemm(float* c, const float* a, const float* b, const GemmShape& s) {
  if (s.m == 0 || s.n == 0) return;
  gemmDispatch(c, a, b, s);
}

void gemmBatched(float* c, const float* a, const float* b, const GemmShape& s,
                 const GemmBatch& batch) {
  if (s.m == 0 || s.n == 0) return;
  if (cpu::activeIsa() == cpu::Isa::Scalar) {
    const int64_t panels = (s.m + kRowGrain - 1) / kRowGrain;
    cpu::parallelFor(batch.batch * panels, [&](int64_t t) {
      const int64_t bi = t / panels;
      const int64_t i0 = (t % panels) * kRowGrain;
      const int64_t i1 = i0 + kRowGrain < s.m ? i0 + kRowGrain : s.m;
      gemmRowsScalar(c + bi * batch.strideC, a + bi * batch.strideA, b + bi * batch.strideB, s, i0, i1);
    });
    return;
  }
  // Small products: one task per matrix (its own loops then run inline);
  // large ones: one matrix at a time, each spread over the pool.
  auto one = [&](int64_t bi) {
    gemmDispatch(c + bi * batch.strideC, a + bi * batch.strideA, b + bi * batch.strideB, s);
  };
  if (s.m * s.n * s.k <= (int64_t{1} << 21)) cpu::parallelFor(batch.batch, [&](int64_t bi) { one(bi); });
  else
    for (int64_t bi = 0; bi < batch.batch; ++bi) one(bi);
}

}  // namespace lmkit

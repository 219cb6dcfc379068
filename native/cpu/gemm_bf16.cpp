// bf16 GEMM: C[m×n] = alpha·op(A)·op(B) + beta·C with op(A) and op(B)
// rounded to bfloat16 and the products summed in fp32: the matmul of
// mixed-precision training. Shapes and contract are gemm's (gemm.cpp).
//
// Rounding (roundBf16 and the packing): to nearest, ties to even; NaN stays
// a (quiet) NaN; fp32 denormals become a signed zero. That is what
// vcvtne2ps2bf16 does (measured on Zen 5: it flushes denormal inputs), so
// both paths round alike. A product of two bf16 values is exact in fp32;
// only the sums round.
//
// Paths, while the active ISA is avx512: AMX-BF16 tiles where the CPU and OS
// offer them (the AMX section below), else AVX512-BF16.
//
// AVX512-BF16 path, gemm.cpp's BLIS structure with bf16 panels:
//   * Packing rounds and absorbs the transposes. A panel of w rows of op(A)
//     (or columns of op(B)) holds 32-bit words, word (q, r) at dst[q·w + r]
//     = the bf16 pair (depth 2q in the low half, 2q+1 in the high half) of
//     vector r: the layout vdpbf16ps multiplies lane by lane. An odd last
//     depth is paired with zero (0·0 adds nothing).
//   * Micro-kernel MR×NR (14×32): per depth pair, NR/16 loads of B, MR broadcasts of
//     A words, MR·NR/16 vdpbf16ps. Each does 32 multiply-adds where an fp32
//     FMA does 16, so the same port throughput gives twice the FLOPs.
//   * kKc = 512 depths: a 32-column B micro-panel is 32 KB of bf16, the L1
//     share fp32's 256 deep panel has.
//   Tiles come from the shape alone and each task owns its C tile, walking
//   k blocks in order, so results are bitwise independent of the thread
//   count (as in gemm.cpp).
//   There is no decode-shape path: every call packs (rounds) all of op(B),
//   so for m ≤ 8 gemm, which streams B once, is faster (measured 109 µs vs
//   45 µs for 1×768·(768×768)ᵀ). This GEMM is for training-sized products.
//
// Portable path (no AVX512-BF16, or LMKIT_CPU_ISA / setCpuIsa below avx512):
// op(A) and op(B) rounded into fp32 copies, multiplied by gemm. Same
// rounding, fp32 accumulation, another summation order: results agree with
// the fast path within fp32 summation error. (The hardware also flushes a
// product or partial sum below 2^-126 to zero, which the portable path does
// not.)
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "cpu/cpu_features.h"
#include "cpu/gemm_blocking.h"
#include "cpu/thread_pool.h"
#include "kernels.h"

// GCC 12's AVX-512 headers trip -Wuninitialized on their own undefined
// vectors (GCC bug 105593), as in gemm.cpp.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lmkit {
namespace {

// ---------------------------------------------------------------- rounding

inline uint32_t bitsOf(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float floatOf(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// x rounded to bf16, widened back to fp32: the scalar twin of vcvtne2ps2bf16.
inline float roundBf16(float x) {
  uint32_t u = bitsOf(x);
  if ((u & 0x7f800000u) == 0) return floatOf(u & 0x80000000u);  // zero or denormal
  if ((u & 0x7fffffffu) > 0x7f800000u) return floatOf((u | 0x00400000u) & 0xffff0000u);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // carries into the exponent on overflow: ±inf
  return floatOf(u & 0xffff0000u);
}

constexpr int64_t kRoundGrain = int64_t{1} << 16;

// ---------------------------------------------------------------- buffers

template <class T>
using Buffer = cpu::AlignedBuffer<T>;
using cpu::allocAligned;

// ---------------------------------------------------------------- portable path

void gemmBf16Portable(float* c, const float* a, const float* b, const GemmShape& s) {
  const int64_t sizeA = s.m * s.k, sizeB = s.k * s.n;
  Buffer<float> ar = allocAligned<float>(sizeA), br = allocAligned<float>(sizeB);
  float* ard = ar.get();
  float* brd = br.get();
  cpu::parallelRange(sizeA, kRoundGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) ard[i] = roundBf16(a[i]);
  });
  cpu::parallelRange(sizeB, kRoundGrain, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) brd[i] = roundBf16(b[i]);
  });
  gemm(c, ard, brd, s);
}

// ---------------------------------------------------------------- packing (AVX512-BF16)

// Depths per packed block (even, so only the last block of k can be odd).
constexpr int64_t kKc = 512;
// Panels per packing task when packed across depth (packAcrossDepth).
constexpr int64_t kPackGroup = 8;
// Packed A + B words of one super-block (a run of k blocks packed together):
// 16 MB, so huge products do not double memory use.
constexpr int64_t kPackBudget = int64_t{4} << 20;

// Packed panels, one buffer per calling thread, kept between calls.
using Scratch = cpu::PanelScratch<uint32_t>;
thread_local Scratch tlsScratch;

inline __mmask16 lowLanes(int64_t count) {
  return count >= 16 ? __mmask16(0xffff) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1);
}

// 16×16 transpose of 32-bit lanes: v[i] lane j ↔ v[j] lane i.
LMKIT_TARGET_AVX512BF16 inline void transposeWords(__m512i v[16]) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
  }
  // u[4g + j], 128-bit lane L: element 4L + j of rows 4g .. 4g + 3.
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  // Gather lane L of u[j], u[4 + j], u[8 + j], u[12 + j] into row 4L + j.
  for (int j = 0; j < 4; ++j) {
    const __m512i x0 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0x88);
    const __m512i x1 = _mm512_shuffle_i32x4(u[j], u[4 + j], 0xdd);
    const __m512i y0 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0x88);
    const __m512i y1 = _mm512_shuffle_i32x4(u[8 + j], u[12 + j], 0xdd);
    v[j] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    v[8 + j] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
    v[4 + j] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    v[12 + j] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
  }
}

// Each of the w vectors is contiguous along depth (op(A) = A, op(B) = Bᵀ):
// src[r·ld + p]. 32 depths of 16 vectors are rounded into 16 words each,
// transposed in registers and stored as 16 word groups.
LMKIT_TARGET_AVX512BF16 void packAlongDepth(uint32_t* dst, const float* src, int64_t ld, int64_t valid,
                                            int w, int64_t kc) {
  for (int64_t p = 0; p < kc; p += 32) {
    const int64_t depths = std::min<int64_t>(32, kc - p);
    const int64_t pairs = (depths + 1) / 2;
    const __mmask16 lo = lowLanes(depths), hi = lowLanes(depths - 16);
    for (int r0 = 0; r0 < w; r0 += 16) {
      const __mmask16 rmask = lowLanes(w - r0);
      __m512i v[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        if (r0 + i < valid && r0 + i < w) {
          const float* row = src + (r0 + i) * ld + p;
          const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, row + 16), _mm512_maskz_loadu_ps(lo, row));
          v[i] = reinterpret_cast<const __m512i&>(h);
        } else {
          v[i] = _mm512_setzero_si512();
        }
      }
      transposeWords(v);
#pragma GCC unroll 16
      for (int q = 0; q < 16; ++q)
        if (q < pairs) _mm512_mask_storeu_epi32(dst + (p / 2 + q) * w + r0, rmask, v[q]);
    }
  }
}

// 16-bit lane order that interleaves [e0..e15 | o0..o15] into e0 o0 e1 o1 ...
alignas(64) const uint16_t kInterleave[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                              8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};

// The w values of one depth are contiguous (op(A) = Aᵀ, op(B) = B):
// src[p·ld + r]. Two depths are rounded together and interleaved. `panels`
// adjacent panels (vectors 0 .. panels·w − 1, the first `valid` real) are
// packed in one pass over the depths, panel g at dst + g·panelWords: the
// source rows lie ld apart (often pages), so reading a wide run of each at
// once saves most of the cache and TLB misses one panel at a time costs.
LMKIT_TARGET_AVX512BF16 void packAcrossDepth(uint32_t* dst, const float* src, int64_t ld, int64_t valid,
                                             int w, int64_t panels, int64_t panelWords, int64_t kc) {
  const __m512i order = _mm512_load_si512(kInterleave);
  const int64_t pairs = (kc + 1) / 2;
  for (int64_t q = 0; q < pairs; ++q) {
    const float* even = src + 2 * q * ld;
    const bool hasOdd = 2 * q + 1 < kc;
    for (int64_t g = 0; g < panels; ++g) {
      uint32_t* to = dst + g * panelWords + q * w;
      for (int r0 = 0; r0 < w; r0 += 16) {
        const int64_t r = g * w + r0;
        const __mmask16 vmask = lowLanes(valid - r);
        const __m512 e = _mm512_maskz_loadu_ps(vmask, even + r);
        const __m512 o = hasOdd ? _mm512_maskz_loadu_ps(vmask, even + ld + r) : _mm512_setzero_ps();
        const __m512bh h = _mm512_cvtne2ps_pbh(o, e);
        const __m512i words = _mm512_permutexvar_epi16(order, reinterpret_cast<const __m512i&>(h));
        _mm512_mask_storeu_epi32(to + r0, lowLanes(w - r0), words);
      }
    }
  }
}

// ---------------------------------------------------------------- micro-kernel

// C tile (rows × cols valid of MR×NR) = alpha·Σ_q dot(ap[q·MR + r], bp[q·NR + j])
// + beta·C over `pairs` depth pairs. beta = 0 never reads C.
using MicroKernel = void (*)(int64_t pairs, const uint32_t* ap, const uint32_t* bp, float* c, int64_t ldc,
                             int rows, int cols, float alpha, float beta);

template <int MR, int NV>
LMKIT_TARGET_AVX512BF16 void microKernelBf16(int64_t pairs, const uint32_t* ap, const uint32_t* bp, float* c,
                                             int64_t ldc, int rows, int cols, float alpha, float beta) {
  __mmask16 mask[NV];
  __m512 acc[MR][NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = lowLanes(cols - 16 * v);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_setzero_ps();
    // The C tile is needed only at the end; start fetching it now.
    if (r < rows)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 16 * v), _MM_HINT_T0);
  }
  for (int64_t q = 0; q < pairs; ++q) {
    __m512bh bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m512i words = _mm512_load_si512(bp + 16 * v);
      bv[v] = reinterpret_cast<const __m512bh&>(words);
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512i aw = _mm512_set1_epi32(static_cast<int>(ap[r]));
      const __m512bh av = reinterpret_cast<const __m512bh&>(aw);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], av, bv[v]);
    }
    ap += MR;
    bp += 16 * NV;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    if (r < rows) {
      float* cr = c + r * ldc;
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        __m512 out = _mm512_mul_ps(acc[r][v], va);
        if (beta != 0.0f) out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[v], cr + 16 * v), vb, out);
        _mm512_mask_storeu_ps(cr + 16 * v, mask[v], out);
      }
    }
  }
}

// ---------------------------------------------------------------- blocked driver

struct Blocking {
  MicroKernel kernel;
  int mr, nr;
};

// The register tile: 14×32, 28 accumulators + 2 B vectors + 1 broadcast of
// the 32 zmm. On Zen 5 (2 threads) it beat 12×32 by ~5% on tokens×768·Wᵀ
// shapes; 8×48 and 6×64 (fewer broadcasts, more B loads) were slower.
constexpr Blocking kBlocking{microKernelBf16<14, 2>, 14, 32};

// C's block `blk` (all of C, or one thread's share; see gemmThreadBlocksBf16),
// packing at most about packBudget words at a time.
void gemmBlockedBf16(float* c, const float* a, const float* b, const GemmShape& s, const Blocking& bl,
                     const cpu::CBlock& blk, int64_t packBudget) {
  const cpu::BlockOperands op = cpu::blockOperands(c, a, b, s, blk);
  const cpu::GemmTiling t = cpu::planGemmTiles(op.shape, bl.mr, bl.nr);
  const int64_t mPad = t.mPanels * bl.mr, nPad = t.nPanels * bl.nr;
  // k super-block: whole kKc blocks whose packed words fit the budget.
  const int64_t superK = std::max<int64_t>(kKc, std::min<int64_t>(s.k, packBudget / (mPad + nPad)) / kKc * kKc);
  const int64_t depthPairs = (std::min(superK, s.k) + 1) / 2;
  // A's panels, then B's from the next 64-byte boundary.
  const int64_t aWords = (mPad * depthPairs + 15) / 16 * 16;
  const int64_t total = aWords + nPad * depthPairs;
  Buffer<uint32_t> oneOff;
  uint32_t* scratch =
      total <= 2 * packBudget ? tlsScratch.get(total) : (oneOff = allocAligned<uint32_t>(total)).get();
  uint32_t* const apack = scratch;
  uint32_t* const bpack = scratch + aWords;
  const int64_t aTasks = s.transA ? cpu::ceilDiv(t.mPanels, kPackGroup) : t.mPanels;
  const int64_t bTasks = s.transB ? t.nPanels : cpu::ceilDiv(t.nPanels, kPackGroup);

  for (int64_t q0 = 0; q0 < s.k; q0 += superK) {
    const int64_t qk = std::min(superK, s.k - q0);
    // The block at depth d (relative to q0, a multiple of kKc) holds panel i
    // at pack + (d/2)·pad + i·(panel width)·pairs. A task packs one panel,
    // or kPackGroup of them when they are packed across depth.
    cpu::parallelFor(aTasks + bTasks, [&](int64_t task) {
      for (int64_t d = 0; d < qk; d += kKc) {
        const int64_t kc = std::min(kKc, qk - d), pairs = (kc + 1) / 2;
        const int64_t p0 = q0 + d;
        if (task < aTasks) {
          const int64_t first = s.transA ? task * kPackGroup : task;
          const int64_t i0 = first * bl.mr;
          uint32_t* dst = apack + d / 2 * mPad + i0 * pairs;
          if (s.transA)
            packAcrossDepth(dst, op.a + p0 * s.m + i0, s.m, blk.rows - i0, bl.mr,
                            std::min(kPackGroup, t.mPanels - first), bl.mr * pairs, kc);
          else
            packAlongDepth(dst, op.a + i0 * s.k + p0, s.k, std::min<int64_t>(bl.mr, blk.rows - i0), bl.mr, kc);
        } else {
          const int64_t first = s.transB ? task - aTasks : (task - aTasks) * kPackGroup;
          const int64_t j0 = first * bl.nr;
          uint32_t* dst = bpack + d / 2 * nPad + j0 * pairs;
          if (s.transB)
            packAlongDepth(dst, op.b + j0 * s.k + p0, s.k, std::min<int64_t>(bl.nr, blk.cols - j0), bl.nr, kc);
          else
            packAcrossDepth(dst, op.b + p0 * s.n + j0, s.n, blk.cols - j0, bl.nr,
                            std::min(kPackGroup, t.nPanels - first), bl.nr * pairs, kc);
        }
      }
    });
    cpu::parallelFor(t.mTiles * t.nTiles, [&](int64_t task) {
      const int64_t ip0 = (task / t.nTiles) * t.tm, ip1 = std::min(ip0 + t.tm, t.mPanels);
      const int64_t jp0 = (task % t.nTiles) * t.tn, jp1 = std::min(jp0 + t.tn, t.nPanels);
      for (int64_t d = 0; d < qk; d += kKc) {
        const int64_t pairs = (std::min(kKc, qk - d) + 1) / 2;
        const float beta = q0 + d == 0 ? s.beta : 1.0f;
        const uint32_t* ablock = apack + d / 2 * mPad;
        const uint32_t* bblock = bpack + d / 2 * nPad;
        for (int64_t jp = jp0; jp < jp1; ++jp) {
          const int cols = static_cast<int>(std::min<int64_t>(bl.nr, blk.cols - jp * bl.nr));
          for (int64_t ip = ip0; ip < ip1; ++ip) {
            const int rows = static_cast<int>(std::min<int64_t>(bl.mr, blk.rows - ip * bl.mr));
            bl.kernel(pairs, ablock + ip * bl.mr * pairs, bblock + jp * bl.nr * pairs,
                      op.c + ip * bl.mr * s.n + jp * bl.nr, s.n, rows, cols, s.alpha, beta);
          }
        }
      }
    });
  }
}

// One block of C per thread, as the fp32 GEMM does (cpu::planThreadGrid).
void gemmThreadBlocksBf16(float* c, const float* a, const float* b, const GemmShape& s, const Blocking& bl) {
  cpu::forEachThreadBlock(s, bl.mr, bl.nr, bl.mr, true, 2 * kPackBudget, [&](const cpu::CBlock& blk, int64_t budget) {
    gemmBlockedBf16(c, a, b, s, bl, blk, budget);
  });
}

// ---------------------------------------------------------------- AMX path

// AMX-BF16 (Sapphire Rapids and later): tdpbf16ps multiplies a 16×32 bf16
// tile of A by a 32×16 tile of B (16 rows of depth pairs) into a 16×16 fp32
// tile, 16384 multiply-adds per instruction (measured on this Xeon: 1177
// GFLOP/s on one core, against 136 for fp32 FMA and 69 for vdpbf16ps).
// The same BLIS loop as above with 32×32 blocks of C held in four tiles
// (tmm0–3), two A tiles (tmm4, tmm5) and two B tiles (tmm6, tmm7):
//   * A panels (32 rows) are stored row by row, P words per row (word q: the
//     pair of depths 2q, 2q + 1), the layout a tile row is loaded from.
//   * B panels (32 columns) are the AVX512-BF16 packing (word (q, j) at
//     q·32 + j): the 16 columns of a B tile are rows 128 bytes apart.
//   * P is the block's depth pairs rounded up to 16 with zero words in A
//     and B, so every step is a whole tile and the padding adds 0·0.
// Each tile product sums in fp32 (round to nearest even; denormal inputs
// and results flush to zero, as vdpbf16ps does), so the error bound of the
// fp32 sums is the AVX512-BF16 path's. Tasks own their C blocks and walk the
// k blocks in order: bitwise independent of the thread count.

constexpr int kAmxBlock = 32;         // rows and columns of C per micro-kernel
constexpr int64_t kAmxStepPairs = 16;  // depth pairs per tile product

inline int64_t paddedPairs(int64_t kc) { return cpu::ceilDiv((kc + 1) / 2, kAmxStepPairs) * kAmxStepPairs; }

// Palette 1, eight tiles of 16 rows × 64 bytes. A constant in memory: GCC 12
// does not see that ldtilecfg reads its operand and dropped the stores that
// filled a local one (the tiles then stayed unconfigured: SIGILL).
struct alignas(64) TileConfig {
  uint8_t palette, startRow;
  uint8_t reserved[14];
  uint16_t bytesPerRow[16];
  uint8_t rows[16];
};
const TileConfig kTileConfig = {1, 0, {}, {64, 64, 64, 64, 64, 64, 64, 64}, {16, 16, 16, 16, 16, 16, 16, 16}};

LMKIT_TARGET_AMX void configureTiles() { _tile_loadconfig(&kTileConfig); }

// A panel from rows contiguous along depth (op(A) = A): rows are rounded in
// runs of 32 depths, which cvtne2ps2bf16 leaves in tile-row order already.
LMKIT_TARGET_AMX void packRowsAmx(uint32_t* dst, const float* src, int64_t ld, int64_t valid, int64_t kc,
                                  int64_t pairsPad) {
  for (int r = 0; r < kAmxBlock; ++r) {
    uint32_t* row = dst + r * pairsPad;
    if (r >= valid) {
      std::memset(row, 0, sizeof(uint32_t) * pairsPad);
      continue;
    }
    const float* from = src + r * ld;
    for (int64_t p = 0; p < 2 * pairsPad; p += 32) {
      const __mmask16 lo = lowLanes(kc - p), hi = lowLanes(kc - p - 16);
      const __m512bh h = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, from + p + 16), _mm512_maskz_loadu_ps(lo, from + p));
      _mm512_store_si512(row + p / 2, reinterpret_cast<const __m512i&>(h));
    }
  }
}

// A panel from columns contiguous across depth (op(A) = Aᵀ, src[p·ld + r]):
// 16 pairs of 16 rows are rounded and interleaved as packAcrossDepth does,
// then transposed so each row's words lie together.
LMKIT_TARGET_AMX void packColumnsAmx(uint32_t* dst, const float* src, int64_t ld, int64_t valid, int64_t kc,
                                     int64_t pairsPad) {
  const __m512i order = _mm512_load_si512(kInterleave);
  for (int64_t q0 = 0; q0 < pairsPad; q0 += 16) {
    for (int r0 = 0; r0 < kAmxBlock; r0 += 16) {
      const __mmask16 vmask = lowLanes(valid - r0);
      __m512i v[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) {
        const int64_t depth = 2 * (q0 + i);
        const __m512 e = depth < kc ? _mm512_maskz_loadu_ps(vmask, src + depth * ld + r0) : _mm512_setzero_ps();
        const __m512 o = depth + 1 < kc ? _mm512_maskz_loadu_ps(vmask, src + (depth + 1) * ld + r0) : _mm512_setzero_ps();
        const __m512bh h = _mm512_cvtne2ps_pbh(o, e);
        v[i] = _mm512_permutexvar_epi16(order, reinterpret_cast<const __m512i&>(h));
      }
      transposeWords(v);
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r) _mm512_store_si512(dst + (r0 + r) * pairsPad + q0, v[r]);
    }
  }
}

// C block (rows × cols valid of 32×32) = alpha·A panel·B panel + beta·C over
// pairsPad depth pairs. beta = 0 never reads C.
LMKIT_TARGET_AMX void microKernelAmx(int64_t pairsPad, const uint32_t* ap, const uint32_t* bp, float* c, int64_t ldc,
                                     int rows, int cols, float alpha, float beta) {
  const int64_t aStride = pairsPad * sizeof(uint32_t);
  constexpr int64_t bStride = kAmxBlock * sizeof(uint32_t);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t q = 0; q < pairsPad; q += kAmxStepPairs) {
    _tile_loadd(4, ap + q, aStride);
    _tile_loadd(5, ap + 16 * pairsPad + q, aStride);
    _tile_loadd(6, bp + q * kAmxBlock, bStride);
    _tile_loadd(7, bp + q * kAmxBlock + 16, bStride);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  alignas(64) float block[kAmxBlock * kAmxBlock];
  _tile_stored(0, block, bStride);
  _tile_stored(1, block + 16, bStride);
  _tile_stored(2, block + 16 * kAmxBlock, bStride);
  _tile_stored(3, block + 16 * kAmxBlock + 16, bStride);
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __mmask16 mask[2] = {lowLanes(cols), lowLanes(cols - 16)};
  for (int r = 0; r < rows; ++r) {
    float* cr = c + r * ldc;
    for (int v = 0; v < 2; ++v) {
      __m512 out = _mm512_mul_ps(_mm512_load_ps(block + r * kAmxBlock + 16 * v), va);
      if (beta != 0.0f) out = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask[v], cr + 16 * v), vb, out);
      _mm512_mask_storeu_ps(cr + 16 * v, mask[v], out);
    }
  }
}

LMKIT_TARGET_AMX void releaseTiles() { _tile_release(); }

void gemmBlockedAmx(float* c, const float* a, const float* b, const GemmShape& s) {
  const cpu::GemmTiling t = cpu::planGemmTiles(s, kAmxBlock, kAmxBlock);
  const int64_t mPad = t.mPanels * kAmxBlock, nPad = t.nPanels * kAmxBlock;
  const int64_t superK = std::max<int64_t>(kKc, std::min<int64_t>(s.k, 2 * kPackBudget / (mPad + nPad)) / kKc * kKc);
  // kKc / 2 is a multiple of 16, so only a super-block's last block pads.
  const int64_t depthPairs = paddedPairs(std::min(superK, s.k));
  const int64_t aWords = mPad * depthPairs;
  const int64_t total = aWords + nPad * depthPairs;
  Buffer<uint32_t> oneOff;
  uint32_t* scratch = total <= 2 * kPackBudget ? tlsScratch.get(total) : (oneOff = allocAligned<uint32_t>(total)).get();
  uint32_t* const apack = scratch;
  uint32_t* const bpack = scratch + aWords;
  const int64_t bTasks = s.transB ? t.nPanels : cpu::ceilDiv(t.nPanels, kPackGroup);

  for (int64_t q0 = 0; q0 < s.k; q0 += superK) {
    const int64_t qk = std::min(superK, s.k - q0);
    // The block at depth d holds panel i at pack + (d/2)·pad + i·32·P.
    cpu::parallelFor(t.mPanels + bTasks, [&](int64_t task) {
      for (int64_t d = 0; d < qk; d += kKc) {
        const int64_t kc = std::min(kKc, qk - d), pairs = (kc + 1) / 2, pairsPad = paddedPairs(kc);
        const int64_t p0 = q0 + d;
        if (task < t.mPanels) {
          const int64_t i0 = task * kAmxBlock;
          uint32_t* dst = apack + d / 2 * mPad + i0 * pairsPad;
          if (s.transA)
            packColumnsAmx(dst, a + p0 * s.m + i0, s.m, s.m - i0, kc, pairsPad);
          else
            packRowsAmx(dst, a + i0 * s.k + p0, s.k, s.m - i0, kc, pairsPad);
        } else {
          const int64_t first = s.transB ? task - t.mPanels : (task - t.mPanels) * kPackGroup;
          const int64_t panels = s.transB ? 1 : std::min(kPackGroup, t.nPanels - first);
          const int64_t j0 = first * kAmxBlock;
          uint32_t* dst = bpack + d / 2 * nPad + j0 * pairsPad;
          if (s.transB)
            packAlongDepth(dst, b + j0 * s.k + p0, s.k, std::min<int64_t>(kAmxBlock, s.n - j0), kAmxBlock, kc);
          else
            packAcrossDepth(dst, b + p0 * s.n + j0, s.n, s.n - j0, kAmxBlock, panels, kAmxBlock * pairsPad, kc);
          for (int64_t g = 0; g < panels; ++g)
            std::memset(dst + g * kAmxBlock * pairsPad + pairs * kAmxBlock, 0,
                        sizeof(uint32_t) * kAmxBlock * (pairsPad - pairs));
        }
      }
    });
    cpu::parallelFor(t.mTiles * t.nTiles, [&](int64_t task) {
      const int64_t ip0 = (task / t.nTiles) * t.tm, ip1 = std::min(ip0 + t.tm, t.mPanels);
      const int64_t jp0 = (task % t.nTiles) * t.tn, jp1 = std::min(jp0 + t.tn, t.nPanels);
      configureTiles();
      for (int64_t d = 0; d < qk; d += kKc) {
        const int64_t pairsPad = paddedPairs(std::min(kKc, qk - d));
        const float beta = q0 + d == 0 ? s.beta : 1.0f;
        const uint32_t* ablock = apack + d / 2 * mPad;
        const uint32_t* bblock = bpack + d / 2 * nPad;
        for (int64_t jp = jp0; jp < jp1; ++jp) {
          const int cols = static_cast<int>(std::min<int64_t>(kAmxBlock, s.n - jp * kAmxBlock));
          for (int64_t ip = ip0; ip < ip1; ++ip) {
            const int rows = static_cast<int>(std::min<int64_t>(kAmxBlock, s.m - ip * kAmxBlock));
            microKernelAmx(pairsPad, ablock + ip * kAmxBlock * pairsPad, bblock + jp * kAmxBlock * pairsPad,
                           c + ip * kAmxBlock * s.n + jp * kAmxBlock, s.n, rows, cols, s.alpha, beta);
          }
        }
      }
      releaseTiles();
    });
  }
}

// beta·C when no product is needed (alpha = 0 or k = 0), as gemm does.
void scaleOnly(float* c, const GemmShape& s) {
  cpu::parallelRange(s.m, 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      float* row = c + i * s.n;
      if (s.beta == 0.0f) std::memset(row, 0, sizeof(float) * s.n);
      else if (s.beta != 1.0f)
        for (int64_t j = 0; j < s.n; ++j) row[j] *= s.beta;
    }
  });
}

}  // namespace

const char* gemmBf16Path() {
  if (cpu::activeIsa() != cpu::Isa::Avx512) return "emulated";
  if (cpu::amxAllowed()) return "amx";
  return cpu::hasAvx512Bf16() ? "avx512bf16" : "emulated";
}

void gemmBf16(float* c, const float* a, const float* b, const GemmShape& s) {
  if (s.m == 0 || s.n == 0) return;
  if (s.alpha == 0.0f || s.k == 0) return scaleOnly(c, s);
  if (cpu::activeIsa() != cpu::Isa::Avx512) return gemmBf16Portable(c, a, b, s);
  if (cpu::amxAllowed()) return gemmBlockedAmx(c, a, b, s);
  if (cpu::hasAvx512Bf16()) return gemmThreadBlocksBf16(c, a, b, s, kBlocking);
  gemmBf16Portable(c, a, b, s);
}

}  // namespace lmkit

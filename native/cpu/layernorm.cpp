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
// Work split. Forward: tasks of rowGrain(rows, cols) rows. Backward: rows are
// cut in chunks whose size depends only on (rows, cols); a chunk computes dx
// for its rows and writes its own dw/db partial [cols]; then column blocks add
// the partials in chunk order into dw/db. So every bit is independent of the
// thread count, and (row sums always cut columns from 0) of where the buffers
// start in memory.
//
// Speed: both passes are memory-bound; the AVX-512 path is built to stream
// (see its section). At 8192×768 on 2 Zen 5 cores it went from 1.39 to
// 0.87 ms forward and 3.18 to 1.32 ms backward (25th percentile of 300
// alternating calls, a quiet moment; bench/ has the rows against STREAM).
// Reading rows by whole lines and cutting the backward in line rows then
// took Node's buffers (16 bytes into a line) from 63 to 68 GB/s forward and
// 64 to 75 GB/s backward (medians of 9 alternating processes, 2 threads).
// The AVX2 path (Zen 3, 2 threads): 10.7 → 25.5 GB/s forward, 9.6 → 27.6
// backward, once masked stores left its loops.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "cpu/vec_math.h"
#include "kernels.h"

namespace lmkit {
namespace {

using cpu::Isa;

// Rows per forward task: 16k–256k elements, about 4 tasks per thread between.
// Rows are independent, so this may follow the thread count. Large tasks
// matter: each task start costs the prefetch ramp (fastest of 400 calls at
// 8192×768, 2 threads: 1.31 ms with 16k-element tasks, 0.99 ms with 256k).
int64_t rowGrain(int64_t rows, int64_t cols) {
  const int64_t perThread = rows / (4 * int64_t{cpu::numThreads()});
  return std::clamp<int64_t>(perThread, std::max<int64_t>(1, 16384 / cols),
                             std::max<int64_t>(1, 262144 / cols));
}

// Rows per backward chunk, from the shape only (the partials and so every bit
// of dw/db follow the chunking): ~128k elements, at least 4 rows, and at most
// 256 chunks so the partial buffers stay ≤ 256·cols·2 floats.
constexpr int64_t kMaxChunks = 256;
int64_t chunkRows(int64_t rows, int64_t cols) {
  const int64_t byWork = std::clamp<int64_t>(131072 / cols, 4, 1024);
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

// Both fast paths fetch the next row's lines while they work on this one.
inline void prefetchRead(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(p), _MM_HINT_T0);
}

// ------------------------------------------------------------------ AVX-512
// The rows stream through memory once; what decides the speed is keeping the
// memory system busy (measured at 8192×768, see the file comment):
// - each reduction runs 4 vectors per step into 4 accumulators, since one
//   accumulator is a chain of dependent adds that costs as much as the loads;
// - the next row's lines are prefetched while this one is worked on, and
//   outputs are prefetched for writing (prefetchw, which every AVX-512 CPU
//   has), so a store does not wait on its read-for-ownership; a large dx is
//   streamed instead (kStreamBytes);
// - big tasks (rowGrain, chunkRows): each task start costs the prefetch ramp;
// - element-wise passes cut columns where the output's 64-byte lines start
//   (the forward: "lead" floats first, then whole lines; the backward: line
//   rows, see there), so stores fill whole lines and, when the buffers share
//   an alignment as allocators give them, loads split no line. Row sums cut
//   from column 0, so their bits never depend on it; they read whole lines
//   and pick the columns out (RowLines).
// Masked lanes load 0 and store nothing.

// dx is streamed past the caches (non-temporal stores) from this size on:
// larger than the last-level cache a core sees (32 MB per CCX on Zen 3-5,
// which VMs often misreport), it would be evicted before anything reads it.
// Streaming the forward's y instead measured slower than prefetchw (p25 1.24
// vs 0.87 ms at 8192×768), so the forward always stores through the cache.
constexpr int64_t kStreamBytes = int64_t{16} << 20;

LMKIT_TARGET_AVX512 inline void prefetchWrite(const float* p) {
  asm volatile("prefetchw %0" : : "m"(*reinterpret_cast<const char*>(p)));
}
LMKIT_TARGET_AVX512 inline __m512 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  return _mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d));
}
// Floats from the start of p's 64-byte line to p.
inline int64_t lineShift(const void* p) { return static_cast<int64_t>(reinterpret_cast<uintptr_t>(p) % 64 / 4); }

// Floats before p's next 64-byte line starts, at most C (floats are 4-aligned).
inline int64_t leadFloats(const float* p, int64_t C) {
  return std::min<int64_t>(C, ((64 - reinterpret_cast<uintptr_t>(p) % 64) % 64) / 4);
}
LMKIT_TARGET_AVX512 inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? __mmask16(0xFFFF) : cpu::vec::tailMask16(n);
}

// Whole vectors of a row read as whole 64-byte lines: columns [j, j + 16)
// are picked from the two lines they straddle. A split load from memory
// costs more than the pick (buffers from Node's allocator start 16 bytes
// into a line). Both loads touch only lines that hold row elements: with a
// row already on a line boundary, the second pointer is the first.
struct RowLines {
  const float* lo;
  const float* hi;
  __m512i pick;
};
LMKIT_TARGET_AVX512 inline RowLines rowLines(const float* row) {
  const int64_t shift = lineShift(row);
  const float* lo = row - shift;
  return {lo, shift == 0 ? lo : lo + 16,
          _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(shift)),
                           _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))};
}
LMKIT_TARGET_AVX512 inline __m512 columns(const RowLines& row, int64_t j) {
  return _mm512_permutex2var_ps(_mm512_load_ps(row.lo + j), row.pick, _mm512_load_ps(row.hi + j));
}

// Forward of rows [r0, r1) of [rows, C]; the row after each one is prefetched.
template <bool kCentered>
LMKIT_TARGET_AVX512 void forwardRowsAvx512(float* y, float* meanOut, float* rstdOut, const float* x,
                                           const float* w, const float* b, int64_t r0, int64_t r1,
                                           int64_t rows, int64_t C, float eps) {
  const float invC = 1.0f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    const int64_t ahead = r + 1 < rows ? C : 0;
    const int64_t body = C & ~int64_t{63};  // end of the 4-vector steps
    // Pass 1: mean (x comes from memory; the next row is requested meanwhile).
    // The sums cut columns from 0 whatever the buffers' alignment, so the bits
    // do not depend on where a buffer lies.
    float mean = 0.0f;
    const RowLines xl = rowLines(xr);
    {
      __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      int64_t j = 0;
      for (; j < body; j += 64) {
        for (int64_t k = 0; k < 64; k += 16) prefetchRead(xr + ahead + j + k);
        s0 = _mm512_add_ps(s0, columns(xl, j));
        s1 = _mm512_add_ps(s1, columns(xl, j + 16));
        s2 = _mm512_add_ps(s2, columns(xl, j + 32));
        s3 = _mm512_add_ps(s3, columns(xl, j + 48));
      }
      for (; j < C; j += 16) {
        prefetchRead(xr + ahead + j);
        s0 = _mm512_add_ps(s0, _mm512_maskz_loadu_ps(lanes(C - j), xr + j));
      }
      prefetchRead(xr + ahead + C - 1);  // a row that straddles lines ends in one more line
      if (kCentered) mean = cpu::vec::hsum16(sum4(s0, s1, s2, s3)) * invC;
    }
    // Pass 2 (L1): Σd and Σd² of d = x − mean, the corrected two-pass variance.
    const __m512 vmean = _mm512_set1_ps(mean);
    __m512 d0 = _mm512_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, q0 = d0, q1 = d0, q2 = d0, q3 = d0;
    int64_t j = 0;
    for (; j < body; j += 64) {
      const __m512 a0 = _mm512_sub_ps(columns(xl, j), vmean);
      const __m512 a1 = _mm512_sub_ps(columns(xl, j + 16), vmean);
      const __m512 a2 = _mm512_sub_ps(columns(xl, j + 32), vmean);
      const __m512 a3 = _mm512_sub_ps(columns(xl, j + 48), vmean);
      d0 = _mm512_add_ps(d0, a0);
      d1 = _mm512_add_ps(d1, a1);
      d2 = _mm512_add_ps(d2, a2);
      d3 = _mm512_add_ps(d3, a3);
      q0 = _mm512_fmadd_ps(a0, a0, q0);
      q1 = _mm512_fmadd_ps(a1, a1, q1);
      q2 = _mm512_fmadd_ps(a2, a2, q2);
      q3 = _mm512_fmadd_ps(a3, a3, q3);
    }
    for (; j < C; j += 16) {
      const __mmask16 m = lanes(C - j);
      const __m512 a = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + j), vmean);
      d0 = _mm512_add_ps(d0, a);
      q0 = _mm512_fmadd_ps(a, a, q0);
    }
    const float meanLo = kCentered ? cpu::vec::hsum16(sum4(d0, d1, d2, d3)) * invC : 0.0f;
    const float var = cpu::vec::hsum16(sum4(q0, q1, q2, q3)) * invC - meanLo * meanLo;
    const float rstd = 1.0f / std::sqrt(std::max(var, 0.0f) + eps);
    // Pass 3 (L1): y = x̂∘w + b, one output line per step after the lead.
    const int64_t lead = leadFloats(yr, C);
    const __m512 vrstd = _mm512_set1_ps(rstd), vmeanLo = _mm512_set1_ps(meanLo);
    for (int64_t a = 0; a < C;) {
      const int64_t n = a == 0 && lead > 0 ? lead : std::min<int64_t>(16, C - a);
      const __mmask16 m = lanes(n);
      const __m512 d = _mm512_sub_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + a), vmean), vmeanLo);
      const __m512 xhat = _mm512_mul_ps(d, vrstd);
      const __m512 wv = _mm512_maskz_loadu_ps(m, w + a);
      const __m512 out = kCentered ? _mm512_fmadd_ps(xhat, wv, _mm512_maskz_loadu_ps(m, b + a))
                                   : _mm512_mul_ps(xhat, wv);
      prefetchWrite(yr + ahead + a);
      _mm512_mask_storeu_ps(yr + a, m, out);
      a += n;
    }
    if (kCentered) meanOut[r] = mean + meanLo;
    rstdOut[r] = rstd;
  }
}

// Backward over the rows of one chunk, adding into the chunk's dw/db
// partials, in groups of rows whose x and dy fit in L2. Phase A streams x and
// dy of a group from memory once and keeps each row's two sums. Phase B walks
// the group by column blocks of 4 vectors, so dw/db of a block stay in
// registers across the group's rows: a load and a store of dw/db per row
// queue in order behind dx stores that miss, and cost more than all the
// arithmetic. Rows still add into dw/db in order, as one row at a time would.
//
// Phase B cuts its vectors where dx's 64-byte lines start. With C % 16 == 0
// every row starts the same `shift` floats into a line (4 for Node's
// buffers, which start 16 bytes into a page), and the cut runs in "line
// rows": line row r is the C floats from dx's line holding row r's first
// element, so its first vector has row r − 1's last `shift` columns in lanes
// [0, shift) and row r's first columns in the rest, each lane with its own
// row's mean, rstd and sums. Every vector is then one whole line (streamed
// for a large dx) and every block is 4 vectors. Cutting each row at its own
// first line instead left a 12- and a 52-float block per row, and buffers 16
// bytes into a line ran 9-13% slower than line-aligned ones. A chunk's first
// line row has no row r − 1 (those lanes are masked off), and its last row's
// last columns are one more masked vector (the tail). With C % 16 != 0 rows
// are cut from column 0 and dx is not streamed.
constexpr int64_t kGroupMax = 64;
int64_t groupRows(int64_t cols) { return std::clamp<int64_t>(16384 / cols, 1, kGroupMax); }

// What phase A leaves for phase B: mean(g) and mean(g∘x̂) of a row, g = dy∘w.
struct RowSums {
  float meanG, meanGX;
};

// The operands of one backward call, as phase B sees them.
struct BackwardRows {
  float* dx;
  const float* dy;
  const float* x;
  const float* w;
  const float* mean;
  const float* rstd;
  int64_t C;
  int64_t shift;  // floats of row r − 1 in line row r's first vector (0 when C % 16 != 0)
  bool stream;    // large dx: whole lines of it are streamed past the caches
};

// Phase A on one vector of columns (pointers at the vector): sumG += g = dy∘w,
// sumGX += g∘x̂; requests the same columns `ahead` floats on, and dx's line
// for writing unless dx is streamed.
LMKIT_TARGET_AVX512 inline void sumsStep(const float* x, const float* dy, float* dx, __m512 xv, __m512 dyv,
                                         __m512 wv, int64_t ahead, bool prefetchDx, __m512 vmean, __m512 vrstd,
                                         __m512& sumG, __m512& sumGX) {
  prefetchRead(x + ahead);
  prefetchRead(dy + ahead);
  if (prefetchDx) prefetchWrite(dx);  // read for ownership now, stored in phase B
  const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(xv, vmean), vrstd);
  const __m512 g = _mm512_mul_ps(dyv, wv);
  sumG = _mm512_add_ps(sumG, g);
  sumGX = _mm512_fmadd_ps(g, xhat, sumGX);
}

// The next group's lines are requested through both phases: a quarter of
// them in phase A (one line of x and of dy per 4 vectors), the rest in phase
// B, so reads from memory go on while phase A works from L2. All of them in
// phase B left memory idle during phase A: 8192×768, 2 threads, 67 → 70 GB/s
// (medians of 11 alternating runs; all in phase A: −10%).
struct NextGroup {
  int64_t at, end;  // floats of x and dy [at, end) not requested yet
};

// Phase A over rows [r0, r1) of a chunk ending at rEnd: sums[r − r0].
template <bool kCentered>
LMKIT_TARGET_AVX512 void rowSumsAvx512(RowSums* sums, const BackwardRows& b, int64_t r0, int64_t r1, int64_t rEnd,
                                       NextGroup& next) {
  const int64_t C = b.C;
  const float invC = 1.0f / static_cast<float>(C);
  for (int64_t r = r0; r < r1; ++r) {
    const float* xr = b.x + r * C;
    const float* dyr = b.dy + r * C;
    float* dxr = b.dx + r * C;
    const int64_t ahead = r + 1 < rEnd ? C : 0;
    const __m512 vmean = _mm512_set1_ps(kCentered ? b.mean[r] : 0.0f), vrstd = _mm512_set1_ps(b.rstd[r]);
    const RowLines xl = rowLines(xr), dyl = rowLines(dyr);
    __m512 g[4], h[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) g[k] = h[k] = _mm512_setzero_ps();
    int64_t j = 0;
    for (; j + 64 <= C; j += 64) {
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        const int64_t c = j + 16 * k;
        sumsStep(xr + c, dyr + c, dxr + c, columns(xl, c), columns(dyl, c), _mm512_loadu_ps(b.w + c), ahead,
                 !b.stream, vmean, vrstd, g[k], h[k]);
      }
      if (next.at < next.end) {
        prefetchRead(b.x + next.at);
        prefetchRead(b.dy + next.at);
        next.at += 16;
      }
    }
    for (; j < C; j += 16) {
      const __mmask16 m = lanes(C - j);
      sumsStep(xr + j, dyr + j, dxr + j, _mm512_maskz_loadu_ps(m, xr + j), _mm512_maskz_loadu_ps(m, dyr + j),
               _mm512_maskz_loadu_ps(m, b.w + j), ahead, !b.stream, vmean, vrstd, g[0], h[0]);
    }
    // A row that straddles lines ends in one more line of its own.
    prefetchRead(xr + ahead + C - 1);
    prefetchRead(dyr + ahead + C - 1);
    sums[r - r0] = {kCentered ? cpu::vec::hsum16(sum4(g[0], g[1], g[2], g[3])) * invC : 0.0f,
                    cpu::vec::hsum16(sum4(h[0], h[1], h[2], h[3])) * invC};
  }
}

// A row's scalars as vectors, and the same with lanes `prev` taken from the row before.
struct RowScalars {
  __m512 mean, rstd, meanG, meanGX;
};
template <bool kCentered>
LMKIT_TARGET_AVX512 inline RowScalars rowScalars(const BackwardRows& b, const RowSums& s, int64_t r) {
  return {_mm512_set1_ps(kCentered ? b.mean[r] : 0.0f), _mm512_set1_ps(b.rstd[r]), _mm512_set1_ps(s.meanG),
          _mm512_set1_ps(s.meanGX)};
}
LMKIT_TARGET_AVX512 inline RowScalars blendRows(__mmask16 prev, const RowScalars& cur, const RowScalars& before) {
  return {_mm512_mask_blend_ps(prev, cur.mean, before.mean), _mm512_mask_blend_ps(prev, cur.rstd, before.rstd),
          _mm512_mask_blend_ps(prev, cur.meanG, before.meanG), _mm512_mask_blend_ps(prev, cur.meanGX, before.meanGX)};
}

// Phase B on one vector at offset o of x, dy, dx (lanes m): stores dx
// (streamed: a whole line) and adds the lanes' terms into dw/db accumulators.
template <bool kCentered, bool kStream>
LMKIT_TARGET_AVX512 inline void gradStep(float* dx, const float* dy, const float* x, int64_t o, __mmask16 m,
                                         const RowScalars& s, __m512 wv, __m512& aw, __m512& ab) {
  const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + o), s.mean), s.rstd);
  const __m512 dyv = _mm512_maskz_loadu_ps(m, dy + o);
  const __m512 inner = _mm512_sub_ps(_mm512_mul_ps(dyv, wv), _mm512_fmadd_ps(xhat, s.meanGX, s.meanG));
  const __m512 out = _mm512_mul_ps(s.rstd, inner);
  if (kStream) _mm512_stream_ps(dx + o, out);
  else _mm512_mask_storeu_ps(dx + o, m, out);
  aw = _mm512_mask3_fmadd_ps(dyv, xhat, aw, m);
  if (kCentered) ab = _mm512_mask_add_ps(ab, m, ab, dyv);
}

// Loads and stores of a [cols] vector (w, dw, db) at line-row column c: a
// vector that starts before column 0 wraps, lanes [0, −c) at the row's end.
LMKIT_TARGET_AVX512 inline __m512 loadWrapped(const float* p, int64_t c, int64_t C, __mmask16 m) {
  if (c >= 0) return _mm512_maskz_loadu_ps(m, p + c);
  const __mmask16 prev = lanes(-c);
  return _mm512_mask_loadu_ps(_mm512_maskz_loadu_ps(m & ~prev, p + c), m & prev, p + C + c);
}
LMKIT_TARGET_AVX512 inline void storeWrapped(float* p, int64_t c, int64_t C, __mmask16 m, __m512 v) {
  if (c >= 0) return _mm512_mask_storeu_ps(p + c, m, v);
  const __mmask16 prev = lanes(-c);
  _mm512_mask_storeu_ps(p + c, m & ~prev, v);
  _mm512_mask_storeu_ps(p + C + c, m & prev, v);
}

// Where phase B of one group is: rows [r0, r1) of the chunk [rBegin, rEnd),
// sums[−1] the row before r0 when r0 > rBegin, and the next group's lines
// still to request.
struct GroupRows {
  const RowSums* sums;
  int64_t r0, r1, rBegin;
  NextGroup next;
};

// Phase B of one column block, `vectors` vectors from line-row column jb, over
// the group's rows. kStream: 4 whole-line vectors, stored past the caches.
// kStraddle: the first block, whose vector 0 holds row r − 1's last columns.
// The operands are taken by value so the stores (which may alias anything)
// do not make the compiler reload them.
template <bool kCentered, bool kStream, bool kStraddle>
LMKIT_TARGET_AVX512 void gradBlockAvx512(const BackwardRows b, float* dw, float* db, GroupRows& g, int64_t jb,
                                         int vectors) {
  const int64_t C = b.C;
  float* const dx = b.dx;
  const float* const dy = b.dy;
  const float* const x = b.x;
  const __mmask16 prev = lanes(b.shift);
  __mmask16 m[4];
  __m512 wv[4], aw[4], ab[4];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    const int64_t c = jb + 16 * k;
    m[k] = k < vectors ? lanes(C - b.shift - c) : __mmask16(0);
    wv[k] = loadWrapped(b.w, c, C, m[k]);
    aw[k] = loadWrapped(dw, c, C, m[k]);
    ab[k] = kCentered ? loadWrapped(db, c, C, m[k]) : _mm512_setzero_ps();
  }
  int64_t pfAt = g.next.at;
  const int64_t pfEnd = g.next.end;
  for (int64_t r = g.r0; r < g.r1; ++r) {
    const int64_t o = r * C + jb;
    const RowScalars s = rowScalars<kCentered>(b, g.sums[r - g.r0], r);
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      if (pfAt < pfEnd) {
        prefetchRead(x + pfAt);
        prefetchRead(dy + pfAt);
        pfAt += 16;
      }
      if (kStraddle && k == 0) {
        if (r == g.rBegin) {  // no row before: lanes [0, shift) are another chunk's
          gradStep<kCentered, false>(dx, dy, x, o, m[0] & ~prev, s, wv[0], aw[0], ab[0]);
        } else {
          const RowScalars before = rowScalars<kCentered>(b, g.sums[r - g.r0 - 1], r - 1);
          gradStep<kCentered, kStream>(dx, dy, x, o, m[0], blendRows(prev, s, before), wv[0], aw[0], ab[0]);
        }
      } else {
        gradStep<kCentered, kStream>(dx, dy, x, o + 16 * k, m[k], s, wv[k], aw[k], ab[k]);
      }
    }
  }
  g.next.at = pfAt;
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    storeWrapped(dw, jb + 16 * k, C, m[k], aw[k]);
    if (kCentered) storeWrapped(db, jb + 16 * k, C, m[k], ab[k]);
  }
}

// Phase B of one group: its blocks, and the tail when it ends the chunk.
template <bool kCentered>
LMKIT_TARGET_AVX512 void gradRowsAvx512(const BackwardRows& b, float* dw, float* db, const RowSums* sums,
                                        int64_t r0, int64_t r1, int64_t rBegin, int64_t rEnd, NextGroup next) {
  const int64_t C = b.C;
  GroupRows g{sums, r0, r1, rBegin, next};
  const int64_t end = C - b.shift;  // line-row columns [−shift, C − shift)
  for (int64_t jb = -b.shift; jb < end; jb += 64) {
    const int vectors = static_cast<int>(std::min<int64_t>(4, (end - jb + 15) / 16));
    const bool whole = b.stream && jb + 64 <= end;  // stream implies C % 16 == 0
    if (jb < 0) {
      if (whole) gradBlockAvx512<kCentered, true, true>(b, dw, db, g, jb, vectors);
      else gradBlockAvx512<kCentered, false, true>(b, dw, db, g, jb, vectors);
    } else {
      if (whole) gradBlockAvx512<kCentered, true, false>(b, dw, db, g, jb, vectors);
      else gradBlockAvx512<kCentered, false, false>(b, dw, db, g, jb, vectors);
    }
  }
  if (r1 == rEnd && b.shift > 0) {  // the tail: the chunk's last row's last `shift` columns
    const int64_t c = C - b.shift;
    const __mmask16 tail = lanes(b.shift);
    const RowScalars s = rowScalars<kCentered>(b, sums[r1 - 1 - r0], r1 - 1);
    __m512 aw = _mm512_maskz_loadu_ps(tail, dw + c);
    __m512 ab = kCentered ? _mm512_maskz_loadu_ps(tail, db + c) : _mm512_setzero_ps();
    gradStep<kCentered, false>(b.dx, b.dy, b.x, (r1 - 1) * C + c, tail, s, _mm512_maskz_loadu_ps(tail, b.w + c), aw,
                               ab);
    _mm512_mask_storeu_ps(dw + c, tail, aw);
    if (kCentered) _mm512_mask_storeu_ps(db + c, tail, ab);
  }
}

template <bool kCentered>
LMKIT_TARGET_AVX512 void backwardChunkAvx512(const BackwardRows& b, float* dw, float* db, int64_t rBegin,
                                             int64_t rEnd) {
  RowSums sums[kGroupMax + 1];  // [0]: the row before the group
  const int64_t perGroup = groupRows(b.C);
  for (int64_t r0 = rBegin; r0 < rEnd; r0 += perGroup) {
    const int64_t r1 = std::min(rEnd, r0 + perGroup);
    NextGroup next{r1 * b.C, std::min(rEnd, r1 + (r1 - r0)) * b.C};
    rowSumsAvx512<kCentered>(sums + 1, b, r0, r1, rEnd, next);
    gradRowsAvx512<kCentered>(b, dw, db, sums + 1, r0, r1, rBegin, rEnd, next);
    sums[0] = sums[r1 - r0];
  }
  if (b.stream) _mm_sfence();  // streamed lines visible before the task counts as done
}

// ------------------------------------------------------------------ AVX2
// The AVX-512 path's plan in 8 lanes: 4 vectors per step into 4
// accumulators, the next row prefetched during each pass from memory,
// whole-vector loads and stores, and the masked forms only for the row's
// last partial vector: vmaskmovps stores are microcoded on AMD (a masked
// load and store per vector held layernorm at a third of STREAM on Zen 3).
// Backward updates dw/db per row from L1 (rows of a chunk add in order).

LMKIT_TARGET_AVX2 inline __m256 sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  return _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d));
}

// x̂∘w + b (x̂∘w for RMSNorm) with x̂ = ((x − hi) − lo)·rstd.
template <bool kCentered>
LMKIT_TARGET_AVX2 inline __m256 normalizedAvx2(__m256 x, __m256 w, __m256 b, __m256 hi, __m256 lo, __m256 rstd) {
  const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_sub_ps(x, hi), lo), rstd);
  return kCentered ? _mm256_fmadd_ps(xhat, w, b) : _mm256_mul_ps(xhat, w);
}

template <bool kCentered>
LMKIT_TARGET_AVX2 void forwardRowAvx2(float* y, float* meanOut, float* rstdOut, const float* x,
                                      const float* w, const float* b, int64_t C, int64_t ahead, float eps) {
  const float invC = 1.0f / static_cast<float>(C);
  const int64_t body = C & ~int64_t{31};  // end of the 4-vector steps
  const int64_t whole = C & ~int64_t{7};  // end of the whole vectors
  const __m256i tail = cpu::vec::tailMask8(C - whole);
  // Pass 1: mean (x from memory; the next row is requested meanwhile).
  float mean = 0.0f;
  {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t j = 0;
    for (; j < body; j += 32) {
      prefetchRead(x + ahead + j);
      prefetchRead(x + ahead + j + 16);
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + j));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(x + j + 8));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(x + j + 16));
      s3 = _mm256_add_ps(s3, _mm256_loadu_ps(x + j + 24));
    }
    for (; j < whole; j += 8) {
      prefetchRead(x + ahead + j);
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(x + j));
    }
    if (whole < C) s0 = _mm256_add_ps(s0, _mm256_maskload_ps(x + whole, tail));
    if (kCentered) mean = cpu::vec::hsum8(sum4(s0, s1, s2, s3)) * invC;
  }
  // Pass 2 (L1): Σd and Σd² of d = x − mean, the corrected two-pass variance.
  const __m256 vmean = _mm256_set1_ps(mean);
  __m256 d0 = _mm256_setzero_ps(), d1 = d0, d2 = d0, d3 = d0, q0 = d0, q1 = d0, q2 = d0, q3 = d0;
  int64_t j = 0;
  for (; j < body; j += 32) {
    const __m256 a0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), vmean);
    const __m256 a1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), vmean);
    const __m256 a2 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 16), vmean);
    const __m256 a3 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 24), vmean);
    d0 = _mm256_add_ps(d0, a0);
    d1 = _mm256_add_ps(d1, a1);
    d2 = _mm256_add_ps(d2, a2);
    d3 = _mm256_add_ps(d3, a3);
    q0 = _mm256_fmadd_ps(a0, a0, q0);
    q1 = _mm256_fmadd_ps(a1, a1, q1);
    q2 = _mm256_fmadd_ps(a2, a2, q2);
    q3 = _mm256_fmadd_ps(a3, a3, q3);
  }
  for (; j < C; j += 8) {
    const bool full = j < whole;
    const __m256 xv = full ? _mm256_loadu_ps(x + j) : _mm256_maskload_ps(x + j, tail);
    const __m256 a = _mm256_sub_ps(xv, vmean);
    const __m256 d = full ? a : _mm256_and_ps(a, _mm256_castsi256_ps(tail));
    d0 = _mm256_add_ps(d0, d);
    q0 = _mm256_fmadd_ps(d, d, q0);
  }
  const float meanLo = kCentered ? cpu::vec::hsum8(sum4(d0, d1, d2, d3)) * invC : 0.0f;
  const float var = cpu::vec::hsum8(sum4(q0, q1, q2, q3)) * invC - meanLo * meanLo;
  const float rstd = 1.0f / std::sqrt(std::max(var, 0.0f) + eps);
  // Pass 3 (L1): y = x̂∘w + b.
  const __m256 vrstd = _mm256_set1_ps(rstd), vmeanLo = _mm256_set1_ps(meanLo);
  for (j = 0; j < whole; j += 8)
    _mm256_storeu_ps(y + j, normalizedAvx2<kCentered>(_mm256_loadu_ps(x + j), _mm256_loadu_ps(w + j),
                                kCentered ? _mm256_loadu_ps(b + j) : _mm256_setzero_ps(), vmean, vmeanLo, vrstd));
  if (whole < C)
    _mm256_maskstore_ps(y + whole, tail,
                        normalizedAvx2<kCentered>(_mm256_maskload_ps(x + whole, tail), _mm256_maskload_ps(w + whole, tail),
                            kCentered ? _mm256_maskload_ps(b + whole, tail) : _mm256_setzero_ps(), vmean, vmeanLo,
                                                   vrstd));
  if (kCentered) *meanOut = mean + meanLo;
  *rstdOut = rstd;
}

// One vector of the backward's sums: sumG += g = dy∘w, sumGX += g∘x̂.
LMKIT_TARGET_AVX2 inline void sumsStepAvx2(__m256 x, __m256 dy, __m256 w, __m256 vmean, __m256 vrstd, __m256& sumG,
                                           __m256& sumGX) {
  const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(x, vmean), vrstd);
  const __m256 g = _mm256_mul_ps(dy, w);
  sumG = _mm256_add_ps(sumG, g);
  sumGX = _mm256_fmadd_ps(g, xhat, sumGX);
}

// One vector of the backward's outputs: dx, and dw/db accumulated.
template <bool kCentered>
LMKIT_TARGET_AVX2 inline void gradStepAvx2(__m256 x, __m256 dy, __m256 w, __m256 vmean, __m256 vrstd, __m256 meanG,
                                           __m256 meanGX, __m256& dx, __m256& dw, __m256& db) {
  const __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(x, vmean), vrstd);
  const __m256 inner = _mm256_sub_ps(_mm256_mul_ps(dy, w), _mm256_fmadd_ps(xhat, meanGX, meanG));
  dx = _mm256_mul_ps(vrstd, inner);
  dw = _mm256_fmadd_ps(dy, xhat, dw);
  if (kCentered) db = _mm256_add_ps(dy, db);
}

template <bool kCentered>
LMKIT_TARGET_AVX2 void backwardRowAvx2(float* dx, float* dw, float* db, const float* dy, const float* x,
                                       const float* w, float mean, float rstd, int64_t C, int64_t ahead) {
  const int64_t body = C & ~int64_t{31};
  const int64_t whole = C & ~int64_t{7};
  const __m256i tail = cpu::vec::tailMask8(C - whole);
  const __m256 vmean = _mm256_set1_ps(mean), vrstd = _mm256_set1_ps(rstd);
  // Phase A: the two sums, x and dy from memory, the next row's requested.
  __m256 g0 = _mm256_setzero_ps(), g1 = g0, g2 = g0, g3 = g0, h0 = g0, h1 = g0, h2 = g0, h3 = g0;
  int64_t j = 0;
  for (; j < body; j += 32) {
    prefetchRead(x + ahead + j);
    prefetchRead(x + ahead + j + 16);
    prefetchRead(dy + ahead + j);
    prefetchRead(dy + ahead + j + 16);
    sumsStepAvx2(_mm256_loadu_ps(x + j), _mm256_loadu_ps(dy + j), _mm256_loadu_ps(w + j), vmean, vrstd, g0, h0);
    sumsStepAvx2(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(dy + j + 8), _mm256_loadu_ps(w + j + 8), vmean, vrstd,
                 g1, h1);
    sumsStepAvx2(_mm256_loadu_ps(x + j + 16), _mm256_loadu_ps(dy + j + 16), _mm256_loadu_ps(w + j + 16), vmean,
                 vrstd, g2, h2);
    sumsStepAvx2(_mm256_loadu_ps(x + j + 24), _mm256_loadu_ps(dy + j + 24), _mm256_loadu_ps(w + j + 24), vmean,
                 vrstd, g3, h3);
  }
  for (; j < whole; j += 8) {
    prefetchRead(x + ahead + j);
    prefetchRead(dy + ahead + j);
    sumsStepAvx2(_mm256_loadu_ps(x + j), _mm256_loadu_ps(dy + j), _mm256_loadu_ps(w + j), vmean, vrstd, g0, h0);
  }
  // Masked lanes: dy and w load 0, so g and its products are 0 there.
  if (whole < C)
    sumsStepAvx2(_mm256_maskload_ps(x + whole, tail), _mm256_maskload_ps(dy + whole, tail),
                 _mm256_maskload_ps(w + whole, tail), vmean, vrstd, g0, h0);
  const float invC = 1.0f / static_cast<float>(C);
  const __m256 meanG = _mm256_set1_ps(kCentered ? cpu::vec::hsum8(sum4(g0, g1, g2, g3)) * invC : 0.0f);
  const __m256 meanGX = _mm256_set1_ps(cpu::vec::hsum8(sum4(h0, h1, h2, h3)) * invC);
  // Phase B (x, dy in L1): dx, and dw/db += this row's terms.
  for (j = 0; j < whole; j += 8) {
    __m256 dxv, dwv = _mm256_loadu_ps(dw + j), dbv = kCentered ? _mm256_loadu_ps(db + j) : _mm256_setzero_ps();
    gradStepAvx2<kCentered>(_mm256_loadu_ps(x + j), _mm256_loadu_ps(dy + j), _mm256_loadu_ps(w + j), vmean, vrstd,
                            meanG, meanGX, dxv, dwv, dbv);
    _mm256_storeu_ps(dx + j, dxv);
    _mm256_storeu_ps(dw + j, dwv);
    if (kCentered) _mm256_storeu_ps(db + j, dbv);
  }
  if (whole < C) {
    __m256 dxv, dwv = _mm256_maskload_ps(dw + whole, tail),
                dbv = kCentered ? _mm256_maskload_ps(db + whole, tail) : _mm256_setzero_ps();
    gradStepAvx2<kCentered>(_mm256_maskload_ps(x + whole, tail), _mm256_maskload_ps(dy + whole, tail),
                            _mm256_maskload_ps(w + whole, tail), vmean, vrstd, meanG, meanGX, dxv, dwv, dbv);
    _mm256_maskstore_ps(dx + whole, tail, dxv);
    _mm256_maskstore_ps(dw + whole, tail, dwv);
    if (kCentered) _mm256_maskstore_ps(db + whole, tail, dbv);
  }
}

// ------------------------------------------------------------------ drivers

// The AVX-512 passes load w and b (the forward) or w (the backward) at the
// columns where they cut x, dy and the outputs, so they load by whole lines
// only when w and b start as far into a line as the rows do (`shift`
// floats): elsewhere, as a caller's small buffers often are, every load
// splits two lines. Copying them costs two rows' traffic; at 8192×768,
// 2 threads, Node's buffers, it gained 0–12% forward (9% typical; medians
// of 6 processes alternating 300-call rounds with and without) and 2–4%
// backward.
// Small calls (decoding's one row) keep the caller's buffers.
constexpr int64_t kCopyMinRows = 64;

// Copies w, and b right after it unless null, into `storage`, starting
// `shift` floats into a line; returns the copy of w (C % 16 == 0 keeps b's
// shift the same when there is one).
float* copyLineShifted(std::vector<float>& storage, const float* w, const float* b, int64_t C, int64_t shift) {
  storage.resize(static_cast<size_t>(2 * C + 32));
  float* copy = storage.data() + leadFloats(storage.data(), 16) + shift;
  std::copy(w, w + C, copy);
  if (b != nullptr) std::copy(b, b + C, copy + C);
  return copy;
}

template <bool kCentered>
void normForward(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b,
                 int64_t rows, int64_t cols, float eps) {
  if (rows == 0 || cols == 0) return;
  const Isa isa = cpu::activeIsa();  // read once: every row takes the same path
  std::vector<float> params;  // w and b shifted as y's rows (every row alike when cols % 16 == 0)
  const int64_t shift = lineShift(y);
  if (isa == Isa::Avx512 && rows >= kCopyMinRows && cols % 16 == 0 &&
      (lineShift(w) != shift || (kCentered && lineShift(b) != shift))) {
    const float* copy = copyLineShifted(params, w, kCentered ? b : nullptr, cols, shift);
    w = copy;
    b = kCentered ? copy + cols : nullptr;
  }
  cpu::parallelRange(rows, rowGrain(rows, cols), [&](int64_t r0, int64_t r1) {
    if (isa == Isa::Avx512) {
      forwardRowsAvx512<kCentered>(y, mean, rstd, x, w, b, r0, r1, rows, cols, eps);
      return;
    }
    for (int64_t r = r0; r < r1; ++r) {
      float* yr = y + r * cols;
      const float* xr = x + r * cols;
      float* meanR = kCentered ? mean + r : nullptr;
      const int64_t ahead = r + 1 < rows ? cols : 0;
      if (isa == Isa::Avx2) forwardRowAvx2<kCentered>(yr, meanR, rstd + r, xr, w, b, cols, ahead, eps);
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

  // Streaming needs line-aligned vectors, which the line rows give when C % 16 == 0.
  const bool lineRows = cols % 16 == 0;
  const bool stream = lineRows && rows * cols * int64_t{sizeof(float)} >= kStreamBytes;
  std::vector<float> params;  // w on a line start: phase A cuts columns from 0
  if (isa == Isa::Avx512 && rows >= kCopyMinRows && lineShift(w) != 0)
    w = copyLineShifted(params, w, nullptr, cols, 0);
  const BackwardRows rowsAvx512{dx, dy, x, w, mean, rstd, cols,
                                lineRows ? lineShift(dx) : 0,
                                stream};
  cpu::parallelFor(chunks, [&](int64_t c) {
    float* dw = partial.data() + c * sums * cols;
    float* db = kCentered ? dw + cols : nullptr;
    const int64_t r1 = std::min(rows, (c + 1) * perChunk);
    if (isa == Isa::Avx512) {
      backwardChunkAvx512<kCentered>(rowsAvx512, dw, db, c * perChunk, r1);
      return;
    }
    for (int64_t r = c * perChunk; r < r1; ++r) {
      const float m = kCentered ? mean[r] : 0.0f;
      const int64_t o = r * cols;
      const int64_t ahead = r + 1 < r1 ? cols : 0;
      if (isa == Isa::Avx2) backwardRowAvx2<kCentered>(dx + o, dw, db, dy + o, x + o, w, m, rstd[r], cols, ahead);
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

// What the packed GEMMs (gemm.cpp fp32, gemm_bf16.cpp) share: 64-byte
// aligned buffers, the per-thread scratch their packed panels live in, and
// the tiling of C into product tasks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "cpu/thread_pool.h"
#include "kernels.h"

namespace lmkit {
namespace cpu {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <class T>
using AlignedBuffer = std::unique_ptr<T, FreeDeleter>;

// 64-byte aligned: packed panels are read with aligned vector loads.
template <class T>
AlignedBuffer<T> allocAligned(int64_t count) {
  const size_t bytes = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
  if (p == nullptr) throw std::bad_alloc();
  return AlignedBuffer<T>(static_cast<T*>(p));
}

// Scratch for packed panels, one per calling thread and kept between calls
// (a fresh multi-megabyte allocation per call costs page faults every time).
// A thread runs one product at a time, so its scratch is never shared: the
// pool's workers only read the caller's. Requests above a GEMM's budget (huge
// m + n) are served by a one-off allocation instead of growing the cache.
template <class T>
class PanelScratch {
 public:
  T* get(int64_t count) {
    if (count > capacity_) {
      buffer_ = allocAligned<T>(count);
      capacity_ = count;
    }
    return buffer_.get();
  }

 private:
  AlignedBuffer<T> buffer_;
  int64_t capacity_ = 0;
};

inline int64_t ceilDiv(int64_t x, int64_t y) { return (x + y - 1) / y; }

// Tile sizes: at most 24 A panels (mr rows each) by 8 B panels (nr
// columns), split evenly, and narrowed until there are ≥ minTiles tiles
// when the shape allows: kMinTilesShared where the pool shares the tiles,
// so 2–3 threads stay balanced on skinny products; kMinTilesOneThread where
// one thread runs them all (a block of C per thread, or a pool of one),
// which has no balance to keep, and where tiles of a single B panel ran
// slower (Zen 5, AVX-512, 2 threads, interleaved, 8 against 16: 512³ +4%,
// 256×768·(768×768) +4%, the 384×384 weight gradient 2048 deep +4% (+5% on
// 1 thread); Bᵀ transformer shapes of 256–2048 tokens within ±2%). Tiles
// never change an element's arithmetic (the k blocks are fixed), so results
// stay bitwise the same for any thread count.
// 24 panels of one k block (fp32: 288 KB) stay in a 1 MB L2 and keep a
// 256-token product in one tile row, so each B panel is packed once rather
// than twice (Zen 4: +4–7% on 256×768·(3072×768)ᵀ and 256×3072·(3072×768),
// neutral on the square shapes).
// The AVX2 fp32 GEMM allows 96 of its 6-row panels (maxTilePanels): the A
// panels only stream through L1 (each meets the tile's B panels once per k
// block), so the limit is about packing B, and with up to 576 rows in one
// tile row the products of 256–576 tokens pack their B panels inside the
// tasks, once (Zen 3, interleaved, 2T, against 24 panels: +5–10% on the
// 384×1152 (2048 deep) and 256×3072 products, +4% on 512×3072, the rest
// within ±2%).
struct GemmTiling {
  int64_t mPanels, nPanels, tm, tn, mTiles, nTiles;
};

constexpr int64_t kMinTilesShared = 16;
constexpr int64_t kMinTilesOneThread = 8;

inline GemmTiling planGemmTiles(const GemmShape& s, int mr, int nr, int64_t maxTilePanels = 24,
                                int64_t minTiles = kMinTilesShared) {
  GemmTiling t;
  t.mPanels = ceilDiv(s.m, mr);
  t.nPanels = ceilDiv(s.n, nr);
  t.mTiles = ceilDiv(t.mPanels, maxTilePanels);
  t.tm = ceilDiv(t.mPanels, t.mTiles);
  const int64_t nTiles = std::min(t.nPanels, std::max(ceilDiv(t.nPanels, 8), ceilDiv(minTiles, t.mTiles)));
  t.tn = ceilDiv(t.nPanels, nTiles);
  t.nTiles = ceilDiv(t.nPanels, t.tn);
  return t;
}

// The rows and columns of C that one call of a blocked GEMM computes.
struct CBlock {
  int64_t row0, rows, col0, cols;
};

// With several threads, C is cut into a grid of rowBlocks × colBlocks
// blocks, one per thread, each computed by its thread alone with panels it
// packs itself. Cutting columns makes every block pack all of op(A), cutting
// rows all of op(B); of the grids that use the most threads the panels
// allow, the one that packs least (colBlocks·m + rowBlocks·n values per
// depth) wins: columns for tokens×768·Wᵀ with few tokens, rows for tall
// products.
// Why not one pool of tiles over shared panels: on a 2-vCPU Zen 5 guest
// whose vCPUs sat on different CCDs (a cache line bounced between them in
// ~470 ns, against ~110 ns when the hypervisor put them on one CCX),
// panels packed by one core and read by the other held the product back.
// Interleaved, 2 threads, medians of 6 runs in GFLOP/s, shared tiles →
// blocks (OpenBLAS 0.3.21 SkylakeX): 512³ 268 → 305 (257), 1024³ 293 → 319
// (308), 2048³ 310 → 310 (332), 64×768·(3072×768)ᵀ 262 → 294 (239),
// 256×768·(768×768)ᵀ 281 → 323 (285), 1024×768·(3072×768)ᵀ 321 → 340
// (338), 4096×768·(3072×768)ᵀ 335 → 345 (344). With both vCPUs on one CCX
// the two ran within noise of each other.
// The blocks pack more than shared tiles do (m + n values per depth): the
// larger side plus twice the smaller at 2 threads, 2m + 2n at 4 (2×2).
// Beyond 1.5 times m + n (never at 2 threads; at 3 unless one side is 3
// times the other, at 4 unless 5 times) C stays whole: on a many-core CPU
// with a shared L3 the extra packing may cost more than it saves, and no
// such machine has measured it.
constexpr int64_t kMaxPackGrowthNum = 3, kMaxPackGrowthDen = 2;

struct ThreadGrid {
  int64_t rowBlocks, colBlocks;
};

inline ThreadGrid planThreadGrid(const GemmShape& s, int mr, int nr, int threads) {
  const int64_t mPanels = ceilDiv(s.m, mr), nPanels = ceilDiv(s.n, nr);
  ThreadGrid best{1, 1};
  int64_t bestUsed = 1, bestPacked = s.m + s.n;
  // From the most row blocks down, so a tie goes to row blocks (2048³, 2
  // threads: 361 against 349 GFLOP/s for column blocks; 1024³ within noise).
  for (int64_t tm = threads; tm >= 1; --tm) {
    const int64_t rows = std::min(tm, mPanels), cols = std::min<int64_t>(threads / tm, nPanels);
    const int64_t used = rows * cols, packed = cols * s.m + rows * s.n;
    if (used > bestUsed || (used == bestUsed && packed < bestPacked)) {
      best = {rows, cols};
      bestUsed = used;
      bestPacked = packed;
    }
  }
  if (bestPacked * kMaxPackGrowthDen > kMaxPackGrowthNum * (s.m + s.n)) return {1, 1};
  return best;
}

// Block i of the grid (row-major), cut on panel boundaries: columns every
// nr, rows every rowStep, a divisor of the panel height where the kernels
// have shorter forms (AVX-512 fp32: 4 of 12, so 512 rows split 256 + 256
// rather than 252 + 260; Zen 5, 2 threads, 512³: +1–2%).
inline CBlock threadBlock(const GemmShape& s, int rowStep, int nr, const ThreadGrid& g, int64_t i) {
  auto cut = [](int64_t extent, int w, int64_t blocks, int64_t b, int64_t& begin, int64_t& count) {
    const int64_t panels = ceilDiv(extent, w);
    begin = std::min(extent, panels * b / blocks * w);
    count = std::min(extent, panels * (b + 1) / blocks * w) - begin;
  };
  CBlock blk;
  cut(s.m, rowStep, g.rowBlocks, i / g.colBlocks, blk.row0, blk.rows);
  cut(s.n, nr, g.colBlocks, i % g.colBlocks, blk.col0, blk.cols);
  return blk;
}

// A block of C as a product of its own: its rows of op(A) and columns of
// op(B), read through the whole's leading dimensions (s.k, s.m, s.n).
struct BlockOperands {
  GemmShape shape;  // m, n: the block's
  const float* a;
  const float* b;
  float* c;
};

inline BlockOperands blockOperands(float* c, const float* a, const float* b, const GemmShape& s, const CBlock& blk) {
  GemmShape shape = s;
  shape.m = blk.rows;
  shape.n = blk.cols;
  return {shape, s.transA ? a + blk.row0 : a + blk.row0 * s.k, s.transB ? b + blk.col0 * s.k : b + blk.col0,
          c + blk.row0 * s.n + blk.col0};
}

// Calls block(blk, budget) for one block of C per thread (planThreadGrid),
// in parallel, each with its share of packBudget; or once for all of C
// when perThread is false or inside a parallel loop, where the blocks would
// run one after another, each packing its panels again. (A caller that finds
// the pool busy with another caller's loop runs them one after another too,
// packing at most 1.5 times what one block of all of C would.)
template <class Fn>
void forEachThreadBlock(const GemmShape& s, int mr, int nr, int rowStep, bool perThread, int64_t packBudget,
                        Fn&& block) {
  const int threads = perThread && !insideParallelLoop() ? numThreads() : 1;
  const ThreadGrid grid = planThreadGrid(s, mr, nr, threads);
  const int64_t blocks = grid.rowBlocks * grid.colBlocks;
  if (blocks == 1) return block(CBlock{0, s.m, 0, s.n}, packBudget);
  parallelFor(blocks, [&](int64_t i) { block(threadBlock(s, rowStep, nr, grid, i), packBudget / blocks); });
}

}  // namespace cpu
}  // namespace lmkit

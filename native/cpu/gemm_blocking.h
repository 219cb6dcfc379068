// What the packed GEMMs (gemm.cpp fp32, gemm_bf16.cpp) share: 64-byte
// aligned buffers, the per-thread scratch their packed panels live in, and
// the tiling of C into product tasks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

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

// Tile sizes from the shape alone (never the thread count): at most 24 A
// panels (mr rows each) by 8 B panels (nr columns), split evenly, and
// narrowed until there are ≥ 16 tiles when the shape allows, so 2–3 threads
// stay balanced on skinny products. 24 panels of one k block (fp32: 288 KB)
// stay in a 1 MB L2 and keep a 256-token product in one tile row, so each B
// panel is packed once rather than twice (Zen 4: +4–7% on 256×768·(3072×768)ᵀ
// and 256×3072·(3072×768), neutral on the square shapes).
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

inline GemmTiling planGemmTiles(const GemmShape& s, int mr, int nr, int64_t maxTilePanels = 24) {
  GemmTiling t;
  t.mPanels = ceilDiv(s.m, mr);
  t.nPanels = ceilDiv(s.n, nr);
  t.mTiles = ceilDiv(t.mPanels, maxTilePanels);
  t.tm = ceilDiv(t.mPanels, t.mTiles);
  const int64_t nTiles = std::min(t.nPanels, std::max(ceilDiv(t.nPanels, 8), ceilDiv(16, t.mTiles)));
  t.tn = ceilDiv(t.nPanels, nTiles);
  t.nTiles = ceilDiv(t.nPanels, t.tn);
  return t;
}

}  // namespace cpu
}  // namespace lmkit

// Axis permutation (a strided copy): out has shape[perm[k]] on axis k and
//   out[i_0, …, i_{n−1}] = x[j]  with  j_{perm[k]} = i_k,
// x and out row-major and contiguous. Attention uses it to split heads,
// (B, T, 3, NH, HS) → (3, B, NH, T, HS), and to merge them back.
//
// Both paths first simplify the problem: size-1 axes are dropped and output
// axes that stay neighbours in x (perm[k+1] = perm[k] + 1) are merged, so the
// head split above becomes a 4-axis copy whose innermost axis (HS) is
// contiguous in both tensors.
//
// Work split: the output is cut into rows of its innermost merged axis;
// threads take fixed chunks of rows, each written by exactly one task. A
// copy rounds nothing, so every path, ISA and thread count gives the same
// bits.
//   reference (scalar ISA): each element's source offset from its index.
//   fast: when the innermost output axis is contiguous in x, each row is one
//   memcpy; otherwise rows are gathered in tiles of kTile source-contiguous
//   elements so both sides stay in cache (a blocked transpose).
#include <algorithm>
#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "kernels.h"

namespace lmkit {
namespace {

// Elements per task: enough that the pool's hand-off cost is noise.
constexpr int64_t kElementsPerTask = 1 << 15;
constexpr int64_t kTile = 16;

// The simplified problem: output dims and, for each, its stride in x.
struct Layout {
  int n = 0;
  int64_t dims[kPermuteMaxDims];
  int64_t srcStride[kPermuteMaxDims];
};

Layout simplify(const int64_t* shape, const int32_t* perm, int ndim) {
  int64_t stride[kPermuteMaxDims];
  int64_t s = 1;
  for (int a = ndim - 1; a >= 0; --a) {
    stride[a] = s;
    s *= shape[a];
  }
  Layout l;
  int prevAxis = -2;
  for (int k = 0; k < ndim; ++k) {
    const int a = perm[k];
    if (shape[a] == 1) continue;
    if (l.n > 0 && a == prevAxis + 1) {
      // x axis a follows the previous kept axis in both tensors: merge them.
      l.dims[l.n - 1] *= shape[a];
      l.srcStride[l.n - 1] = stride[a];
    } else {
      l.dims[l.n] = shape[a];
      l.srcStride[l.n] = stride[a];
      ++l.n;
    }
    prevAxis = a;
  }
  return l;
}

// Source offset of the first element of output row `row` (all axes but the last).
int64_t rowOffset(const Layout& l, int64_t row) {
  int64_t off = 0;
  for (int k = l.n - 2; k >= 0; --k) {
    off += (row % l.dims[k]) * l.srcStride[k];
    row /= l.dims[k];
  }
  return off;
}

// ---------------------------------------------------------------- scalar reference

void permuteRowsReference(float* out, const float* x, const Layout& l, int64_t r0, int64_t r1) {
  const int64_t inner = l.dims[l.n - 1];
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t i = 0; i < inner; ++i) {
      int64_t flat = r * inner + i, off = 0;
      for (int k = l.n - 1; k >= 0; --k) {
        off += (flat % l.dims[k]) * l.srcStride[k];
        flat /= l.dims[k];
      }
      out[r * inner + i] = x[off];
    }
}

// ---------------------------------------------------------------- fast paths

// Innermost output axis contiguous in x: one memcpy per row.
void permuteRowsContiguous(float* out, const float* x, const Layout& l, int64_t r0, int64_t r1) {
  const int64_t inner = l.dims[l.n - 1];
  int64_t idx[kPermuteMaxDims];
  int64_t row = r0;
  for (int k = l.n - 2; k >= 0; --k) {
    idx[k] = row % l.dims[k];
    row /= l.dims[k];
  }
  int64_t off = rowOffset(l, r0);
  for (int64_t r = r0; r < r1; ++r) {
    std::memcpy(out + r * inner, x + off, static_cast<size_t>(inner) * sizeof(float));
    for (int k = l.n - 2; k >= 0; --k) {  // advance the row index like an odometer
      off += l.srcStride[k];
      if (++idx[k] < l.dims[k]) break;
      off -= l.srcStride[k] * l.dims[k];
      idx[k] = 0;
    }
  }
}

// Innermost output axis strided in x. Output axis `c` (the one with x stride
// 1, if any) is walked in tiles of kTile rows so each source line read is
// reused for kTile outputs; other layouts fall back to a gather per row.
void permuteRowsStrided(float* out, const float* x, const Layout& l, int64_t r0, int64_t r1) {
  const int64_t inner = l.dims[l.n - 1];
  const int64_t step = l.srcStride[l.n - 1];
  int c = -1;
  for (int k = 0; k < l.n - 1; ++k)
    if (l.srcStride[k] == 1) c = k;
  // Rows r and r + rowsPerC differ by one step along axis c.
  int64_t rowsPerC = 1;
  for (int k = c + 1; k < l.n - 1; ++k) rowsPerC *= l.dims[k];
  for (int64_t r = r0; r < r1;) {
    // A tile: up to kTile rows that differ only along axis c.
    int64_t tile = 1;
    if (c >= 0) {
      const int64_t ic = (r / rowsPerC) % l.dims[c];
      if (rowsPerC == 1) tile = std::min({kTile, l.dims[c] - ic, r1 - r});
    }
    const int64_t base = rowOffset(l, r);
    for (int64_t i0 = 0; i0 < inner; i0 += kTile) {
      const int64_t i1 = std::min(i0 + kTile, inner);
      for (int64_t t = 0; t < tile; ++t) {
        float* dst = out + (r + t) * inner;
        const float* src = x + base + t;  // axis c has x stride 1
        for (int64_t i = i0; i < i1; ++i) dst[i] = src[i * step];
      }
    }
    r += tile;
  }
}

}  // namespace

void permute(float* out, const float* x, const int64_t* shape, const int32_t* perm, int ndim) {
  int64_t total = 1;
  for (int a = 0; a < ndim; ++a) total *= shape[a];
  if (total == 0) return;
  const Layout l = simplify(shape, perm, ndim);
  if (l.n <= 1) {  // the identity once size-1 axes are gone
    cpu::parallelRange(total, kElementsPerTask, [&](int64_t b, int64_t e) {
      std::memcpy(out + b, x + b, static_cast<size_t>(e - b) * sizeof(float));
    });
    return;
  }
  const int64_t inner = l.dims[l.n - 1];
  const int64_t rows = total / inner;
  const int64_t grain = std::max<int64_t>(1, kElementsPerTask / inner);
  const cpu::Isa isa = cpu::activeIsa();
  const bool contiguous = l.srcStride[l.n - 1] == 1;
  cpu::parallelRange(rows, grain, [&](int64_t r0, int64_t r1) {
    if (isa == cpu::Isa::Scalar) permuteRowsReference(out, x, l, r0, r1);
    else if (contiguous) permuteRowsContiguous(out, x, l, r0, r1);
    else permuteRowsStrided(out, x, l, r0, r1);
  });
}

}  // namespace lmkit

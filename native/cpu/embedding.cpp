// Embedding lookup: out[i, :] = weight[ids[i], :] and its backward, a
// scatter-add dweight[ids[i], :] += dout[i, :]. Layout: ids [count] int32,
// weight/dweight [vocab, dim], out/dout [count, dim], row-major. The binding
// has checked every id against vocab.
//
// Work split: the forward copies rows in chunks of kRowGrain ids. The
// backward must not let two tasks add into the same dweight row, and a
// repeated id must be summed in one fixed order, so tasks own column blocks
// of kColGrain: each walks all ids in order over its columns. Every dweight
// element then receives its additions in id order whatever the thread count
// (and whatever the ISA: the adds are elementwise). These loops are copies
// and elementwise adds, which the compiler vectorises as written.
#include <cstring>

#include "cpu/thread_pool.h"
#include "kernels.h"

namespace lmkit {
namespace {

constexpr int64_t kRowGrain = 256;
constexpr int64_t kColGrain = 256;

}  // namespace

void embeddingForward(float* out, const int32_t* ids, const float* weight, int64_t count,
                      int64_t dim) {
  cpu::parallelRange(count, kRowGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      std::memcpy(out + i * dim, weight + static_cast<int64_t>(ids[i]) * dim, sizeof(float) * dim);
  });
}

void embeddingBackward(float* dweight, const int32_t* ids, const float* dout, int64_t count,
                       int64_t dim) {
  cpu::parallelRange(dim, kColGrain, [&](int64_t c0, int64_t c1) {
    for (int64_t i = 0; i < count; ++i) {
      float* dst = dweight + static_cast<int64_t>(ids[i]) * dim;
      const float* src = dout + i * dim;
      for (int64_t c = c0; c < c1; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace lmkit

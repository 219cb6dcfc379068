// GEMM, fp32 path: C[m×n] = alpha·op(A)·op(B) + beta·C, row-major, op = X or
// Xᵀ (native/kernels.h). beta = 0 never reads C.
//
// Tiling (the classic shared-memory SGEMM): a block of 256 threads owns a
// 64×64 tile of C and walks k in steps of 16. Each step stages the 64×16
// slice of op(A) and the 16×64 slice of op(B) in shared memory (zero-padded
// past m, n, k), transposing A so both are read along the tile's rows; each
// thread then accumulates a 4×4 sub-tile in registers, rows ty + 16·i and
// columns tx + 16·j (strided, so the 16 threads of a row read 16 different
// banks). Loads follow the memory layout: the fastest-moving index is the
// contiguous one of A/B as stored, whichever transpose is asked for.
// Batched: blockIdx.z picks the matrix (strides in elements; 0 broadcasts).
//
// Every C element is one thread's k-ordered chain of fmaf, so the result
// differs from the CPU kernel only by summation order and FMA rounding:
// |Δ| ≤ 2γ_k·Σ_p |A_ip·B_pj| (γ_k = k·2⁻²⁴/(1 − k·2⁻²⁴)), the bound the
// emulation test checks.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 256, kMicro = 4;

__global__ void __launch_bounds__(kThreads)
gemmTiledKernel(float* c, const float* a, const float* b, GemmShape s, GemmBatch batch, int64_t batchBase) {
  __shared__ float As[kBK][kBM + 4];  // op(A) slice, transposed: As[p][i]
  __shared__ float Bs[kBK][kBN + 4];  // op(B) slice: Bs[p][j]
  const int64_t z = batchBase + blockIdx.z;
  a += z * batch.strideA;
  b += z * batch.strideB;
  c += z * batch.strideC;
  const int64_t row0 = int64_t{blockIdx.y} * kBM, col0 = int64_t{blockIdx.x} * kBN;
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  float acc[kMicro][kMicro];
  for (int i = 0; i < kMicro; ++i)
    for (int j = 0; j < kMicro; ++j) acc[i][j] = 0.0f;

  for (int64_t p0 = 0; p0 < s.k; p0 += kBK) {
    for (int r = 0; r < (kBM * kBK) / kThreads; ++r) {
      const int l = tid + r * kThreads;
      // Stored A is m×k (k×m when transA): let the contiguous index move fastest.
      const int i = s.transA ? l % kBM : l / kBK;
      const int p = s.transA ? l / kBM : l % kBK;
      const int64_t gi = row0 + i, gp = p0 + p;
      float v = 0.0f;
      if (gi < s.m && gp < s.k) v = s.transA ? a[gp * s.m + gi] : a[gi * s.k + gp];
      As[p][i] = v;
    }
    for (int r = 0; r < (kBK * kBN) / kThreads; ++r) {
      const int l = tid + r * kThreads;
      // Stored B is k×n (n×k when transB).
      const int j = s.transB ? l / kBK : l % kBN;
      const int p = s.transB ? l % kBK : l / kBN;
      const int64_t gj = col0 + j, gp = p0 + p;
      float v = 0.0f;
      if (gj < s.n && gp < s.k) v = s.transB ? b[gj * s.k + gp] : b[gp * s.n + gj];
      Bs[p][j] = v;
    }
    __syncthreads();
    const int depth = s.k - p0 < kBK ? static_cast<int>(s.k - p0) : kBK;
    for (int p = 0; p < depth; ++p) {
      float av[kMicro], bv[kMicro];
      for (int i = 0; i < kMicro; ++i) av[i] = As[p][ty + 16 * i];
      for (int j = 0; j < kMicro; ++j) bv[j] = Bs[p][tx + 16 * j];
      for (int i = 0; i < kMicro; ++i)
        for (int j = 0; j < kMicro; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }

  for (int i = 0; i < kMicro; ++i) {
    const int64_t gi = row0 + ty + 16 * i;
    if (gi >= s.m) continue;
    for (int j = 0; j < kMicro; ++j) {
      const int64_t gj = col0 + tx + 16 * j;
      if (gj >= s.n) continue;
      float* out = c + gi * s.n + gj;
      const float v = s.alpha * acc[i][j];
      *out = s.beta == 0.0f ? v : v + s.beta * *out;
    }
  }
}

// alpha = 0 or k = 0: C = beta·C (beta = 0 writes zeros, NaN in C ignored).
__global__ void scaleOnlyKernel(float* c, GemmShape s, int64_t strideC, int64_t batchCount) {
  const int64_t perMatrix = s.m * s.n, total = perMatrix * batchCount;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{gridDim.x} * blockDim.x) {
    float* out = c + (idx / perMatrix) * strideC + idx % perMatrix;
    *out = s.beta == 0.0f ? 0.0f : s.beta * *out;
  }
}

}  // namespace

void gemmBatched(cudaStream_t st, float* c, const float* a, const float* b, const GemmShape& s,
                 const GemmBatch& batch) {
  if (s.m == 0 || s.n == 0 || batch.batch == 0) return;
  if (s.k == 0 || s.alpha == 0.0f) {
    launch("gemmScaleOnly", scaleOnlyKernel, gridFor(s.m * s.n * batch.batch, 256), 256, 0, st, c, s,
           batch.strideC, batch.batch);
    return;
  }
  const unsigned gx = static_cast<unsigned>(ceilDiv(s.n, kBN));
  const unsigned gy = static_cast<unsigned>(ceilDiv(s.m, kBM));
  // gridDim.y and .z stop at 65535: large batches go in slices.
  for (int64_t base = 0; base < batch.batch; base += 65535) {
    const unsigned gz = static_cast<unsigned>(batch.batch - base < 65535 ? batch.batch - base : 65535);
    launch("gemmTiled", gemmTiledKernel, dim3(gx, gy, gz), kThreads, 0, st, c, a, b, s, batch, base);
  }
}

void gemm(cudaStream_t st, float* c, const float* a, const float* b, const GemmShape& s) {
  gemmBatched(st, c, a, b, s, GemmBatch{1, 0, 0, 0});
}

}  // namespace lmkit::cuda

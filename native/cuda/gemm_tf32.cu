// GEMM, tensor-core path (opt-in, like torch's allow_tf32): C = alpha·op(A)·
// op(B) + beta·C with A and B rounded to tf32 (10-bit mantissa, cvt.rna) and
// products accumulated in fp32 by mma.sync m16n8k8 (sm_80 and later). Error
// vs fp32: ≈ 2⁻¹⁰·Σ_p|A_ip·B_pj| (two tf32 roundings per product), ~1e-3
// relative — the price of the tensor cores' throughput.
//
// Tiling: a block of 4 warps (2×2) owns a 64×64 tile of C and walks k in
// steps of 16, staging op(A) (transposed, As[p][i]) and op(B) (Bs[p][j]) in
// shared memory already rounded to tf32 and zero-padded at the m, n and k
// edges. Each warp computes a 32×32 sub-tile as 2×4 mma tiles of 16×8, two
// k-steps of 8 per stage; fragments are read from shared memory in the
// layout of mma.cuh. The epilogue maps accumulator q of tile (mi, ni) to
// row g + 8·(q/2), column 2t + q%2 of that tile (g = lane/4, t = lane%4).
#include "cuda/common.cuh"
#include "cuda/mma.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kBM = 64, kBN = 64, kBK = 16, kThreads = 128;

__global__ void __launch_bounds__(kThreads)
gemmTf32Kernel(float* c, const float* a, const float* b, GemmShape s, GemmBatch batch, int64_t batchBase) {
  __shared__ uint32_t As[kBK][kBM + 8];
  __shared__ uint32_t Bs[kBK][kBN + 8];
  const int64_t z = batchBase + blockIdx.z;
  a += z * batch.strideA;
  b += z * batch.strideB;
  c += z * batch.strideC;
  const int64_t row0 = int64_t{blockIdx.y} * kBM, col0 = int64_t{blockIdx.x} * kBN;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int wm = warp / 2, wn = warp % 2, g = lane / 4, t = lane % 4;
  float acc[2][4][4];
  for (int mi = 0; mi < 2; ++mi)
    for (int ni = 0; ni < 4; ++ni)
      for (int q = 0; q < 4; ++q) acc[mi][ni][q] = 0.0f;

  for (int64_t p0 = 0; p0 < s.k; p0 += kBK) {
    for (int r = 0; r < (kBM * kBK) / kThreads; ++r) {
      const int l = tid + r * kThreads;
      const int i = s.transA ? l % kBM : l / kBK;
      const int p = s.transA ? l / kBM : l % kBK;
      const int64_t gi = row0 + i, gp = p0 + p;
      float v = 0.0f;
      if (gi < s.m && gp < s.k) v = s.transA ? a[gp * s.m + gi] : a[gi * s.k + gp];
      As[p][i] = toTf32(v);
    }
    for (int r = 0; r < (kBK * kBN) / kThreads; ++r) {
      const int l = tid + r * kThreads;
      const int j = s.transB ? l / kBK : l % kBN;
      const int p = s.transB ? l % kBK : l / kBN;
      const int64_t gj = col0 + j, gp = p0 + p;
      float v = 0.0f;
      if (gj < s.n && gp < s.k) v = s.transB ? b[gj * s.k + gp] : b[gp * s.n + gj];
      Bs[p][j] = toTf32(v);
    }
    __syncthreads();
    for (int ks = 0; ks < kBK; ks += 8) {
      uint32_t af[2][4], bf[4][2];
      for (int mi = 0; mi < 2; ++mi) {
        const int rb = wm * 32 + mi * 16;
        af[mi][0] = As[ks + t][rb + g];
        af[mi][1] = As[ks + t][rb + g + 8];
        af[mi][2] = As[ks + t + 4][rb + g];
        af[mi][3] = As[ks + t + 4][rb + g + 8];
      }
      for (int ni = 0; ni < 4; ++ni) {
        const int cb = wn * 32 + ni * 8;
        bf[ni][0] = Bs[ks + t][cb + g];
        bf[ni][1] = Bs[ks + t + 4][cb + g];
      }
      for (int mi = 0; mi < 2; ++mi)
        for (int ni = 0; ni < 4; ++ni) mmaTf32(acc[mi][ni], af[mi], bf[ni]);
    }
    __syncthreads();
  }

  for (int mi = 0; mi < 2; ++mi)
    for (int ni = 0; ni < 4; ++ni)
      for (int q = 0; q < 4; ++q) {
        const int64_t gi = row0 + wm * 32 + mi * 16 + g + (q / 2) * 8;
        const int64_t gj = col0 + wn * 32 + ni * 8 + 2 * t + q % 2;
        if (gi >= s.m || gj >= s.n) continue;
        float* out = c + gi * s.n + gj;
        const float v = s.alpha * acc[mi][ni][q];
        *out = s.beta == 0.0f ? v : v + s.beta * *out;
      }
}

}  // namespace

void gemmBatchedTf32(cudaStream_t st, float* c, const float* a, const float* b, const GemmShape& s,
                     const GemmBatch& batch) {
  if (s.m == 0 || s.n == 0 || batch.batch == 0) return;
  if (s.k == 0 || s.alpha == 0.0f) {  // no products: the fp32 path's scaling does it
    gemmBatched(st, c, a, b, s, batch);
    return;
  }
  const unsigned gx = static_cast<unsigned>(ceilDiv(s.n, kBN));
  const unsigned gy = static_cast<unsigned>(ceilDiv(s.m, kBM));
  for (int64_t base = 0; base < batch.batch; base += 65535) {
    const unsigned gz = static_cast<unsigned>(batch.batch - base < 65535 ? batch.batch - base : 65535);
    launch("gemmTf32", gemmTf32Kernel, dim3(gx, gy, gz), kThreads, 0, st, c, a, b, s, batch, base);
  }
}

}  // namespace lmkit::cuda

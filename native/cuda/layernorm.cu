// LayerNorm and RMSNorm over the last dim of [rows, cols] (native/cpu/
// layernorm.cpp's contract and math):
//   LayerNorm: mean = Σx/C, var = Σ(x − mean)²/C, rstd = 1/sqrt(var + eps),
//              x̂ = (x − mean)·rstd, y = x̂∘w + b
//              dx = rstd·(g − mean(g) − x̂·mean(g∘x̂)), g = dy∘w
//              dw += Σ_rows dy∘x̂,  db += Σ_rows dy
//   RMSNorm:   rstd = 1/sqrt(Σx²/C + eps), x̂ = x·rstd, y = x̂∘w,
//              dx = rstd·(g − x̂·mean(g∘x̂)),  dw += Σ_rows dy∘x̂
// One template over kCentered (RMSNorm = mean pinned at 0, no bias).
//
// Forward and dx: one block of 256 threads per row; each thread strides the
// row, block reductions (common.cuh) combine. The variance is the corrected
// two-pass form the CPU uses: a first pass gives hi = Σx/C, the second sums
// d = x − hi and d², var = Σd²/C − (Σd/C)² — exact enough even when
// |mean| ≫ std. dw/db: a second kernel of column sums (32 columns × 8 row
// phases per block, double partials added in phase order, as bias.cu),
// recomputing x̂ from the saved mean/rstd; every output has one writer, so
// no atomics and deterministic results.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kThreads = 256;

template <bool kCentered>
__global__ void __launch_bounds__(kThreads)
normForwardKernel(float* y, float* meanOut, float* rstdOut, const float* x, const float* w, const float* b,
                  int64_t cols, float eps) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * cols;
  float* yr = y + r * cols;
  const float invC = 1.0f / static_cast<float>(cols);
  float hi = 0.0f;
  if (kCentered) {
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += kThreads) s += xr[j];
    hi = blockSum(s, scratch) * invC;
  }
  float sd = 0.0f, sq = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float d = xr[j] - hi;
    sd += d;
    sq += d * d;
  }
  const float lo = kCentered ? blockSum(sd, scratch) * invC : 0.0f;
  const float var = blockSum(sq, scratch) * invC - lo * lo;
  const float rstd = 1.0f / sqrtf(fmaxf(var, 0.0f) + eps);
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float xhat = ((xr[j] - hi) - lo) * rstd;
    yr[j] = kCentered ? xhat * w[j] + b[j] : xhat * w[j];
  }
  if (threadIdx.x == 0) {
    if (kCentered) meanOut[r] = hi + lo;
    rstdOut[r] = rstd;
  }
}

template <bool kCentered>
__global__ void __launch_bounds__(kThreads)
normBackwardDxKernel(float* dx, const float* dy, const float* x, const float* w, const float* mean,
                     const float* rstd, int64_t cols) {
  __shared__ float scratch[32];
  const int64_t r = blockIdx.x;
  const float* xr = x + r * cols;
  const float* dyr = dy + r * cols;
  const float mu = kCentered ? mean[r] : 0.0f, rs = rstd[r];
  float sumG = 0.0f, sumGX = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float g = dyr[j] * w[j];
    sumG += g;
    sumGX += g * ((xr[j] - mu) * rs);
  }
  const float invC = 1.0f / static_cast<float>(cols);
  const float meanG = kCentered ? blockSum(sumG, scratch) * invC : 0.0f;
  const float meanGX = blockSum(sumGX, scratch) * invC;
  for (int64_t j = threadIdx.x; j < cols; j += kThreads) {
    const float xhat = (xr[j] - mu) * rs;
    dx[r * cols + j] = rs * (dyr[j] * w[j] - meanG - xhat * meanGX);
  }
}

constexpr int kColsPerBlock = 32, kRowPhases = 8;

template <bool kCentered>
__global__ void normBackwardParamKernel(float* dw, float* db, const float* dy, const float* x, const float* mean,
                                        const float* rstd, int64_t rows, int64_t cols) {
  __shared__ double partW[kRowPhases][kColsPerBlock];
  __shared__ double partB[kRowPhases][kColsPerBlock];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = int64_t{blockIdx.x} * kColsPerBlock + tx;
  double sw = 0.0, sb = 0.0;
  if (c < cols)
    for (int64_t r = ty; r < rows; r += kRowPhases) {
      const float g = dy[r * cols + c];
      const float xhat = (x[r * cols + c] - (kCentered ? mean[r] : 0.0f)) * rstd[r];
      sw += static_cast<double>(g) * xhat;
      sb += g;
    }
  partW[ty][tx] = sw;
  partB[ty][tx] = sb;
  __syncthreads();
  if (ty == 0 && c < cols) {
    double tw = 0.0, tb = 0.0;
    for (int p = 0; p < kRowPhases; ++p) {
      tw += partW[p][tx];
      tb += partB[p][tx];
    }
    dw[c] += static_cast<float>(tw);
    if (kCentered) db[c] += static_cast<float>(tb);
  }
}

}  // namespace

void layerNormForward(cudaStream_t s, float* out, float* mean, float* rstd, const float* x, const float* weight,
                      const float* bias, int64_t rows, int64_t cols, float eps) {
  if (rows == 0 || cols == 0) return;
  launch("layerNormForward", normForwardKernel<true>, static_cast<unsigned>(rows), kThreads, 0, s, out, mean, rstd,
         x, weight, bias, cols, eps);
}

void layerNormBackward(cudaStream_t s, float* dx, float* dweight, float* dbias, const float* dout, const float* x,
                       const float* weight, const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  launch("layerNormBackward", normBackwardDxKernel<true>, static_cast<unsigned>(rows), kThreads, 0, s, dx, dout, x,
         weight, mean, rstd, cols);
  launch("layerNormBackwardParams", normBackwardParamKernel<true>, static_cast<unsigned>(ceilDiv(cols, kColsPerBlock)),
         dim3(kColsPerBlock, kRowPhases), 0, s, dweight, dbias, dout, x, mean, rstd, rows, cols);
}

void rmsNormForward(cudaStream_t s, float* out, float* rstd, const float* x, const float* weight, int64_t rows,
                    int64_t cols, float eps) {
  if (rows == 0 || cols == 0) return;
  launch("rmsNormForward", normForwardKernel<false>, static_cast<unsigned>(rows), kThreads, 0, s, out,
         static_cast<float*>(nullptr), rstd, x, weight, static_cast<const float*>(nullptr), cols, eps);
}

void rmsNormBackward(cudaStream_t s, float* dx, float* dweight, const float* dout, const float* x, const float* weight,
                     const float* rstd, int64_t rows, int64_t cols) {
  if (rows == 0 || cols == 0) return;
  launch("rmsNormBackward", normBackwardDxKernel<false>, static_cast<unsigned>(rows), kThreads, 0, s, dx, dout, x,
         weight, static_cast<const float*>(nullptr), rstd, cols);
  launch("rmsNormBackwardParams", normBackwardParamKernel<false>, static_cast<unsigned>(ceilDiv(cols, kColsPerBlock)),
         dim3(kColsPerBlock, kRowPhases), 0, s, dweight, static_cast<float*>(nullptr), dout, x,
         static_cast<const float*>(nullptr), rstd, rows, cols);
}

}  // namespace lmkit::cuda

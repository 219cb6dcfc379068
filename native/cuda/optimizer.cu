// AdamW step and global gradient-norm clipping (native/cpu/optimizer.cpp's
// contract and its float32 order of operations):
//   p ← p·(1 − lr·wd);  m ← fma(g, 1−β1, m·β1);  v ← fma((1−β2)·g, g, v·β2)
//   denom = sqrt(v)/sqrt(1−β2^t) + eps;  p ← p + ((−lr/(1−β1^t))·m)/denom
// The scalars are formed in double on the host exactly as the CPU kernel
// forms them; the build passes --fmad=false, so the only FMAs are the two
// written here and sqrt/division are IEEE: every element is bitwise the CPU
// kernel's (and torch's).
//
// clipGradNorm: Σ g² per buffer in double, per-block partials (fixed 4096-
// element chunks) summed on the host in buffer and chunk order; the norm and
// coef = maxNorm/(norm + 1e-6) as torch computes them; buffers are scaled by
// float(coef) when coef < 1, nothing when the norm is not finite.
#include <cmath>

#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

struct AdamScalars {
  float decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize;
};

__global__ void adamKernel(float* param, float* m, float* v, const float* grad, const uint8_t* decayMask, int64_t n,
                           AdamScalars s) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float g = grad[i];
    float p = param[i];
    if (decayMask == nullptr || decayMask[i] != 0) p = p * s.decay;
    const float mi = fmaf(g, s.oneMinusBeta1, m[i] * s.beta1);
    const float vi = fmaf(s.oneMinusBeta2 * g, g, v[i] * s.beta2);
    const float denom = sqrtf(vi) / s.bc2Sqrt + s.eps;
    param[i] = p + (s.negStepSize * mi) / denom;
    m[i] = mi;
    v[i] = vi;
  }
}

constexpr int kThreads = 256;
constexpr int64_t kChunk = kThreads * 16;

__global__ void sumSquaresKernel(double* partial, const float* g, int64_t n) {
  __shared__ double scratch[32];
  const int64_t b = int64_t{blockIdx.x} * kChunk, e = b + kChunk < n ? b + kChunk : n;
  double s = 0.0;
  for (int64_t i = b + threadIdx.x; i < e; i += kThreads) s += static_cast<double>(g[i]) * g[i];
  s = blockSum(s, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

__global__ void scaleInPlaceKernel(float* g, float coef, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    g[i] *= coef;
}

}  // namespace

void adamwStep(cudaStream_t s, float* param, float* m, float* v, const float* grad, const uint8_t* decayMask,
               int64_t n, const AdamWOptions& o) {
  if (n == 0) return;
  const double t = static_cast<double>(o.step);
  AdamScalars sc;
  sc.decay = static_cast<float>(1.0 - o.lr * o.weightDecay);
  sc.beta1 = static_cast<float>(o.beta1);
  sc.oneMinusBeta1 = static_cast<float>(1.0 - o.beta1);
  sc.beta2 = static_cast<float>(o.beta2);
  sc.oneMinusBeta2 = static_cast<float>(1.0 - o.beta2);
  sc.bc2Sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(o.beta2, t)));
  sc.eps = static_cast<float>(o.eps);
  sc.negStepSize = static_cast<float>(-(o.lr / (1.0 - std::pow(o.beta1, t))));
  launch("adamwStep", adamKernel, gridFor(n, 256), 256, 0, s, param, m, v, grad, decayMask, n, sc);
}

double clipGradNorm(cudaStream_t s, Scratch& scratch, float* const* grads, const int64_t* sizes, int64_t count,
                    double maxNorm) {
  std::vector<unsigned> chunks(static_cast<size_t>(count));
  size_t totalChunks = 0;
  for (int64_t b = 0; b < count; ++b) {
    chunks[static_cast<size_t>(b)] = static_cast<unsigned>(ceilDiv(sizes[b], kChunk));
    totalChunks += chunks[static_cast<size_t>(b)];
  }
  double total = 0.0;
  if (totalChunks > 0) {
    auto* partial = static_cast<double*>(scratch.get(sizeof(double) * totalChunks));
    if (!partial) return NAN;
    size_t offset = 0;
    for (int64_t b = 0; b < count; ++b) {
      const unsigned c = chunks[static_cast<size_t>(b)];
      if (c) launch("clipGradNormSum", sumSquaresKernel, c, kThreads, 0, s, partial + offset, grads[b], sizes[b]);
      offset += c;
    }
    std::vector<double> host(totalChunks);
    if (copyToHost(s, host.data(), partial, sizeof(double) * totalChunks) != cudaSuccess) return NAN;
    for (double v : host) total += v;
  }
  const double norm = std::sqrt(total);
  if (!std::isfinite(norm)) return norm;
  const double coef = maxNorm / (norm + 1e-6);
  if (coef >= 1.0) return norm;
  const float coefF = static_cast<float>(coef);
  for (int64_t b = 0; b < count; ++b)
    if (sizes[b]) launch("clipGradNormScale", scaleInPlaceKernel, gridFor(sizes[b], 256), 256, 0, s, grads[b], coefF, sizes[b]);
  return norm;
}

}  // namespace lmkit::cuda

// PPO losses, fused forward + gradient (native/cpu/ppo_loss.cpp's contract;
// its header states the math, the tie rules and the masking, all kept here):
//   r = exp(logp − oldLogp), p1 = −A·r, p2 = −A·clip(r, 1−ε, 1+ε),
//   policy = max(p1, p2), k1 = logp − ref, k3 = exp(ref − logp) − 1 − (ref − logp),
//   loss = Σ mask·(policy + klCoef·k) / Σ mask, dlogp = ∂loss/∂logp
//   value: ½·max((v − R)², (clamp(v, vOld ± c) − R)²), masked mean
//
// Work split: fixed chunks of kChunk tokens, one block each (256 threads,
// 16 tokens a thread). Pass 1 sums the mask per chunk; the host adds the
// chunk partials in order (the CPU kernel's order of chunks) and passes
// 1/Σmask to pass 2, which writes every gradient and per-chunk partial sums
// (double) of the statistics, again added on the host in chunk order. So
// results do not depend on the GPU, and differ from the CPU only by the
// order of additions inside a chunk and by expf's last bits.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kChunk = kThreads * 16;

__global__ void maskSumKernel(double* partial, const float* mask, int64_t n) {
  __shared__ double scratch[32];
  const int64_t b = int64_t{blockIdx.x} * kChunk, e = b + kChunk < n ? b + kChunk : n;
  double s = 0.0;
  for (int64_t i = b + threadIdx.x; i < e; i += kThreads) s += mask[i];
  s = blockSum(s, scratch);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

template <bool kHasRef, bool kK3>
__global__ void policyKernel(double* partial, float* dlogp, const float* logp, const float* oldLogp,
                             const float* refLogp, const float* adv, const float* mask, int64_t n, float lo, float hi,
                             float klCoef, float invDen) {
  __shared__ double scratch[32];
  const int64_t b = int64_t{blockIdx.x} * kChunk, e = b + kChunk < n ? b + kChunk : n;
  double policySum = 0.0, klSum = 0.0, clippedSum = 0.0, approxSum = 0.0;
  for (int64_t i = b + threadIdx.x; i < e; i += kThreads) {
    const float m = mask[i];
    if (m == 0.0f) {
      dlogp[i] = 0.0f;
      continue;
    }
    const float d = logp[i] - oldLogp[i];
    const float r = expf(d);
    const float rc = fminf(fmaxf(r, lo), hi);
    const float negA = -adv[i];
    const float p1 = negA * r, p2 = negA * (r != r ? r : rc);  // fmin/fmax drop NaN; keep it
    const bool clipped = p2 > p1;
    const float policy = clipped ? p2 : p1;
    const bool inRange = r >= lo && r <= hi;
    float dpolicy;
    if (clipped) dpolicy = 0.0f;
    else if (p1 == p2) dpolicy = (inRange ? negA : 0.5f * negA) * r;
    else dpolicy = negA * r;
    float k = 0.0f, dk = 0.0f;
    if (kHasRef) {
      if (kK3) {
        const float x = refLogp[i] - logp[i];
        const float ex = expf(x);
        k = ex - 1.0f - x;
        dk = 1.0f - ex;
      } else {
        k = logp[i] - refLogp[i];
        dk = 1.0f;
      }
    }
    const float dtotal = klCoef != 0.0f ? dpolicy + klCoef * dk : dpolicy;
    dlogp[i] = (invDen * m) * dtotal;
    policySum += m * policy;
    klSum += m * k;
    clippedSum += clipped ? m : 0.0f;
    approxSum += m * (0.5f * d * d);
  }
  policySum = blockSum(policySum, scratch);
  klSum = blockSum(klSum, scratch);
  clippedSum = blockSum(clippedSum, scratch);
  approxSum = blockSum(approxSum, scratch);
  if (threadIdx.x == 0) {
    double* p = partial + 4 * int64_t{blockIdx.x};
    p[0] = policySum;
    p[1] = klSum;
    p[2] = clippedSum;
    p[3] = approxSum;
  }
}

__global__ void valueKernel(double* partial, float* dvalues, const float* values, const float* oldValues,
                            const float* returns, const float* mask, int64_t n, float clipRange, float invDen) {
  __shared__ double scratch[32];
  const int64_t b = int64_t{blockIdx.x} * kChunk, e = b + kChunk < n ? b + kChunk : n;
  double lossSum = 0.0, clippedSum = 0.0;
  for (int64_t i = b + threadIdx.x; i < e; i += kThreads) {
    const float m = mask[i];
    if (m == 0.0f) {
      dvalues[i] = 0.0f;
      continue;
    }
    const float v = values[i];
    const float lo = oldValues[i] - clipRange, hi = oldValues[i] + clipRange;
    const float vc = v != v ? v : fminf(fmaxf(v, lo), hi);
    const float e1 = v - returns[i], e2 = vc - returns[i];
    const float l1 = e1 * e1, l2 = e2 * e2;
    const bool clipped = l2 > l1;
    const bool inRange = v >= lo && v <= hi;
    float w;
    if (clipped) w = 0.0f;
    else if (l1 == l2) w = inRange ? 1.0f : 0.5f;
    else w = 1.0f;
    dvalues[i] = clipped ? 0.0f : (invDen * m) * (w * e1);
    lossSum += m * (clipped ? l2 : l1);
    clippedSum += clipped ? m : 0.0f;
  }
  lossSum = blockSum(lossSum, scratch);
  clippedSum = blockSum(clippedSum, scratch);
  if (threadIdx.x == 0) {
    partial[2 * int64_t{blockIdx.x}] = lossSum;
    partial[2 * int64_t{blockIdx.x} + 1] = clippedSum;
  }
}

// Σ mask, chunk partials added in chunk order; -1 on a CUDA error.
double maskSum(cudaStream_t s, Scratch& scratch, const float* mask, int64_t n, unsigned chunks) {
  auto* partial = static_cast<double*>(scratch.get(sizeof(double) * chunks));
  if (!partial) return -1.0;
  launch("ppoMaskSum", maskSumKernel, chunks, kThreads, 0, s, partial, mask, n);
  std::vector<double> host(chunks);
  if (copyToHost(s, host.data(), partial, sizeof(double) * chunks) != cudaSuccess) return -1.0;
  double total = 0.0;
  for (double v : host) total += v;
  return total;
}

}  // namespace

PpoStats ppoLoss(cudaStream_t s, Scratch& scratch, float* dlogp, const float* logp, const float* oldLogp,
                 const float* refLogp, const float* advantages, const float* mask, const PpoOptions& o) {
  const int64_t n = o.rows * o.cols;
  PpoStats stats{0, 0, 0, 0, 0};
  if (n == 0) return stats;
  const unsigned chunks = static_cast<unsigned>(ceilDiv(n, kChunk));
  const double den = maskSum(s, scratch, mask, n, chunks);
  if (den < 0.0) return stats;
  if (den == 0.0) {
    cudaMemsetAsync(dlogp, 0, sizeof(float) * static_cast<size_t>(n), s);
    return stats;
  }
  auto* partial = static_cast<double*>(scratch.get(sizeof(double) * 4 * chunks));
  if (!partial) return stats;
  const float lo = 1.0f - o.clipEps, hi = 1.0f + o.clipEps, invDen = static_cast<float>(1.0 / den);
  if (refLogp == nullptr)
    launch("ppoLoss", policyKernel<false, false>, chunks, kThreads, 0, s, partial, dlogp, logp, oldLogp, refLogp,
           advantages, mask, n, lo, hi, o.klCoef, invDen);
  else if (o.klMode == KlMode::K3)
    launch("ppoLoss", policyKernel<true, true>, chunks, kThreads, 0, s, partial, dlogp, logp, oldLogp, refLogp,
           advantages, mask, n, lo, hi, o.klCoef, invDen);
  else
    launch("ppoLoss", policyKernel<true, false>, chunks, kThreads, 0, s, partial, dlogp, logp, oldLogp, refLogp,
           advantages, mask, n, lo, hi, o.klCoef, invDen);
  std::vector<double> host(4 * static_cast<size_t>(chunks));
  if (copyToHost(s, host.data(), partial, sizeof(double) * host.size()) != cudaSuccess) return stats;
  double sum[4] = {0, 0, 0, 0};
  for (size_t c = 0; c < chunks; ++c)
    for (int j = 0; j < 4; ++j) sum[j] += host[4 * c + static_cast<size_t>(j)];
  stats.policyLoss = sum[0] / den;
  stats.kl = sum[1] / den;
  stats.loss = o.klCoef != 0.0f ? stats.policyLoss + static_cast<double>(o.klCoef) * stats.kl : stats.policyLoss;
  stats.clipFrac = sum[2] / den;
  stats.approxKl = sum[3] / den;
  return stats;
}

ValueLossStats valueLoss(cudaStream_t s, Scratch& scratch, float* dvalues, const float* values,
                         const float* oldValues, const float* returns, const float* mask, int64_t n,
                         float clipRange) {
  ValueLossStats stats{0, 0};
  if (n == 0) return stats;
  const unsigned chunks = static_cast<unsigned>(ceilDiv(n, kChunk));
  const double den = maskSum(s, scratch, mask, n, chunks);
  if (den < 0.0) return stats;
  if (den == 0.0) {
    cudaMemsetAsync(dvalues, 0, sizeof(float) * static_cast<size_t>(n), s);
    return stats;
  }
  auto* partial = static_cast<double*>(scratch.get(sizeof(double) * 2 * chunks));
  if (!partial) return stats;
  launch("valueLoss", valueKernel, chunks, kThreads, 0, s, partial, dvalues, values, oldValues, returns, mask, n,
         clipRange, static_cast<float>(1.0 / den));
  std::vector<double> host(2 * static_cast<size_t>(chunks));
  if (copyToHost(s, host.data(), partial, sizeof(double) * host.size()) != cudaSuccess) return stats;
  double loss = 0.0, clipped = 0.0;
  for (size_t c = 0; c < chunks; ++c) {
    loss += host[2 * c];
    clipped += host[2 * c + 1];
  }
  stats.loss = 0.5 * loss / den;
  stats.clipFrac = clipped / den;
  return stats;
}

}  // namespace lmkit::cuda

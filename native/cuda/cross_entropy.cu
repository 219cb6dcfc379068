// Softmax cross-entropy and token log-probs over rows of V logits
// (native/cpu/cross_entropy.cpp's contract and math): with m = max_j x_j,
// u_j = x_j − m, e_j = exp(u_j), s = Σ e_j, lse = m + log s,
//   loss_r = (1−ε)(lse − x_t) + ε(lse − Σx/V),   mean over counted rows
//   ∂/∂x_j = (p_j − ε/V − (1−ε)[j = t]) / count   (0 on ignored rows)
//   logp_r = x_t − lse,  H_r = log s − Σ e_j u_j / s
//   tokenLogProbs backward: ∂/∂x_j = −p_j·(a + h(H − log s) + h·u_j) + a[j = t]
//
// One block of 256 threads per row: a max pass, then an exp pass whose sums
// accumulate in double per thread and meet in a block reduction; the
// gradient pass reads the stored e_j back. The row count of the mean is
// counted on the device first (one block), so no host round trip sits
// between the passes; per-row losses (double) are copied back and summed in
// row order on the host, as the CPU kernel sums them.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void countKernel(int64_t* count, const int32_t* targets, int64_t rows, int32_t ignoreIndex) {
  __shared__ double scratch[32];
  double c = 0;
  for (int64_t r = threadIdx.x; r < rows; r += blockDim.x) c += targets[r] != ignoreIndex ? 1.0 : 0.0;
  c = blockSum(c, scratch);
  if (threadIdx.x == 0) *count = static_cast<int64_t>(c);
}

struct RowStats {
  float max;
  double sumExp, sumX, sumEU;
};

// Passes 1–2 over one row; stores e_j into expOut when given. Every thread
// of the block gets the same stats.
template <bool kSumX, bool kSumEU>
__device__ RowStats rowStats(const float* x, int64_t V, float* expOut) {
  __shared__ float fscratch[32];
  __shared__ double dscratch[32];
  float mx = -INFINITY;
  double sx = 0.0;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) {
    mx = fmaxf(mx, x[j]);
    if (kSumX) sx += x[j];
  }
  RowStats st;
  st.max = blockMax(mx, fscratch);
  st.sumX = kSumX ? blockSum(sx, dscratch) : 0.0;
  double se = 0.0, seu = 0.0;
  for (int64_t j = threadIdx.x; j < V; j += kThreads) {
    const float u = x[j] - st.max;
    const float e = expf(u);
    se += e;
    if (kSumEU) seu += static_cast<double>(e) * u;
    if (expOut) expOut[j] = e;
  }
  st.sumExp = blockSum(se, dscratch);
  st.sumEU = kSumEU ? blockSum(seu, dscratch) : 0.0;
  return st;
}

template <bool kSmooth>
__global__ void __launch_bounds__(kThreads)
crossEntropyKernel(float* dlogits, double* rowLoss, const float* logits, const int32_t* targets, int64_t V,
                   int32_t ignoreIndex, float eps, const int64_t* count) {
  const int64_t r = blockIdx.x;
  const float* x = logits + r * V;
  float* dl = dlogits ? dlogits + r * V : nullptr;
  const int32_t t = targets[r];
  if (t == ignoreIndex) {  // the whole block leaves together: no barrier is skipped by part of it
    if (dl)
      for (int64_t j = threadIdx.x; j < V; j += kThreads) dl[j] = 0.0f;
    if (threadIdx.x == 0) rowLoss[r] = 0.0;
    return;
  }
  const RowStats st = rowStats<kSmooth, false>(x, V, dl);
  const double logS = log(st.sumExp);
  const double lse = st.max + logS;
  if (threadIdx.x == 0) {
    double loss = lse - x[t];
    if (kSmooth) loss = (1.0 - eps) * loss + eps * (lse - st.sumX / V);
    rowLoss[r] = loss;
  }
  if (dl) {
    const float scale = *count > 0 ? 1.0f / static_cast<float>(*count) : 0.0f;
    const float mul = static_cast<float>(scale / st.sumExp);
    const float add = kSmooth ? -(eps / static_cast<float>(V)) * scale : 0.0f;
    const float hit = (1.0f - eps) * scale;
    // Each thread rewrites only the e_j it stored itself: no barrier needed.
    for (int64_t j = threadIdx.x; j < V; j += kThreads) {
      const float g = dl[j] * mul + add;
      dl[j] = j == t ? g - hit : g;
    }
  }
}

__global__ void __launch_bounds__(kThreads)
logProbsKernel(float* logp, float* entropy, const float* logits, const int32_t* targets, int64_t V) {
  const int64_t r = blockIdx.x;
  const float* x = logits + r * V;
  const RowStats st = entropy ? rowStats<false, true>(x, V, nullptr) : rowStats<false, false>(x, V, nullptr);
  if (threadIdx.x == 0) {
    const double logS = log(st.sumExp);
    logp[r] = static_cast<float>((static_cast<double>(x[targets[r]]) - st.max) - logS);
    if (entropy) entropy[r] = static_cast<float>(logS - st.sumEU / st.sumExp);
  }
}

__global__ void __launch_bounds__(kThreads)
logProbsBackwardKernel(float* dlogits, const float* logits, const int32_t* targets, const float* dlogp,
                       const float* dentropy, int64_t V) {
  const int64_t r = blockIdx.x;
  const float* x = logits + r * V;
  float* dl = dlogits + r * V;
  const float a = dlogp[r];
  const float h = dentropy ? dentropy[r] : 0.0f;
  double c = a;
  RowStats st;
  if (dentropy) {
    st = rowStats<false, true>(x, V, dl);
    const double logS = log(st.sumExp);
    c += h * ((logS - st.sumEU / st.sumExp) - logS);
  } else {
    st = rowStats<false, false>(x, V, dl);
  }
  const float invS = static_cast<float>(1.0 / st.sumExp), cf = static_cast<float>(c);
  const int32_t t = targets[r];
  for (int64_t j = threadIdx.x; j < V; j += kThreads) {
    const float g = -dl[j] * invS * (cf + h * (x[j] - st.max));
    dl[j] = j == t ? g + a : g;
  }
}

}  // namespace

CrossEntropyStats softmaxCrossEntropy(cudaStream_t s, Scratch& scratch, float* dlogits, float* losses,
                                      const float* logits, const int32_t* targets, int64_t rows, int64_t vocab,
                                      int32_t ignoreIndex, float labelSmoothing) {
  CrossEntropyStats stats{0.0, 0};
  if (rows == 0) return stats;
  auto* count = static_cast<int64_t*>(scratch.get(sizeof(int64_t)));
  auto* rowLoss = static_cast<double*>(scratch.get(sizeof(double) * static_cast<size_t>(rows)));
  if (!count || !rowLoss) return stats;
  launch("crossEntropyCount", countKernel, 1, 1024, 0, s, count, targets, rows, ignoreIndex);
  if (labelSmoothing != 0.0f)
    launch("softmaxCrossEntropy", crossEntropyKernel<true>, static_cast<unsigned>(rows), kThreads, 0, s, dlogits,
           rowLoss, logits, targets, vocab, ignoreIndex, labelSmoothing, static_cast<const int64_t*>(count));
  else
    launch("softmaxCrossEntropy", crossEntropyKernel<false>, static_cast<unsigned>(rows), kThreads, 0, s, dlogits,
           rowLoss, logits, targets, vocab, ignoreIndex, 0.0f, static_cast<const int64_t*>(count));
  std::vector<double> host(static_cast<size_t>(rows));
  int64_t counted = 0;
  if (copyToHost(s, &counted, count, sizeof counted) != cudaSuccess) return stats;
  if (copyToHost(s, host.data(), rowLoss, sizeof(double) * host.size()) != cudaSuccess) return stats;
  double sum = 0.0;
  for (double l : host) sum += l;  // row order, as the CPU kernel
  if (losses) {
    std::vector<float> rowF(host.begin(), host.end());
    cudaMemcpyAsync(losses, rowF.data(), sizeof(float) * rowF.size(), cudaMemcpyHostToDevice, s);
    cudaStreamSynchronize(s);  // rowF is a local: the copy must be done before it goes
  }
  stats.count = counted;
  stats.loss = counted > 0 ? sum / static_cast<double>(counted) : 0.0;
  return stats;
}

void tokenLogProbs(cudaStream_t s, float* logp, float* entropy, const float* logits, const int32_t* targets,
                   int64_t rows, int64_t vocab) {
  if (rows) launch("tokenLogProbs", logProbsKernel, static_cast<unsigned>(rows), kThreads, 0, s, logp, entropy, logits, targets, vocab);
}

void tokenLogProbsBackward(cudaStream_t s, float* dlogits, const float* logits, const int32_t* targets,
                           const float* dlogp, const float* dentropy, int64_t rows, int64_t vocab) {
  if (rows)
    launch("tokenLogProbsBackward", logProbsBackwardKernel, static_cast<unsigned>(rows), kThreads, 0, s, dlogits,
           logits, targets, dlogp, dentropy, vocab);
}

}  // namespace lmkit::cuda

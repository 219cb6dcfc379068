// The lmkit kernel contract: one declaration per op, shared by every backend.
//
// All tensors are row-major and contiguous; float32 unless noted, token ids
// int32. Outputs come first in argument lists, gradients are prefixed `d`.
// Kernels assume valid arguments: the binding layer checks sizes, ranges and
// aliasing before any kernel runs. Reference semantics are PyTorch's.
#pragma once

#include <cstdint>

namespace lmkit {

// ---------------------------------------------------------------- GEMM
// C[m×n] = alpha·op(A)·op(B) + beta·C, op(X) = X or Xᵀ.
// A is m×k (k×m when transA), B is k×n (n×k when transB). beta = 0 ignores
// the old contents of C (NaN in C does not propagate), as BLAS does.
struct GemmShape {
  int64_t m, n, k;
  bool transA, transB;
  float alpha, beta;
};
void gemm(float* c, const float* a, const float* b, const GemmShape& s);

// `batch` independent GEMMs; matrix i starts at a + i·strideA (etc.).
// A zero stride broadcasts one matrix over the batch (not allowed for C).
struct GemmBatch {
  int64_t batch, strideA, strideB, strideC;
};
void gemmBatched(float* c, const float* a, const float* b, const GemmShape& s,
                 const GemmBatch& batch);

// gemm's contract with op(A) and op(B) rounded to bfloat16 (to nearest even;
// fp32 denormals to signed zero) and the products summed in fp32
// (cpu/gemm_bf16.cpp). CPU only.
void gemmBf16(float* c, const float* a, const float* b, const GemmShape& s);
// How gemmBf16 runs now: "amx" (AMX-BF16 tiles), "avx512bf16" (vdpbf16ps),
// or "emulated" (the portable path: same rounding, fp32 sums through gemm).
const char* gemmBf16Path();

// ---------------------------------------------------------------- LayerNorm
// y = (x − mean)·rstd·weight + bias over the last dim, rstd = 1/sqrt(var + eps),
// var biased (÷cols). mean and rstd [rows] are saved for the backward pass.
void layerNormForward(float* out, float* mean, float* rstd, const float* x,
                      const float* weight, const float* bias, int64_t rows,
                      int64_t cols, float eps);
// dx is overwritten; dweight and dbias accumulate (+=), as parameter grads do.
void layerNormBackward(float* dx, float* dweight, float* dbias,
                       const float* dout, const float* x, const float* weight,
                       const float* mean, const float* rstd, int64_t rows,
                       int64_t cols);

// RMSNorm (LLaMA): y = x·rstd·weight, rstd = 1/sqrt(mean(x²) + eps) [rows].
void rmsNormForward(float* out, float* rstd, const float* x, const float* weight,
                    int64_t rows, int64_t cols, float eps);
// dx is overwritten; dweight accumulates (+=).
void rmsNormBackward(float* dx, float* dweight, const float* dout, const float* x,
                     const float* weight, const float* rstd, int64_t rows, int64_t cols);

// ---------------------------------------------------------------- Attention
// out = softmax(scale·Q·Kᵀ + mask)·V, fused with an online softmax
// (FlashAttention): memory O(T·d), the T×T score matrix never exists.
// q/out: [B, NH, Tq, HS]; k/v: [B, NH, Tk, HS]; lse: [B, NH, Tq] (natural log
// of the softmax denominator, −inf for a fully masked row).
// Query i sits at position i + qOffset; it may see key j when
//   j < kvLen[b]  and  (!causal or j ≤ i + qOffset or j < prefixLen[b]).
// A fully masked row outputs zeros. prefixLen/kvLen may be null (no prefix,
// all Tk keys valid).
struct AttentionShape {
  int64_t B, NH, Tq, Tk, HS;
  float scale;
  bool causal;
  int64_t qOffset;
  const int32_t* prefixLen;  // [B] or null
  const int32_t* kvLen;      // [B] or null
};
void attentionForward(float* out, float* lse, const float* q, const float* k,
                      const float* v, const AttentionShape& s);
// dq, dk, dv are overwritten.
void attentionBackward(float* dq, float* dk, float* dv, const float* dout,
                       const float* q, const float* k, const float* v,
                       const float* out, const float* lse,
                       const AttentionShape& s);

// ---------------------------------------------------------------- PPO losses
// Token-level clipped surrogate + KL penalty, fused forward and gradient.
// All arrays [rows, cols]. r = exp(logp − oldLogp);
// policy = −min(r·A, clip(r, 1−ε, 1+ε)·A); kl = k1: logp − refLogp,
// k3: exp(refLogp − logp) − 1 − (refLogp − logp).
// loss = Σ mask·(policy + klCoef·kl) / Σ mask (0 when the mask is empty).
// Tokens with mask = 0 are skipped (dlogp = 0, NaN there is ignored); ties
// and clipFrac follow torch/TRL (see cpu/ppo_loss.cpp). refLogp may be null
// (no KL: kl = 0).
enum class KlMode { K1, K3 };
struct PpoOptions {
  int64_t rows, cols;
  float clipEps, klCoef;
  KlMode klMode;
};
struct PpoStats {
  double loss, policyLoss, kl, clipFrac, approxKl;
};
PpoStats ppoLoss(float* dlogp, const float* logp, const float* oldLogp,
                 const float* refLogp, const float* advantages,
                 const float* mask, const PpoOptions& o);

// ½·max((v − R)², (clip(v, vOld − c, vOld + c) − R)²), masked mean.
struct ValueLossStats {
  double loss, clipFrac;
};
ValueLossStats valueLoss(float* dvalues, const float* values,
                         const float* oldValues, const float* returns,
                         const float* mask, int64_t n, float clipRange);

// ---------------------------------------------------------------- Cross-entropy
// Fused log-softmax + NLL over rows of `vocab` logits. Rows whose target is
// ignoreIndex contribute nothing. With label smoothing ε (PyTorch semantics):
// loss_r = (1−ε)·(−logp[t]) + ε·mean_j(−logp[j]). Returns the mean over
// counted rows (0 when none); dlogits (may be null) = ∂mean/∂logits, ignored
// rows get zeros. `losses` (may be null) receives per-row losses.
struct CrossEntropyStats {
  double loss;
  int64_t count;
};
CrossEntropyStats softmaxCrossEntropy(float* dlogits, float* losses,
                                      const float* logits,
                                      const int32_t* targets, int64_t rows,
                                      int64_t vocab, int32_t ignoreIndex,
                                      float labelSmoothing);

// logp[r] = log_softmax(logits[r])[targets[r]];
// entropy[r] = −Σ_j p_j·log p_j (may be null).
void tokenLogProbs(float* logp, float* entropy, const float* logits,
                   const int32_t* targets, int64_t rows, int64_t vocab);
// dlogits = dlogp·(onehot(t) − p) + dentropy·(−p·(log p + H)); overwritten.
// dentropy may be null.
void tokenLogProbsBackward(float* dlogits, const float* logits,
                           const int32_t* targets, const float* dlogp,
                           const float* dentropy, int64_t rows, int64_t vocab);

// ---------------------------------------------------------------- Activations
// GELU: exact x·Φ(x), or the tanh approximation (GPT-2's gelu_new).
// SiLU: x·σ(x). Backward overwrites dx.
void geluForward(float* out, const float* x, int64_t n, bool tanhApprox);
void geluBackward(float* dx, const float* dout, const float* x, int64_t n,
                  bool tanhApprox);
void siluForward(float* out, const float* x, int64_t n);
void siluBackward(float* dx, const float* dout, const float* x, int64_t n);

// ---------------------------------------------------------------- Embedding
// out[i, :] = weight[ids[i], :]; backward scatter-adds into dweight (+=).
void embeddingForward(float* out, const int32_t* ids, const float* weight,
                      int64_t count, int64_t dim);
void embeddingBackward(float* dweight, const int32_t* ids, const float* dout,
                       int64_t count, int64_t dim);

// ---------------------------------------------------------------- Bias
// x[r, :] += bias (in place); dbias += Σ_r dout[r, :].
void biasAdd(float* x, const float* bias, int64_t rows, int64_t cols);
void biasBackward(float* dbias, const float* dout, int64_t rows, int64_t cols);

// ---------------------------------------------------------------- Permute
// out = x with its axes reordered: out axis k is x axis perm[k] (numpy's
// transpose(perm)); shape is x's, ndim ≤ kPermuteMaxDims. A pure copy.
constexpr int kPermuteMaxDims = 8;
void permute(float* out, const float* x, const int64_t* shape, const int32_t* perm, int ndim);

// ---------------------------------------------------------------- Elementwise
// out[i] = a[i] + b[i] and out[i] = a[i] · b[i], i < n. out may be a or b
// (in place, e.g. gradient accumulation), never a partial overlap. Each
// element is one float32 operation, so the result is exactly JS's
// Math.fround(a + b) on every ISA and thread count.
void elementwiseAdd(float* out, const float* a, const float* b, int64_t n);
void elementwiseMul(float* out, const float* a, const float* b, int64_t n);

// ---------------------------------------------------------------- Optimizer
// One AdamW step (Loshchilov & Hutter), PyTorch's order of operations:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   (the moment updates fused into FMAs, as torch's AVX2 kernels do)
//   p ← p − (lr / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
// decayMask (may be null): weight decay applies only where mask[i] != 0.
// Hyperparameters are double, as Python hands them to torch: 1 − β and
// lr·wd must be formed before rounding to float32 (float(0.999) would put
// 1 − β2 off by 5e-5 relative).
struct AdamWOptions {
  double lr, beta1, beta2, eps, weightDecay;
  int64_t step;  // 1-based, after increment
};
void adamwStep(float* param, float* m, float* v, const float* grad,
               const uint8_t* decayMask, int64_t n, const AdamWOptions& o);

// Global L2 norm over several gradient buffers; when it exceeds maxNorm every
// buffer is scaled by maxNorm / (norm + 1e-6) (torch.nn.utils.clip_grad_norm_).
// A non-finite norm is returned and nothing is scaled.
double clipGradNorm(float* const* grads, const int64_t* sizes, int64_t count,
                    double maxNorm);

}  // namespace lmkit

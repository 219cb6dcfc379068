// Device helpers shared by the kernel files: warp and block reductions,
// grid sizing, and the launcher declarations of every kernel family (the
// CUDA side of native/kernels.h, on device pointers and one stream).
#pragma once

#include "cuda/cuda_compat.h"
#include "kernels.h"

#include <vector>

namespace lmkit::cuda {

constexpr unsigned kFullMask = 0xffffffffu;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Blocks for a grid-stride loop over n elements: enough to fill a large GPU,
// never more than the grid allows.
inline unsigned gridFor(int64_t n, int threads) {
  const int64_t blocks = ceilDiv(n, threads);
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

__device__ __forceinline__ float warpSum(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
__device__ __forceinline__ double warpSum(double v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}
__device__ __forceinline__ float warpMax(float v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  return v;
}

// Sum over a block of blockDim.x threads (a multiple of 32, ≤ 1024); every
// thread gets the total. `scratch` holds 32 values of shared memory; the
// trailing barrier lets the caller reuse it at once.
template <class T>
__device__ __forceinline__ T blockSum(T v, T* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warpSum(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  T total = lane < warps ? scratch[lane] : T(0);
  total = warpSum(total);
  __syncthreads();
  return total;
}

__device__ __forceinline__ float blockMax(float v, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warpMax(v);
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = lane < warps ? scratch[lane] : -INFINITY;
  total = warpMax(total);
  __syncthreads();
  return total;
}

// ---------------------------------------------------------------- launchers
// Same math as native/kernels.h; every pointer is device memory except the
// ones documented as host. Errors are left for cudaGetLastError.
void gemm(cudaStream_t s, float* c, const float* a, const float* b, const GemmShape& shape);
void gemmBatched(cudaStream_t s, float* c, const float* a, const float* b, const GemmShape& shape,
                 const GemmBatch& batch);
// The tensor-core path: tf32 inputs, fp32 accumulation (~1e-3 relative error; gemm_tf32.cu).
void gemmBatchedTf32(cudaStream_t s, float* c, const float* a, const float* b, const GemmShape& shape,
                     const GemmBatch& batch);

void elementwiseAdd(cudaStream_t s, float* out, const float* a, const float* b, int64_t n);
void elementwiseMul(cudaStream_t s, float* out, const float* a, const float* b, int64_t n);
// out = alpha·x (device utility for autograd's scaling; not in the CPU contract).
void scale(cudaStream_t s, float* out, const float* x, float alpha, int64_t n);
void fill(cudaStream_t s, float* out, float value, int64_t n);

}  // namespace lmkit::cuda

namespace lmkit::cuda {

// Device scratch memory for the duration of one API call (from the caching
// allocator, stream-ordered, so it may be handed out again right after).
class Scratch {
 public:
  virtual ~Scratch() = default;
  // nullptr when the device is out of memory (the caller then reports it).
  virtual void* get(size_t bytes) = 0;
};

// Copies `bytes` of device memory to the host and waits for the stream.
inline cudaError_t copyToHost(cudaStream_t s, void* host, const void* device, size_t bytes) {
  const cudaError_t e = cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, s);
  return e != cudaSuccess ? e : cudaStreamSynchronize(s);
}

void layerNormForward(cudaStream_t s, float* out, float* mean, float* rstd, const float* x, const float* weight,
                      const float* bias, int64_t rows, int64_t cols, float eps);
void layerNormBackward(cudaStream_t s, float* dx, float* dweight, float* dbias, const float* dout, const float* x,
                       const float* weight, const float* mean, const float* rstd, int64_t rows, int64_t cols);
void rmsNormForward(cudaStream_t s, float* out, float* rstd, const float* x, const float* weight, int64_t rows,
                    int64_t cols, float eps);
void rmsNormBackward(cudaStream_t s, float* dx, float* dweight, const float* dout, const float* x, const float* weight,
                     const float* rstd, int64_t rows, int64_t cols);

void attentionForward(cudaStream_t s, Scratch& scratch, float* out, float* lse, const float* q, const float* k,
                      const float* v, const AttentionShape& shape);
void attentionBackward(cudaStream_t s, Scratch& scratch, float* dq, float* dk, float* dv, const float* dout,
                       const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const AttentionShape& shape);

PpoStats ppoLoss(cudaStream_t s, Scratch& scratch, float* dlogp, const float* logp, const float* oldLogp,
                 const float* refLogp, const float* advantages, const float* mask, const PpoOptions& o);
ValueLossStats valueLoss(cudaStream_t s, Scratch& scratch, float* dvalues, const float* values,
                         const float* oldValues, const float* returns, const float* mask, int64_t n,
                         float clipRange);

CrossEntropyStats softmaxCrossEntropy(cudaStream_t s, Scratch& scratch, float* dlogits, float* losses,
                                      const float* logits, const int32_t* targets, int64_t rows, int64_t vocab,
                                      int32_t ignoreIndex, float labelSmoothing);
void tokenLogProbs(cudaStream_t s, float* logp, float* entropy, const float* logits, const int32_t* targets,
                   int64_t rows, int64_t vocab);
void tokenLogProbsBackward(cudaStream_t s, float* dlogits, const float* logits, const int32_t* targets,
                           const float* dlogp, const float* dentropy, int64_t rows, int64_t vocab);

void geluForward(cudaStream_t s, float* out, const float* x, int64_t n, bool tanhApprox);
void geluBackward(cudaStream_t s, float* dx, const float* dout, const float* x, int64_t n, bool tanhApprox);
void siluForward(cudaStream_t s, float* out, const float* x, int64_t n);
void siluBackward(cudaStream_t s, float* dx, const float* dout, const float* x, int64_t n);

void embeddingForward(cudaStream_t s, float* out, const int32_t* ids, const float* weight, int64_t count, int64_t dim);
void embeddingBackward(cudaStream_t s, float* dweight, const int32_t* ids, const float* dout, int64_t count,
                       int64_t dim);

void biasAdd(cudaStream_t s, float* x, const float* bias, int64_t rows, int64_t cols);
void biasBackward(cudaStream_t s, float* dbias, const float* dout, int64_t rows, int64_t cols);

// shape and perm are host arrays.
void permute(cudaStream_t s, float* out, const float* x, const int64_t* shape, const int32_t* perm, int ndim);

void adamwStep(cudaStream_t s, float* param, float* m, float* v, const float* grad, const uint8_t* decayMask,
               int64_t n, const AdamWOptions& o);
// grads and sizes are host arrays of device pointers / element counts.
double clipGradNorm(cudaStream_t s, Scratch& scratch, float* const* grads, const int64_t* sizes, int64_t count,
                    double maxNorm);

}  // namespace lmkit::cuda

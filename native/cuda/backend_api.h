// The C ABI of liblmkit_cuda.so: what the addon (or any host program) sees
// after dlopen. One exported symbol, lmkit_cuda_api(version), returns a table
// of plain function pointers; every entry works on device pointers and the
// structs of native/kernels.h, returns 0 on success or a CUDA error code,
// and leaves a message for lastError() (thread-local) on failure. No C++
// exception crosses this boundary.
//
// The same table is built from the same sources by nvcc (the real library)
// and by g++ over the emulation harness (liblmkit_cuda_emu.so, device =
// host memory), so every host-side path — loading, errors, the caching
// allocator, copies — is exercised without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels.h"

#define LMKIT_CUDA_API_VERSION 1

extern "C" {

struct LmkitCudaDeviceInfo {
  char name[256];
  int computeMajor, computeMinor;
  int multiprocessors;
  int64_t totalMemory;
  int driverVersion, runtimeVersion;
  int emulated;  // 1 for the CPU emulation library
  int clockKHz;  // SM clock (for peak estimates)
};

struct LmkitCudaMemoryStats {
  int64_t allocatedBytes;  // handed out and not yet freed
  int64_t reservedBytes;   // allocated + cached (held from the device)
  int64_t peakAllocatedBytes;
  int64_t allocations;     // malloc calls served
  int64_t cacheHits;       // of which served from the cache
  int64_t deviceMallocs;   // cudaMalloc calls made
};

enum LmkitCopyKind { kLmkitHostToDevice = 0, kLmkitDeviceToHost = 1, kLmkitDeviceToDevice = 2 };

struct LmkitCudaApi {
  int version;
  // The message of the last failed call on this thread ("" if none).
  const char* (*lastError)();
  // Picks device 0 and creates the library's stream; safe to call again.
  int (*init)(LmkitCudaDeviceInfo* info);

  // Device memory through the caching allocator.
  int (*malloc)(void** out, size_t bytes);
  int (*free)(void* ptr);
  int (*memoryStats)(LmkitCudaMemoryStats* stats);
  int (*emptyCache)();
  int (*copy)(void* dst, const void* src, size_t bytes, int kind);
  int (*memset)(void* dst, int value, size_t bytes);
  int (*synchronize)();

  // Kernels: native/kernels.h on device pointers. Host-side arrays are
  // marked: AttentionShape's prefixLen/kvLen, permute's shape/perm,
  // clipGradNorm's pointer and size lists. Stats come back on the host.
  int (*gemm)(float* c, const float* a, const float* b, const lmkit::GemmShape* s);
  int (*gemmBatched)(float* c, const float* a, const float* b, const lmkit::GemmShape* s,
                     const lmkit::GemmBatch* batch);
  int (*layerNormForward)(float* out, float* mean, float* rstd, const float* x, const float* weight,
                          const float* bias, int64_t rows, int64_t cols, float eps);
  int (*layerNormBackward)(float* dx, float* dweight, float* dbias, const float* dout, const float* x,
                           const float* weight, const float* mean, const float* rstd, int64_t rows, int64_t cols);
  int (*rmsNormForward)(float* out, float* rstd, const float* x, const float* weight, int64_t rows, int64_t cols,
                        float eps);
  int (*rmsNormBackward)(float* dx, float* dweight, const float* dout, const float* x, const float* weight,
                         const float* rstd, int64_t rows, int64_t cols);
  int (*attentionForward)(float* out, float* lse, const float* q, const float* k, const float* v,
                          const lmkit::AttentionShape* s);
  int (*attentionBackward)(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                           const float* v, const float* out, const float* lse, const lmkit::AttentionShape* s);
  int (*ppoLoss)(lmkit::PpoStats* stats, float* dlogp, const float* logp, const float* oldLogp, const float* refLogp,
                 const float* advantages, const float* mask, const lmkit::PpoOptions* o);
  int (*valueLoss)(lmkit::ValueLossStats* stats, float* dvalues, const float* values, const float* oldValues,
                   const float* returns, const float* mask, int64_t n, float clipRange);
  int (*softmaxCrossEntropy)(lmkit::CrossEntropyStats* stats, float* dlogits, float* losses, const float* logits,
                             const int32_t* targets, int64_t rows, int64_t vocab, int32_t ignoreIndex,
                             float labelSmoothing);
  int (*tokenLogProbs)(float* logp, float* entropy, const float* logits, const int32_t* targets, int64_t rows,
                       int64_t vocab);
  int (*tokenLogProbsBackward)(float* dlogits, const float* logits, const int32_t* targets, const float* dlogp,
                               const float* dentropy, int64_t rows, int64_t vocab);
  int (*geluForward)(float* out, const float* x, int64_t n, int tanhApprox);
  int (*geluBackward)(float* dx, const float* dout, const float* x, int64_t n, int tanhApprox);
  int (*siluForward)(float* out, const float* x, int64_t n);
  int (*siluBackward)(float* dx, const float* dout, const float* x, int64_t n);
  int (*embeddingForward)(float* out, const int32_t* ids, const float* weight, int64_t count, int64_t dim);
  int (*embeddingBackward)(float* dweight, const int32_t* ids, const float* dout, int64_t count, int64_t dim);
  int (*biasAdd)(float* x, const float* bias, int64_t rows, int64_t cols);
  int (*biasBackward)(float* dbias, const float* dout, int64_t rows, int64_t cols);
  int (*permute)(float* out, const float* x, const int64_t* shape, const int32_t* perm, int ndim);
  int (*elementwiseAdd)(float* out, const float* a, const float* b, int64_t n);
  int (*elementwiseMul)(float* out, const float* a, const float* b, int64_t n);
  int (*scale)(float* out, const float* x, float alpha, int64_t n);
  int (*fill)(float* out, float value, int64_t n);
  int (*adamwStep)(float* param, float* m, float* v, const float* grad, const uint8_t* decayMask, int64_t n,
                   const lmkit::AdamWOptions* o);
  int (*clipGradNorm)(double* norm, float* const* grads, const int64_t* sizes, int64_t count, double maxNorm);
  // gemmBatched on tensor cores: A and B rounded to tf32, fp32 accumulation (sm_80+).
  int (*gemmBatchedTf32)(float* c, const float* a, const float* b, const lmkit::GemmShape* s,
                         const lmkit::GemmBatch* batch);
};

// The table when `version` is LMKIT_CUDA_API_VERSION, else null.
__attribute__((visibility("default"))) const LmkitCudaApi* lmkit_cuda_api(int version);
typedef const LmkitCudaApi* (*LmkitCudaApiFn)(int version);
}

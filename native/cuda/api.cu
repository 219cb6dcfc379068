// liblmkit_cuda's exported table (backend_api.h): argument-free plumbing
// between the C ABI and the launchers — the stream, per-call scratch from
// the caching allocator, and CUDA errors turned into codes + messages.
// Arguments were validated by the caller (the addon's binding layer).
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include "cuda/allocator.h"
#include "cuda/backend_api.h"
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

thread_local std::string tlError;

struct Device {
  std::mutex mutex;
  bool ready = false;
  int initError = 0;
  std::string initMessage;
  cudaStream_t stream = nullptr;
  LmkitCudaDeviceInfo info{};
};

Device& device() {
  static Device* d = new Device;  // never destroyed: calls may come from finalizers at exit
  return *d;
}

int fail(int code, const std::string& message) {
  tlError = message;
  return code != 0 ? code : -1;
}

std::string describe(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

// The per-call device scratch; blocks go back to the cache when the call ends.
class CallScratch final : public Scratch {
 public:
  ~CallScratch() override {
    for (void* p : blocks_) release(p);
  }
  void* get(size_t bytes) override {
    void* p = allocate(bytes, &error_);
    if (p) blocks_.push_back(p);
    else failed_ = true;
    return p;
  }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }

 private:
  std::vector<void*> blocks_;
  std::string error_;
  bool failed_ = false;
};

// Runs one API call: refuses before init, clears stale non-sticky errors,
// reports scratch exhaustion and any CUDA error the call left, and keeps
// C++ exceptions on this side of the C ABI.
template <class Fn>
int guarded(const char* op, Fn&& fn) {
  Device& d = device();
  if (!d.ready) return fail(cudaErrorInitializationError, std::string(op) + ": the CUDA backend is not initialised");
  try {
    cudaGetLastError();
    CallScratch scratch;
    const int rc = fn(d.stream, scratch);
    if (scratch.failed()) return fail(cudaErrorMemoryAllocation, std::string(op) + ": " + scratch.error());
    const cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return fail(e, std::string(op) + ": " + describe(e));
    return rc;
  } catch (const std::exception& ex) {
    return fail(-1, std::string(op) + ": " + ex.what());
  } catch (...) {
    return fail(-1, std::string(op) + ": unknown C++ exception");
  }
}

const char* lastError() { return tlError.c_str(); }

int init(LmkitCudaDeviceInfo* out) {
  Device& d = device();
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!d.ready && d.initError == 0) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      d.initError = e;
      d.initMessage = "cudaGetDeviceCount: " + describe(e);
    } else if (count == 0) {
      d.initError = cudaErrorNoDevice;
      d.initMessage = "the CUDA driver reports no device";
    } else if ((e = cudaSetDevice(0)) != cudaSuccess) {
      d.initError = e;
      d.initMessage = "cudaSetDevice(0): " + describe(e);
    } else {
      cudaDeviceProp prop;
      if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess ||
          (e = cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking)) != cudaSuccess) {
        d.initError = e;
        d.initMessage = "device 0: " + describe(e);
      } else {
        LmkitCudaDeviceInfo& info = d.info;
        for (size_t i = 0; i + 1 < sizeof info.name && prop.name[i]; ++i) info.name[i] = prop.name[i];
        info.computeMajor = prop.major;
        info.computeMinor = prop.minor;
        info.multiprocessors = prop.multiProcessorCount;
        info.totalMemory = static_cast<int64_t>(prop.totalGlobalMem);
        cudaDeviceGetAttribute(&info.clockKHz, cudaDevAttrClockRate, 0);
        cudaDriverGetVersion(&info.driverVersion);
        cudaRuntimeGetVersion(&info.runtimeVersion);
#ifdef LMKIT_CUDA_EMULATE
        info.emulated = 1;
#endif
        d.ready = true;
      }
    }
    cudaGetLastError();
  }
  if (!d.ready) return fail(d.initError, d.initMessage);
  if (out) *out = d.info;
  return 0;
}

int deviceMalloc(void** out, size_t bytes) {
  *out = nullptr;
  if (!device().ready) return fail(cudaErrorInitializationError, "malloc: the CUDA backend is not initialised");
  std::string error;
  *out = allocate(bytes, &error);
  return *out ? 0 : fail(cudaErrorMemoryAllocation, error);
}

int deviceFree(void* ptr) {
  return release(ptr) ? 0 : fail(cudaErrorInvalidValue, "free: the pointer was not allocated by lmkit's CUDA allocator");
}

int stats(LmkitCudaMemoryStats* out) {
  *out = memoryStats();
  return 0;
}

int releaseCache() {
  const int e = emptyCache();
  return e ? fail(e, "emptyCache: " + describe(static_cast<cudaError_t>(e))) : 0;
}

int copy(void* dst, const void* src, size_t bytes, int kind) {
  return guarded("copy", [&](cudaStream_t s, Scratch&) {
    const cudaMemcpyKind k = kind == kLmkitHostToDevice   ? cudaMemcpyHostToDevice
                             : kind == kLmkitDeviceToHost ? cudaMemcpyDeviceToHost
                                                          : cudaMemcpyDeviceToDevice;
    cudaError_t e = cudaMemcpyAsync(dst, src, bytes, k, s);
    // Host buffers belong to the caller (JS typed arrays): done before returning.
    if (e == cudaSuccess && k != cudaMemcpyDeviceToDevice) e = cudaStreamSynchronize(s);
    return e == cudaSuccess ? 0 : fail(e, "copy: " + describe(e));
  });
}

int setMemory(void* dst, int value, size_t bytes) {
  return guarded("memset", [&](cudaStream_t s, Scratch&) {
    cudaMemsetAsync(dst, value, bytes, s);
    return 0;
  });
}

int synchronize() {
  return guarded("synchronize", [&](cudaStream_t s, Scratch&) {
    const cudaError_t e = cudaStreamSynchronize(s);
    return e == cudaSuccess ? 0 : fail(e, "synchronize: " + describe(e));
  });
}

// ---------------------------------------------------------------- kernels

int apiGemm(float* c, const float* a, const float* b, const GemmShape* sh) {
  return guarded("gemm", [&](cudaStream_t s, Scratch&) { gemm(s, c, a, b, *sh); return 0; });
}
int apiGemmBatched(float* c, const float* a, const float* b, const GemmShape* sh, const GemmBatch* batch) {
  return guarded("gemmBatched", [&](cudaStream_t s, Scratch&) { gemmBatched(s, c, a, b, *sh, *batch); return 0; });
}
int apiGemmBatchedTf32(float* c, const float* a, const float* b, const GemmShape* sh, const GemmBatch* batch) {
  return guarded("gemmTf32", [&](cudaStream_t s, Scratch&) { gemmBatchedTf32(s, c, a, b, *sh, *batch); return 0; });
}
int apiLayerNormForward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b,
                        int64_t rows, int64_t cols, float eps) {
  return guarded("layerNormForward", [&](cudaStream_t s, Scratch&) {
    layerNormForward(s, out, mean, rstd, x, w, b, rows, cols, eps);
    return 0;
  });
}
int apiLayerNormBackward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                         const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  return guarded("layerNormBackward", [&](cudaStream_t s, Scratch&) {
    layerNormBackward(s, dx, dw, db, dout, x, w, mean, rstd, rows, cols);
    return 0;
  });
}
int apiRmsNormForward(float* out, float* rstd, const float* x, const float* w, int64_t rows, int64_t cols, float eps) {
  return guarded("rmsNormForward", [&](cudaStream_t s, Scratch&) {
    rmsNormForward(s, out, rstd, x, w, rows, cols, eps);
    return 0;
  });
}
int apiRmsNormBackward(float* dx, float* dw, const float* dout, const float* x, const float* w, const float* rstd,
                       int64_t rows, int64_t cols) {
  return guarded("rmsNormBackward", [&](cudaStream_t s, Scratch&) {
    rmsNormBackward(s, dx, dw, dout, x, w, rstd, rows, cols);
    return 0;
  });
}
int apiAttentionForward(float* out, float* lse, const float* q, const float* k, const float* v,
                        const AttentionShape* sh) {
  if (sh->HS > 256) return fail(cudaErrorInvalidValue, "attentionForward: the CUDA kernel supports headDim ≤ 256, got " + std::to_string(sh->HS));
  return guarded("attentionForward", [&](cudaStream_t s, Scratch& scratch) {
    attentionForward(s, scratch, out, lse, q, k, v, *sh);
    return 0;
  });
}
int apiAttentionBackward(float* dq, float* dk, float* dv, const float* dout, const float* q, const float* k,
                         const float* v, const float* out, const float* lse, const AttentionShape* sh) {
  if (sh->HS > 256) return fail(cudaErrorInvalidValue, "attentionBackward: the CUDA kernel supports headDim ≤ 256, got " + std::to_string(sh->HS));
  return guarded("attentionBackward", [&](cudaStream_t s, Scratch& scratch) {
    attentionBackward(s, scratch, dq, dk, dv, dout, q, k, v, out, lse, *sh);
    return 0;
  });
}
int apiPpoLoss(PpoStats* stats, float* dlogp, const float* logp, const float* oldLogp, const float* refLogp,
               const float* adv, const float* mask, const PpoOptions* o) {
  return guarded("ppoLoss", [&](cudaStream_t s, Scratch& scratch) {
    *stats = ppoLoss(s, scratch, dlogp, logp, oldLogp, refLogp, adv, mask, *o);
    return 0;
  });
}
int apiValueLoss(ValueLossStats* stats, float* dvalues, const float* values, const float* oldValues,
                 const float* returns, const float* mask, int64_t n, float clipRange) {
  return guarded("valueLoss", [&](cudaStream_t s, Scratch& scratch) {
    *stats = valueLoss(s, scratch, dvalues, values, oldValues, returns, mask, n, clipRange);
    return 0;
  });
}
int apiCrossEntropy(CrossEntropyStats* stats, float* dlogits, float* losses, const float* logits,
                    const int32_t* targets, int64_t rows, int64_t vocab, int32_t ignoreIndex, float smoothing) {
  return guarded("softmaxCrossEntropy", [&](cudaStream_t s, Scratch& scratch) {
    *stats = softmaxCrossEntropy(s, scratch, dlogits, losses, logits, targets, rows, vocab, ignoreIndex, smoothing);
    return 0;
  });
}
int apiTokenLogProbs(float* logp, float* entropy, const float* logits, const int32_t* targets, int64_t rows,
                     int64_t vocab) {
  return guarded("tokenLogProbs", [&](cudaStream_t s, Scratch&) {
    tokenLogProbs(s, logp, entropy, logits, targets, rows, vocab);
    return 0;
  });
}
int apiTokenLogProbsBackward(float* dlogits, const float* logits, const int32_t* targets, const float* dlogp,
                             const float* dentropy, int64_t rows, int64_t vocab) {
  return guarded("tokenLogProbsBackward", [&](cudaStream_t s, Scratch&) {
    tokenLogProbsBackward(s, dlogits, logits, targets, dlogp, dentropy, rows, vocab);
    return 0;
  });
}
int apiGeluForward(float* out, const float* x, int64_t n, int tanhApprox) {
  return guarded("geluForward", [&](cudaStream_t s, Scratch&) { geluForward(s, out, x, n, tanhApprox != 0); return 0; });
}
int apiGeluBackward(float* dx, const float* dout, const float* x, int64_t n, int tanhApprox) {
  return guarded("geluBackward", [&](cudaStream_t s, Scratch&) { geluBackward(s, dx, dout, x, n, tanhApprox != 0); return 0; });
}
int apiSiluForward(float* out, const float* x, int64_t n) {
  return guarded("siluForward", [&](cudaStream_t s, Scratch&) { siluForward(s, out, x, n); return 0; });
}
int apiSiluBackward(float* dx, const float* dout, const float* x, int64_t n) {
  return guarded("siluBackward", [&](cudaStream_t s, Scratch&) { siluBackward(s, dx, dout, x, n); return 0; });
}
int apiEmbeddingForward(float* out, const int32_t* ids, const float* w, int64_t count, int64_t dim) {
  return guarded("embeddingForward", [&](cudaStream_t s, Scratch&) { embeddingForward(s, out, ids, w, count, dim); return 0; });
}
int apiEmbeddingBackward(float* dw, const int32_t* ids, const float* dout, int64_t count, int64_t dim) {
  return guarded("embeddingBackward", [&](cudaStream_t s, Scratch&) { embeddingBackward(s, dw, ids, dout, count, dim); return 0; });
}
int apiBiasAdd(float* x, const float* bias, int64_t rows, int64_t cols) {
  return guarded("biasAdd", [&](cudaStream_t s, Scratch&) { biasAdd(s, x, bias, rows, cols); return 0; });
}
int apiBiasBackward(float* dbias, const float* dout, int64_t rows, int64_t cols) {
  return guarded("biasBackward", [&](cudaStream_t s, Scratch&) { biasBackward(s, dbias, dout, rows, cols); return 0; });
}
int apiPermute(float* out, const float* x, const int64_t* shape, const int32_t* perm, int ndim) {
  return guarded("permute", [&](cudaStream_t s, Scratch&) { permute(s, out, x, shape, perm, ndim); return 0; });
}
int apiAdd(float* out, const float* a, const float* b, int64_t n) {
  return guarded("elementwiseAdd", [&](cudaStream_t s, Scratch&) { elementwiseAdd(s, out, a, b, n); return 0; });
}
int apiMul(float* out, const float* a, const float* b, int64_t n) {
  return guarded("elementwiseMul", [&](cudaStream_t s, Scratch&) { elementwiseMul(s, out, a, b, n); return 0; });
}
int apiScale(float* out, const float* x, float alpha, int64_t n) {
  return guarded("scale", [&](cudaStream_t s, Scratch&) { scale(s, out, x, alpha, n); return 0; });
}
int apiFill(float* out, float value, int64_t n) {
  return guarded("fill", [&](cudaStream_t s, Scratch&) { fill(s, out, value, n); return 0; });
}
int apiAdamw(float* p, float* m, float* v, const float* g, const uint8_t* mask, int64_t n, const AdamWOptions* o) {
  return guarded("adamwStep", [&](cudaStream_t s, Scratch&) { adamwStep(s, p, m, v, g, mask, n, *o); return 0; });
}
int apiClipGradNorm(double* norm, float* const* grads, const int64_t* sizes, int64_t count, double maxNorm) {
  return guarded("clipGradNorm", [&](cudaStream_t s, Scratch& scratch) {
    *norm = clipGradNorm(s, scratch, grads, sizes, count, maxNorm);
    return 0;
  });
}

const LmkitCudaApi kApi = {
    LMKIT_CUDA_API_VERSION, lastError, init, deviceMalloc, deviceFree, stats, releaseCache, copy, setMemory,
    synchronize, apiGemm, apiGemmBatched, apiLayerNormForward, apiLayerNormBackward, apiRmsNormForward,
    apiRmsNormBackward, apiAttentionForward, apiAttentionBackward, apiPpoLoss, apiValueLoss, apiCrossEntropy,
    apiTokenLogProbs, apiTokenLogProbsBackward, apiGeluForward, apiGeluBackward, apiSiluForward, apiSiluBackward,
    apiEmbeddingForward, apiEmbeddingBackward, apiBiasAdd, apiBiasBackward, apiPermute, apiAdd, apiMul, apiScale,
    apiFill, apiAdamw, apiClipGradNorm, apiGemmBatchedTf32,
};

}  // namespace
}  // namespace lmkit::cuda

extern "C" const LmkitCudaApi* lmkit_cuda_api(int version) {
  return version == LMKIT_CUDA_API_VERSION ? &lmkit::cuda::kApi : nullptr;
}

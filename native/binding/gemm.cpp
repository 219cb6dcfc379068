// N-API entries for gemm, gemmBatched and gemmBf16.
#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

GemmShape readShape(Args& args, const Napi::Object& opts) {
  GemmShape s;
  s.m = args.dim(opts, "m", 0);
  s.n = args.dim(opts, "n", 0);
  s.k = args.dim(opts, "k", 0);
  s.transA = args.flag(opts, "transA", false);
  s.transB = args.flag(opts, "transB", false);
  s.alpha = static_cast<float>(args.number(opts, "alpha", 1.0));
  s.beta = static_cast<float>(args.number(opts, "beta", 0.0));
  return s;
}

// gemm(a, b, c, {m, n, k, transA, transB, alpha, beta})
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args args(info, "gemm", 4);
  auto a = args.f32(0, "a");
  auto b = args.f32(1, "b");
  auto c = args.f32(2, "c");
  const Napi::Object opts = args.options(3);
  const GemmShape s = readShape(args, opts);
  const bool tf32 = args.flag(opts, "allowTf32", false);
  args.expectLength(a, "a", args.product({s.m, s.k}, "m*k"), "m*k");
  args.expectLength(b, "b", args.product({s.k, s.n}, "k*n"), "k*n");
  args.expectLength(c, "c", args.product({s.m, s.n}, "m*n"), "m*n");
  args.expectDisjoint(c, "c", a, "a");
  args.expectDisjoint(c, "c", b, "b");
  // allowTf32 picks the tensor-core path on CUDA; the CPU always computes in fp32.
  const GemmBatch one{1, 0, 0, 0};
  if (args.onCuda() && tf32) args.cudaCheck(cuda::api()->gemmBatchedTf32(c.data, a.data, b.data, &s, &one));
  else if (args.onCuda()) args.cudaCheck(cuda::api()->gemm(c.data, a.data, b.data, &s));
  else gemm(c.data, a.data, b.data, s);
  return info.Env().Undefined();
}

// gemmBf16(a, b, c, {m, n, k, transA, transB, alpha, beta}): host arrays only.
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  Args args(info, "gemmBf16", 4);
  auto a = args.f32(0, "a");
  auto b = args.f32(1, "b");
  auto c = args.f32(2, "c");
  if (args.onCuda())
    args.typeError("gemmBf16: runs on the CPU only and received CudaArrays; use gemm with allowTf32 on CUDA");
  const Napi::Object opts = args.options(3);
  const GemmShape s = readShape(args, opts);
  args.expectLength(a, "a", args.product({s.m, s.k}, "m*k"), "m*k");
  args.expectLength(b, "b", args.product({s.k, s.n}, "k*n"), "k*n");
  args.expectLength(c, "c", args.product({s.m, s.n}, "m*n"), "m*n");
  args.expectDisjoint(c, "c", a, "a");
  args.expectDisjoint(c, "c", b, "b");
  gemmBf16(c.data, a.data, b.data, s);
  return info.Env().Undefined();
}

// gemmBatched(a, b, c, {m, n, k, ..., batch, strideA, strideB, strideC})
Napi::Value GemmBatched(const Napi::CallbackInfo& info) {
  Args args(info, "gemmBatched", 4);
  auto a = args.f32(0, "a");
  auto b = args.f32(1, "b");
  auto c = args.f32(2, "c");
  const Napi::Object opts = args.options(3);
  const GemmShape s = readShape(args, opts);
  const bool tf32 = args.flag(opts, "allowTf32", false);
  GemmBatch batch;
  batch.batch = args.dim(opts, "batch", 1);
  const int64_t sizeA = args.product({s.m, s.k}, "m*k");
  const int64_t sizeB = args.product({s.k, s.n}, "k*n");
  const int64_t sizeC = args.product({s.m, s.n}, "m*n");
  batch.strideA = args.dimOr(opts, "strideA", sizeA, 0);
  batch.strideB = args.dimOr(opts, "strideB", sizeB, 0);
  batch.strideC = args.dimOr(opts, "strideC", sizeC, 0);
  if (batch.batch > 1 && batch.strideC < sizeC)
    args.rangeError("gemmBatched: strideC (" + std::to_string(batch.strideC) +
                    ") is smaller than m*n (" + std::to_string(sizeC) +
                    "), so the batch's C matrices would overlap");
  // Buffers must hold the last matrix: (batch−1)·stride + size elements.
  auto need = [&](int64_t stride, int64_t size, const char* expr) {
    return size == 0 ? 0 : args.product({batch.batch - 1, stride}, expr) + size;
  };
  const int64_t needA = need(batch.strideA, sizeA, "(batch-1)*strideA");
  const int64_t needB = need(batch.strideB, sizeB, "(batch-1)*strideB");
  const int64_t needC = need(batch.strideC, sizeC, "(batch-1)*strideC");
  if (a.length < needA)
    args.rangeError("gemmBatched: a has " + std::to_string(a.length) +
                    " elements, expected at least (batch-1)*strideA + m*k = " + std::to_string(needA));
  if (b.length < needB)
    args.rangeError("gemmBatched: b has " + std::to_string(b.length) +
                    " elements, expected at least (batch-1)*strideB + k*n = " + std::to_string(needB));
  if (c.length < needC)
    args.rangeError("gemmBatched: c has " + std::to_string(c.length) +
                    " elements, expected at least (batch-1)*strideC + m*n = " + std::to_string(needC));
  args.expectDisjoint(c, "c", a, "a");
  args.expectDisjoint(c, "c", b, "b");
  if (args.onCuda() && tf32) args.cudaCheck(cuda::api()->gemmBatchedTf32(c.data, a.data, b.data, &s, &batch));
  else if (args.onCuda()) args.cudaCheck(cuda::api()->gemmBatched(c.data, a.data, b.data, &s, &batch));
  else gemmBatched(c.data, a.data, b.data, s, batch);
  return info.Env().Undefined();
}

}  // namespace

void registerGemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New(env, Gemm, "gemm"));
  exports.Set("gemmBatched", Napi::Function::New(env, GemmBatched, "gemmBatched"));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16, "gemmBf16"));
}

}  // namespace lmkit::binding

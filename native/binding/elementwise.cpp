// N-API entries for elementwiseAdd and elementwiseMul.
#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

using Kernel = void (*)(float*, const float*, const float*, int64_t);
using CudaKernel = int (*LmkitCudaApi::*)(float*, const float*, const float*, int64_t);

// op(a, b, out): out = a ∘ b over equal lengths; out may be a or b exactly.
template <Kernel kernel, CudaKernel cudaKernel>
Napi::Value Binary(const Napi::CallbackInfo& info, const char* op) {
  Args args(info, op, 3);
  auto a = args.f32(0, "a");
  auto b = args.f32(1, "b");
  auto out = args.f32(2, "out");
  args.expectLength(b, "b", a.length, "a.length");
  args.expectLength(out, "out", a.length, "a.length");
  args.expectSameOrDisjoint(out, "out", a, "a");
  args.expectSameOrDisjoint(out, "out", b, "b");
  if (args.onCuda()) args.cudaCheck((cuda::api()->*cudaKernel)(out.data, a.data, b.data, a.length));
  else kernel(out.data, a.data, b.data, a.length);
  return info.Env().Undefined();
}

Napi::Value Add(const Napi::CallbackInfo& info) { return Binary<elementwiseAdd, &LmkitCudaApi::elementwiseAdd>(info, "elementwiseAdd"); }
Napi::Value Mul(const Napi::CallbackInfo& info) { return Binary<elementwiseMul, &LmkitCudaApi::elementwiseMul>(info, "elementwiseMul"); }

}  // namespace

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("elementwiseAdd", Napi::Function::New(env, Add, "elementwiseAdd"));
  exports.Set("elementwiseMul", Napi::Function::New(env, Mul, "elementwiseMul"));
}

}  // namespace lmkit::binding

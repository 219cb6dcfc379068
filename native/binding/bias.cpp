// N-API entries for biasAdd and biasBackward.
#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

// biasAdd(x, bias, {rows, cols}): x += bias per row, in place.
Napi::Value BiasAdd(const Napi::CallbackInfo& info) {
  Args args(info, "biasAdd", 3);
  auto x = args.f32(0, "x");
  auto bias = args.f32(1, "bias");
  const Napi::Object opts = args.options(2);
  const int64_t rows = args.dim(opts, "rows", 0);
  const int64_t cols = args.dim(opts, "cols", 0);
  args.expectLength(x, "x", args.product({rows, cols}, "rows*cols"), "rows*cols");
  args.expectLength(bias, "bias", cols, "cols");
  args.expectDisjoint(x, "x", bias, "bias");
  if (args.onCuda()) args.cudaCheck(cuda::api()->biasAdd(x.data, bias.data, rows, cols));
  else biasAdd(x.data, bias.data, rows, cols);
  return info.Env().Undefined();
}

// biasBackward(dout, dbias, {rows, cols}): dbias += column sums of dout.
Napi::Value BiasBackward(const Napi::CallbackInfo& info) {
  Args args(info, "biasBackward", 3);
  auto dout = args.f32(0, "dout");
  auto dbias = args.f32(1, "dbias");
  const Napi::Object opts = args.options(2);
  const int64_t rows = args.dim(opts, "rows", 0);
  const int64_t cols = args.dim(opts, "cols", 0);
  args.expectLength(dout, "dout", args.product({rows, cols}, "rows*cols"), "rows*cols");
  args.expectLength(dbias, "dbias", cols, "cols");
  args.expectDisjoint(dbias, "dbias", dout, "dout");
  if (args.onCuda()) args.cudaCheck(cuda::api()->biasBackward(dbias.data, dout.data, rows, cols));
  else biasBackward(dbias.data, dout.data, rows, cols);
  return info.Env().Undefined();
}

}  // namespace

void registerBias(Napi::Env env, Napi::Object exports) {
  exports.Set("biasAdd", Napi::Function::New(env, BiasAdd, "biasAdd"));
  exports.Set("biasBackward", Napi::Function::New(env, BiasBackward, "biasBackward"));
}

}  // namespace lmkit::binding

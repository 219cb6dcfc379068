// N-API entries for LayerNorm and RMSNorm (forward and backward).
#include <cmath>
#include <limits>

#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

struct NormShape {
  int64_t rows, cols, size;
};

NormShape readShape(Args& args, const Napi::Object& opts) {
  NormShape s;
  s.rows = args.dim(opts, "rows", 0);
  s.cols = args.dim(opts, "cols", 1);  // a mean over zero values is undefined
  s.size = args.product({s.rows, s.cols}, "rows*cols");
  return s;
}

float readEps(Args& args, const Napi::Object& opts, double fallback) {
  return static_cast<float>(args.numberIn(opts, "eps", fallback, 0.0, std::numeric_limits<float>::max()));
}

// layerNormForward(x, weight, bias, out, mean, rstd, {rows, cols, eps = 1e-5})
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args args(info, "layerNormForward", 7);
  auto x = args.f32(0, "x");
  auto weight = args.f32(1, "weight");
  auto bias = args.f32(2, "bias");
  auto out = args.f32(3, "out");
  auto mean = args.f32(4, "mean");
  auto rstd = args.f32(5, "rstd");
  const Napi::Object opts = args.options(6);
  const NormShape s = readShape(args, opts);
  const float eps = readEps(args, opts, 1e-5);
  args.expectLength(x, "x", s.size, "rows*cols");
  args.expectLength(weight, "weight", s.cols, "cols");
  args.expectLength(bias, "bias", s.cols, "cols");
  args.expectLength(out, "out", s.size, "rows*cols");
  args.expectLength(mean, "mean", s.rows, "rows");
  args.expectLength(rstd, "rstd", s.rows, "rows");
  args.expectAllDisjoint({{out, "out"}, {mean, "mean"}, {rstd, "rstd"}},
                    {{x, "x"}, {weight, "weight"}, {bias, "bias"}});
  if (args.onCuda())
    args.cudaCheck(cuda::api()->layerNormForward(out.data, mean.data, rstd.data, x.data, weight.data, bias.data, s.rows, s.cols, eps));
  else layerNormForward(out.data, mean.data, rstd.data, x.data, weight.data, bias.data, s.rows, s.cols, eps);
  return info.Env().Undefined();
}

// layerNormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias, {rows, cols})
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args args(info, "layerNormBackward", 9);
  auto dout = args.f32(0, "dout");
  auto x = args.f32(1, "x");
  auto weight = args.f32(2, "weight");
  auto mean = args.f32(3, "mean");
  auto rstd = args.f32(4, "rstd");
  auto dx = args.f32(5, "dx");
  auto dweight = args.f32(6, "dweight");
  auto dbias = args.f32(7, "dbias");
  const NormShape s = readShape(args, args.options(8));
  args.expectLength(dout, "dout", s.size, "rows*cols");
  args.expectLength(x, "x", s.size, "rows*cols");
  args.expectLength(weight, "weight", s.cols, "cols");
  args.expectLength(mean, "mean", s.rows, "rows");
  args.expectLength(rstd, "rstd", s.rows, "rows");
  args.expectLength(dx, "dx", s.size, "rows*cols");
  args.expectLength(dweight, "dweight", s.cols, "cols");
  args.expectLength(dbias, "dbias", s.cols, "cols");
  args.expectAllDisjoint({{dx, "dx"}, {dweight, "dweight"}, {dbias, "dbias"}},
                    {{dout, "dout"}, {x, "x"}, {weight, "weight"}, {mean, "mean"}, {rstd, "rstd"}});
  if (args.onCuda())
    args.cudaCheck(cuda::api()->layerNormBackward(dx.data, dweight.data, dbias.data, dout.data, x.data, weight.data,
                                                  mean.data, rstd.data, s.rows, s.cols));
  else
    layerNormBackward(dx.data, dweight.data, dbias.data, dout.data, x.data, weight.data, mean.data, rstd.data,
                      s.rows, s.cols);
  return info.Env().Undefined();
}

// rmsNormForward(x, weight, out, rstd, {rows, cols, eps = 1e-6})
Napi::Value RmsNormForward(const Napi::CallbackInfo& info) {
  Args args(info, "rmsNormForward", 5);
  auto x = args.f32(0, "x");
  auto weight = args.f32(1, "weight");
  auto out = args.f32(2, "out");
  auto rstd = args.f32(3, "rstd");
  const Napi::Object opts = args.options(4);
  const NormShape s = readShape(args, opts);
  const float eps = readEps(args, opts, 1e-6);
  args.expectLength(x, "x", s.size, "rows*cols");
  args.expectLength(weight, "weight", s.cols, "cols");
  args.expectLength(out, "out", s.size, "rows*cols");
  args.expectLength(rstd, "rstd", s.rows, "rows");
  args.expectAllDisjoint({{out, "out"}, {rstd, "rstd"}}, {{x, "x"}, {weight, "weight"}});
  if (args.onCuda()) args.cudaCheck(cuda::api()->rmsNormForward(out.data, rstd.data, x.data, weight.data, s.rows, s.cols, eps));
  else rmsNormForward(out.data, rstd.data, x.data, weight.data, s.rows, s.cols, eps);
  return info.Env().Undefined();
}

// rmsNormBackward(dout, x, weight, rstd, dx, dweight, {rows, cols})
Napi::Value RmsNormBackward(const Napi::CallbackInfo& info) {
  Args args(info, "rmsNormBackward", 7);
  auto dout = args.f32(0, "dout");
  auto x = args.f32(1, "x");
  auto weight = args.f32(2, "weight");
  auto rstd = args.f32(3, "rstd");
  auto dx = args.f32(4, "dx");
  auto dweight = args.f32(5, "dweight");
  const NormShape s = readShape(args, args.options(6));
  args.expectLength(dout, "dout", s.size, "rows*cols");
  args.expectLength(x, "x", s.size, "rows*cols");
  args.expectLength(weight, "weight", s.cols, "cols");
  args.expectLength(rstd, "rstd", s.rows, "rows");
  args.expectLength(dx, "dx", s.size, "rows*cols");
  args.expectLength(dweight, "dweight", s.cols, "cols");
  args.expectAllDisjoint({{dx, "dx"}, {dweight, "dweight"}},
                    {{dout, "dout"}, {x, "x"}, {weight, "weight"}, {rstd, "rstd"}});
  if (args.onCuda())
    args.cudaCheck(cuda::api()->rmsNormBackward(dx.data, dweight.data, dout.data, x.data, weight.data, rstd.data, s.rows, s.cols));
  else rmsNormBackward(dx.data, dweight.data, dout.data, x.data, weight.data, rstd.data, s.rows, s.cols);
  return info.Env().Undefined();
}

}  // namespace

void registerLayerNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("layerNormForward", Napi::Function::New(env, LayerNormForward, "layerNormForward"));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward, "layerNormBackward"));
  exports.Set("rmsNormForward", Napi::Function::New(env, RmsNormForward, "rmsNormForward"));
  exports.Set("rmsNormBackward", Napi::Function::New(env, RmsNormBackward, "rmsNormBackward"));
}

}  // namespace lmkit::binding

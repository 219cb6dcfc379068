// N-API entries for GELU and SiLU. Elementwise, so an output may be the very
// same buffer range as an input (in place); a partial overlap is rejected.
#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

bool readTanhApprox(Args& args, const Napi::Object& opts) {
  return args.choice(opts, "approximate", "none", {"none", "tanh"}) == "tanh";
}

// geluForward(x, out, {approximate = 'none'}) / siluForward(x, out)
template <bool kGelu>
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const char* op = kGelu ? "geluForward" : "siluForward";
  Args args(info, op, kGelu ? 3 : 2);
  auto x = args.f32(0, "x");
  auto out = args.f32(1, "out");
  const bool tanhApprox = kGelu && readTanhApprox(args, args.options(2));
  args.expectLength(out, "out", x.length, "x.length");
  args.expectSameOrDisjoint(out, "out", x, "x");
  if (args.onCuda())
    args.cudaCheck(kGelu ? cuda::api()->geluForward(out.data, x.data, x.length, tanhApprox)
                         : cuda::api()->siluForward(out.data, x.data, x.length));
  else if (kGelu) geluForward(out.data, x.data, x.length, tanhApprox);
  else siluForward(out.data, x.data, x.length);
  return info.Env().Undefined();
}

// geluBackward(dout, x, dx, {approximate = 'none'}) / siluBackward(dout, x, dx)
template <bool kGelu>
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const char* op = kGelu ? "geluBackward" : "siluBackward";
  Args args(info, op, kGelu ? 4 : 3);
  auto dout = args.f32(0, "dout");
  auto x = args.f32(1, "x");
  auto dx = args.f32(2, "dx");
  const bool tanhApprox = kGelu && readTanhApprox(args, args.options(3));
  args.expectLength(dout, "dout", x.length, "x.length");
  args.expectLength(dx, "dx", x.length, "x.length");
  args.expectSameOrDisjoint(dx, "dx", dout, "dout");
  args.expectSameOrDisjoint(dx, "dx", x, "x");
  if (args.onCuda())
    args.cudaCheck(kGelu ? cuda::api()->geluBackward(dx.data, dout.data, x.data, x.length, tanhApprox)
                         : cuda::api()->siluBackward(dx.data, dout.data, x.data, x.length));
  else if (kGelu) geluBackward(dx.data, dout.data, x.data, x.length, tanhApprox);
  else siluBackward(dx.data, dout.data, x.data, x.length);
  return info.Env().Undefined();
}

}  // namespace

void registerActivations(Napi::Env env, Napi::Object exports) {
  exports.Set("geluForward", Napi::Function::New(env, Forward<true>, "geluForward"));
  exports.Set("geluBackward", Napi::Function::New(env, Backward<true>, "geluBackward"));
  exports.Set("siluForward", Napi::Function::New(env, Forward<false>, "siluForward"));
  exports.Set("siluBackward", Napi::Function::New(env, Backward<false>, "siluBackward"));
}

}  // namespace lmkit::binding

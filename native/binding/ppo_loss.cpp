// N-API entries for ppoLoss and valueLoss.
#include <sstream>

#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

std::string str(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

// ppoLoss(logp, oldLogp, refLogp, advantages, mask, dlogp,
//         {rows, cols, clipEps, klCoef, klMode}) → stats
Napi::Value PpoLoss(const Napi::CallbackInfo& info) {
  Args args(info, "ppoLoss", 7);
  auto logp = args.f32(0, "logp");
  auto oldLogp = args.f32(1, "oldLogp");
  auto refLogp = args.optionalF32(2, "refLogp");
  auto advantages = args.f32(3, "advantages");
  auto mask = args.f32(4, "mask");
  auto dlogp = args.f32(5, "dlogp");
  const Napi::Object opts = args.options(6);
  PpoOptions o;
  o.rows = args.dim(opts, "rows", 0);
  o.cols = args.dim(opts, "cols", 0);
  const double clipEps = args.number(opts, "clipEps", 0.2);
  if (!(clipEps > 0.0 && clipEps < 1.0))
    args.rangeError("ppoLoss: expected a number in (0, 1) for clipEps but received " + str(clipEps));
  const double klCoef = args.number(opts, "klCoef", 0.0);
  if (klCoef < 0.0)
    args.rangeError("ppoLoss: expected a non-negative number for klCoef but received " + str(klCoef));
  const std::string mode = args.choice(opts, "klMode", "k1", {"k1", "k3"});
  o.clipEps = static_cast<float>(clipEps);
  o.klCoef = static_cast<float>(klCoef);
  o.klMode = mode == "k3" ? KlMode::K3 : KlMode::K1;
  if (refLogp.data == nullptr && klCoef > 0.0 && !(info[2].IsTypedArray()))
    args.typeError("ppoLoss: refLogp is null but klCoef = " + str(klCoef) +
                   " > 0; pass the reference model's log-probs or set klCoef to 0");
  const int64_t n = args.product({o.rows, o.cols}, "rows*cols");
  args.expectLength(logp, "logp", n, "rows*cols");
  args.expectLength(oldLogp, "oldLogp", n, "rows*cols");
  if (info[2].IsTypedArray()) args.expectLength(refLogp, "refLogp", n, "rows*cols");
  args.expectLength(advantages, "advantages", n, "rows*cols");
  args.expectLength(mask, "mask", n, "rows*cols");
  args.expectLength(dlogp, "dlogp", n, "rows*cols");
  args.expectDisjoint(dlogp, "dlogp", logp, "logp");
  args.expectDisjoint(dlogp, "dlogp", oldLogp, "oldLogp");
  args.expectDisjoint(dlogp, "dlogp", refLogp, "refLogp");
  args.expectDisjoint(dlogp, "dlogp", advantages, "advantages");
  args.expectDisjoint(dlogp, "dlogp", mask, "mask");
  // A 0-element refLogp has data == nullptr; n = 0 never reads it anyway.
  PpoStats s{0, 0, 0, 0, 0};
  if (args.onCuda())
    args.cudaCheck(cuda::api()->ppoLoss(&s, dlogp.data, logp.data, oldLogp.data, refLogp.data, advantages.data,
                                        mask.data, &o));
  else s = ppoLoss(dlogp.data, logp.data, oldLogp.data, refLogp.data, advantages.data, mask.data, o);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("loss", s.loss);
  out.Set("policyLoss", s.policyLoss);
  out.Set("kl", s.kl);
  out.Set("clipFrac", s.clipFrac);
  out.Set("approxKl", s.approxKl);
  return out;
}

// valueLoss(values, oldValues, returns, mask, dvalues, {rows, cols, clipRange}) → {loss, clipFrac}
Napi::Value ValueLoss(const Napi::CallbackInfo& info) {
  Args args(info, "valueLoss", 6);
  auto values = args.f32(0, "values");
  auto oldValues = args.f32(1, "oldValues");
  auto returns = args.f32(2, "returns");
  auto mask = args.f32(3, "mask");
  auto dvalues = args.f32(4, "dvalues");
  const Napi::Object opts = args.options(5);
  const int64_t rows = args.dim(opts, "rows", 0);
  const int64_t cols = args.dim(opts, "cols", 0);
  const double clipRange = args.number(opts, "clipRange", 0.2);
  if (clipRange < 0.0)
    args.rangeError("valueLoss: expected a non-negative number for clipRange but received " + str(clipRange));
  const int64_t n = args.product({rows, cols}, "rows*cols");
  args.expectLength(values, "values", n, "rows*cols");
  args.expectLength(oldValues, "oldValues", n, "rows*cols");
  args.expectLength(returns, "returns", n, "rows*cols");
  args.expectLength(mask, "mask", n, "rows*cols");
  args.expectLength(dvalues, "dvalues", n, "rows*cols");
  args.expectDisjoint(dvalues, "dvalues", values, "values");
  args.expectDisjoint(dvalues, "dvalues", oldValues, "oldValues");
  args.expectDisjoint(dvalues, "dvalues", returns, "returns");
  args.expectDisjoint(dvalues, "dvalues", mask, "mask");
  ValueLossStats s{0, 0};
  if (args.onCuda())
    args.cudaCheck(cuda::api()->valueLoss(&s, dvalues.data, values.data, oldValues.data, returns.data, mask.data, n,
                                          static_cast<float>(clipRange)));
  else
    s = valueLoss(dvalues.data, values.data, oldValues.data, returns.data, mask.data, n,
                  static_cast<float>(clipRange));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("loss", s.loss);
  out.Set("clipFrac", s.clipFrac);
  return out;
}

}  // namespace

void registerPpoLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("ppoLoss", Napi::Function::New(env, PpoLoss, "ppoLoss"));
  exports.Set("valueLoss", Napi::Function::New(env, ValueLoss, "valueLoss"));
}

}  // namespace lmkit::binding

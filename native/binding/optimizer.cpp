// N-API entries for adamwStep and clipGradNorm.
#include <algorithm>
#include <numeric>
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

// A number in [0, 1): Adam's betas.
double beta(Args& args, const Napi::Object& opts, const char* name, double fallback) {
  const double b = args.number(opts, name, fallback);
  if (!(b >= 0.0 && b < 1.0))
    args.rangeError(std::string("adamwStep: expected a number in [0, 1) for ") + name + " but received " + str(b));
  return b;
}

double nonNegative(Args& args, double x, const char* name) {
  if (x < 0.0)
    args.rangeError(std::string("adamwStep: expected a non-negative number for ") + name + " but received " + str(x));
  return x;
}

// adamwStep(param, grad, m, v, {lr, beta1, beta2, eps, weightDecay, step, decayMask})
Napi::Value AdamwStep(const Napi::CallbackInfo& info) {
  Args args(info, "adamwStep", 5);
  auto param = args.f32(0, "param");
  auto grad = args.f32(1, "grad");
  auto m = args.f32(2, "m");
  auto v = args.f32(3, "v");
  const Napi::Object opts = args.options(4);
  AdamWOptions o;
  o.lr = nonNegative(args, args.requiredNumber(opts, "lr"), "lr");
  o.beta1 = beta(args, opts, "beta1", 0.9);
  o.beta2 = beta(args, opts, "beta2", 0.999);
  o.eps = nonNegative(args, args.number(opts, "eps", 1e-8), "eps");
  o.weightDecay = nonNegative(args, args.number(opts, "weightDecay", 0.01), "weightDecay");
  o.step = args.dim(opts, "step", 1);
  auto decayMask = args.optionalU8Option(opts, "decayMask");
  const int64_t n = param.length;
  args.expectLength(grad, "grad", n, "param.length");
  args.expectLength(m, "m", n, "param.length");
  args.expectLength(v, "v", n, "param.length");
  if (!opts.Get("decayMask").IsUndefined() && !opts.Get("decayMask").IsNull())
    args.expectLength(decayMask, "decayMask", n, "param.length");
  args.expectDisjoint(param, "param", grad, "grad");
  args.expectDisjoint(param, "param", m, "m");
  args.expectDisjoint(param, "param", v, "v");
  args.expectDisjoint(param, "param", decayMask, "decayMask");
  args.expectDisjoint(m, "m", grad, "grad");
  args.expectDisjoint(m, "m", v, "v");
  args.expectDisjoint(m, "m", decayMask, "decayMask");
  args.expectDisjoint(v, "v", grad, "grad");
  args.expectDisjoint(v, "v", decayMask, "decayMask");
  if (args.onCuda()) args.cudaCheck(cuda::api()->adamwStep(param.data, m.data, v.data, grad.data, decayMask.data, n, &o));
  else adamwStep(param.data, m.data, v.data, grad.data, decayMask.data, n, o);
  return info.Env().Undefined();
}

// clipGradNorm(grads, {maxNorm}) → the global norm before clipping.
Napi::Value ClipGradNorm(const Napi::CallbackInfo& info) {
  Args args(info, "clipGradNorm", 2);
  auto grads = args.f32List(0, "grads");
  const Napi::Object opts = args.options(1);
  const double maxNorm = args.requiredNumber(opts, "maxNorm");
  if (!(maxNorm > 0.0))
    args.rangeError("clipGradNorm: expected a positive number for maxNorm but received " + str(maxNorm));
  // Buffers are scaled in place: two that share memory would be scaled twice.
  std::vector<size_t> order(grads.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return grads[a].begin() < grads[b].begin(); });
  for (size_t k = 1; k < order.size(); ++k) {
    const size_t a = order[k - 1], b = order[k];
    const std::string nameA = "grads[" + std::to_string(a) + "]", nameB = "grads[" + std::to_string(b) + "]";
    args.expectDisjoint(grads[std::max(a, b)], std::max(a, b) == a ? nameA.c_str() : nameB.c_str(),
                        grads[std::min(a, b)], std::min(a, b) == a ? nameA.c_str() : nameB.c_str());
  }
  std::vector<float*> data;
  std::vector<int64_t> sizes;
  for (const auto& g : grads) {
    if (g.length == 0) continue;
    data.push_back(g.data);
    sizes.push_back(g.length);
  }
  double norm = 0.0;
  if (args.onCuda())
    args.cudaCheck(cuda::api()->clipGradNorm(&norm, data.data(), sizes.data(), static_cast<int64_t>(data.size()), maxNorm));
  else norm = clipGradNorm(data.data(), sizes.data(), static_cast<int64_t>(data.size()), maxNorm);
  return Napi::Number::New(info.Env(), norm);
}

}  // namespace

void registerOptimizer(Napi::Env env, Napi::Object exports) {
  exports.Set("adamwStep", Napi::Function::New(env, AdamwStep, "adamwStep"));
  exports.Set("clipGradNorm", Napi::Function::New(env, ClipGradNorm, "clipGradNorm"));
}

}  // namespace lmkit::binding

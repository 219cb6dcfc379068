// N-API entry for permute (axis reordering, a strided copy).
#include <string>

#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

// permute(x, out, {shape, perm}): out = x with axis k of out being axis
// perm[k] of x; shape (x's) and perm are Int32Arrays of equal length.
Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args args(info, "permute", 3);
  auto x = args.f32(0, "x");
  auto out = args.f32(1, "out");
  const Napi::Object opts = args.options(2);
  for (const char* name : {"shape", "perm"}) {
    const Napi::Value v = opts.Get(name);
    if (v.IsUndefined() || v.IsNull())
      args.typeError(std::string("permute: expected an Int32Array for ") + name + " but received " + describe(v));
  }
  auto shape = args.optionalI32Option(opts, "shape");
  auto perm = args.optionalI32Option(opts, "perm");
  if (shape.length > kPermuteMaxDims)
    args.rangeError("permute: shape has " + std::to_string(shape.length) + " axes, at most " +
                    std::to_string(kPermuteMaxDims) + " are supported; reshape to merge neighbouring axes");
  args.expectLength(perm, "perm", shape.length, "shape.length");
  const int ndim = static_cast<int>(shape.length);
  int64_t dims[kPermuteMaxDims];
  int64_t total = 1;
  bool seen[kPermuteMaxDims] = {};
  for (int k = 0; k < ndim; ++k) {
    if (shape.data[k] < 0)
      args.rangeError("permute: shape[" + std::to_string(k) + "] is " + std::to_string(shape.data[k]) +
                      ", expected a non-negative size");
    dims[k] = shape.data[k];
    total = args.product({total, dims[k]}, "the product of shape");
    const int32_t p = perm.data[k];
    if (p < 0 || p >= ndim || seen[p])
      args.rangeError("permute: perm[" + std::to_string(k) + "] is " + std::to_string(p) + ", expected each of 0.." +
                      std::to_string(ndim - 1) + " exactly once");
    seen[p] = true;
  }
  args.expectLength(x, "x", total, "the product of shape");
  args.expectLength(out, "out", total, "the product of shape");
  args.expectDisjoint(out, "out", x, "x");
  if (args.onCuda()) args.cudaCheck(cuda::api()->permute(out.data, x.data, dims, perm.data, ndim));
  else permute(out.data, x.data, dims, perm.data, ndim);
  return info.Env().Undefined();
}

}  // namespace

void registerPermute(Napi::Env env, Napi::Object exports) {
  exports.Set("permute", Napi::Function::New(env, Permute, "permute"));
}

}  // namespace lmkit::binding

// N-API entries for attentionForward and attentionBackward.
#include <cmath>
#include <string>

#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

// Reads {batch, heads, tq, tk, headDim, scale, causal, qOffset, prefixLen, kvLen}.
AttentionShape readShape(Args& args, const Napi::Object& opts, const char* op) {
  AttentionShape s;
  s.B = args.dim(opts, "batch", 0);
  s.NH = args.dim(opts, "heads", 0);
  s.Tq = args.dim(opts, "tq", 0);
  s.Tk = args.dim(opts, "tk", 0);
  s.HS = args.dim(opts, "headDim", 1);
  s.scale = static_cast<float>(args.number(opts, "scale", 1.0 / std::sqrt(static_cast<double>(s.HS))));
  s.causal = args.flag(opts, "causal", false);
  s.qOffset = args.dimOr(opts, "qOffset", 0, 0);
  // Per-batch lengths: exactly `batch` entries, each a key count in [0, tk].
  auto lengths = [&](const char* name) -> const int32_t* {
    const Napi::Value given = opts.Get(name);
    if (given.IsUndefined() || given.IsNull()) return nullptr;
    const View<int32_t> view = args.optionalI32Option(opts, name);
    args.expectLength(view, name, s.B, "batch");
    for (int64_t i = 0; i < view.length; ++i) {
      if (view.data[i] < 0 || view.data[i] > s.Tk)
        args.rangeError(std::string(op) + ": " + name + "[" + std::to_string(i) + "] = " +
                        std::to_string(view.data[i]) + " is outside [0, tk = " +
                        std::to_string(s.Tk) + "]");
    }
    return view.data;
  };
  s.prefixLen = lengths("prefixLen");
  s.kvLen = lengths("kvLen");
  return s;
}

struct Sizes {
  int64_t q, kv, lse;
};

Sizes readSizes(Args& args, const AttentionShape& s) {
  return {args.product({s.B, s.NH, s.Tq, s.HS}, "batch*heads*tq*headDim"),
          args.product({s.B, s.NH, s.Tk, s.HS}, "batch*heads*tk*headDim"),
          args.product({s.B, s.NH, s.Tq}, "batch*heads*tq")};
}

// attentionForward(q, k, v, out, lse, opts)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args args(info, "attentionForward", 6);
  auto q = args.f32(0, "q");
  auto k = args.f32(1, "k");
  auto v = args.f32(2, "v");
  auto out = args.f32(3, "out");
  auto lse = args.f32(4, "lse");
  const AttentionShape s = readShape(args, args.options(5), "attentionForward");
  const Sizes n = readSizes(args, s);
  args.expectLength(q, "q", n.q, "batch*heads*tq*headDim");
  args.expectLength(k, "k", n.kv, "batch*heads*tk*headDim");
  args.expectLength(v, "v", n.kv, "batch*heads*tk*headDim");
  args.expectLength(out, "out", n.q, "batch*heads*tq*headDim");
  args.expectLength(lse, "lse", n.lse, "batch*heads*tq");
  args.expectAllDisjoint({{out, "out"}, {lse, "lse"}}, {{q, "q"}, {k, "k"}, {v, "v"}});
  if (args.onCuda()) args.cudaCheck(cuda::api()->attentionForward(out.data, lse.data, q.data, k.data, v.data, &s));
  else attentionForward(out.data, lse.data, q.data, k.data, v.data, s);
  return info.Env().Undefined();
}

// attentionBackward(dout, q, k, v, out, lse, dq, dk, dv, opts)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args args(info, "attentionBackward", 10);
  auto dout = args.f32(0, "dout");
  auto q = args.f32(1, "q");
  auto k = args.f32(2, "k");
  auto v = args.f32(3, "v");
  auto out = args.f32(4, "out");
  auto lse = args.f32(5, "lse");
  auto dq = args.f32(6, "dq");
  auto dk = args.f32(7, "dk");
  auto dv = args.f32(8, "dv");
  const AttentionShape s = readShape(args, args.options(9), "attentionBackward");
  const Sizes n = readSizes(args, s);
  args.expectLength(dout, "dout", n.q, "batch*heads*tq*headDim");
  args.expectLength(q, "q", n.q, "batch*heads*tq*headDim");
  args.expectLength(k, "k", n.kv, "batch*heads*tk*headDim");
  args.expectLength(v, "v", n.kv, "batch*heads*tk*headDim");
  args.expectLength(out, "out", n.q, "batch*heads*tq*headDim");
  args.expectLength(lse, "lse", n.lse, "batch*heads*tq");
  args.expectLength(dq, "dq", n.q, "batch*heads*tq*headDim");
  args.expectLength(dk, "dk", n.kv, "batch*heads*tk*headDim");
  args.expectLength(dv, "dv", n.kv, "batch*heads*tk*headDim");
  args.expectAllDisjoint({{dq, "dq"}, {dk, "dk"}, {dv, "dv"}},
                         {{dout, "dout"}, {q, "q"}, {k, "k"}, {v, "v"}, {out, "out"}, {lse, "lse"}});
  if (args.onCuda())
    args.cudaCheck(cuda::api()->attentionBackward(dq.data, dk.data, dv.data, dout.data, q.data, k.data, v.data,
                                                  out.data, lse.data, &s));
  else
    attentionBackward(dq.data, dk.data, dv.data, dout.data, q.data, k.data, v.data, out.data, lse.data, s);
  return info.Env().Undefined();
}

}  // namespace

void registerAttention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, AttentionForward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, AttentionBackward, "attentionBackward"));
}

}  // namespace lmkit::binding

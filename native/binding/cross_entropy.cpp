// N-API entries for softmaxCrossEntropy, tokenLogProbs and tokenLogProbsBackward.
#include <cstdint>
#include <limits>
#include <string>

#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

struct RowsShape {
  int64_t rows, vocab, size;
};

RowsShape readShape(Args& args, const char* op, const Napi::Object& opts) {
  RowsShape s;
  s.rows = args.dim(opts, "rows", 0);
  s.vocab = args.dim(opts, "vocab", 1);
  if (s.vocab > std::numeric_limits<int32_t>::max())
    args.rangeError(std::string(op) + ": vocab " + std::to_string(s.vocab) +
                    " is larger than int32 targets can index (2147483647)");
  s.size = args.product({s.rows, s.vocab}, "rows*vocab");
  return s;
}

bool isNullish(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

// Every target must index the row; the kernels read logits[r·vocab + t] unchecked.
void checkTargets(Args& args, const char* op, const View<int32_t>& targets, int64_t vocab,
                  const int32_t* ignoreIndex) {
  for (int64_t r = 0; r < targets.length; ++r) {
    const int32_t t = targets.data[r];
    if (ignoreIndex && t == *ignoreIndex) continue;
    if (t < 0 || t >= vocab) {
      std::string msg = std::string(op) + ": targets[" + std::to_string(r) + "] = " + std::to_string(t) +
                        " is outside [0, vocab=" + std::to_string(vocab) + ")";
      if (ignoreIndex) msg += " and is not ignoreIndex (" + std::to_string(*ignoreIndex) + ")";
      args.rangeError(msg);
    }
  }
}

// softmaxCrossEntropy(logits, targets, dlogits | null,
//                     {rows, vocab, ignoreIndex = -100, labelSmoothing = 0, losses?})
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Args args(info, "softmaxCrossEntropy", 4);
  auto logits = args.f32(0, "logits");
  auto targets = args.i32(1, "targets");
  auto dlogits = args.optionalF32(2, "dlogits");
  const Napi::Object opts = args.options(3);
  const RowsShape s = readShape(args, "softmaxCrossEntropy", opts);
  const double ignore = args.number(opts, "ignoreIndex", -100.0);
  if (ignore != static_cast<double>(static_cast<int32_t>(ignore)) ||
      ignore < std::numeric_limits<int32_t>::min() || ignore > std::numeric_limits<int32_t>::max())
    args.rangeError("softmaxCrossEntropy: expected an int32 integer for ignoreIndex but received " +
                    describe(opts.Get("ignoreIndex")));
  const int32_t ignoreIndex = static_cast<int32_t>(ignore);
  const float labelSmoothing = static_cast<float>(args.numberIn(opts, "labelSmoothing", 0.0, 0.0, 1.0));
  auto losses = args.optionalF32Option(opts, "losses");
  args.expectLength(logits, "logits", s.size, "rows*vocab");
  args.expectLength(targets, "targets", s.rows, "rows");
  if (!isNullish(info[2])) args.expectLength(dlogits, "dlogits", s.size, "rows*vocab");
  if (!isNullish(opts.Get("losses")))
    args.expectLength(losses, "losses", s.rows, "rows");
  args.expectAllDisjoint({{dlogits, "dlogits"}, {losses, "losses"}}, {{logits, "logits"}});
  args.expectDisjoint(dlogits, "dlogits", targets, "targets");
  args.expectDisjoint(losses, "losses", targets, "targets");
  std::vector<int32_t> hostTargets;
  checkTargets(args, "softmaxCrossEntropy", args.hostReadable(targets, hostTargets), s.vocab, &ignoreIndex);

  CrossEntropyStats st{0.0, 0};
  if (args.onCuda())
    args.cudaCheck(cuda::api()->softmaxCrossEntropy(&st, dlogits.data, losses.data, logits.data, targets.data, s.rows,
                                                    s.vocab, ignoreIndex, labelSmoothing));
  else
    st = softmaxCrossEntropy(dlogits.data, losses.data, logits.data, targets.data, s.rows, s.vocab, ignoreIndex,
                             labelSmoothing);
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("loss", st.loss);
  result.Set("count", static_cast<double>(st.count));
  return result;
}

// tokenLogProbs(logits, targets, logp, entropy | null, {rows, vocab})
Napi::Value TokenLogProbs(const Napi::CallbackInfo& info) {
  Args args(info, "tokenLogProbs", 5);
  auto logits = args.f32(0, "logits");
  auto targets = args.i32(1, "targets");
  auto logp = args.f32(2, "logp");
  auto entropy = args.optionalF32(3, "entropy");
  const RowsShape s = readShape(args, "tokenLogProbs", args.options(4));
  args.expectLength(logits, "logits", s.size, "rows*vocab");
  args.expectLength(targets, "targets", s.rows, "rows");
  args.expectLength(logp, "logp", s.rows, "rows");
  if (!isNullish(info[3])) args.expectLength(entropy, "entropy", s.rows, "rows");
  args.expectAllDisjoint({{logp, "logp"}, {entropy, "entropy"}}, {{logits, "logits"}});
  args.expectDisjoint(logp, "logp", targets, "targets");
  args.expectDisjoint(entropy, "entropy", targets, "targets");
  std::vector<int32_t> hostTargets;
  checkTargets(args, "tokenLogProbs", args.hostReadable(targets, hostTargets), s.vocab, nullptr);
  if (args.onCuda())
    args.cudaCheck(cuda::api()->tokenLogProbs(logp.data, entropy.data, logits.data, targets.data, s.rows, s.vocab));
  else tokenLogProbs(logp.data, entropy.data, logits.data, targets.data, s.rows, s.vocab);
  return info.Env().Undefined();
}

// tokenLogProbsBackward(logits, targets, dlogp, dentropy | null, dlogits, {rows, vocab})
Napi::Value TokenLogProbsBackward(const Napi::CallbackInfo& info) {
  Args args(info, "tokenLogProbsBackward", 6);
  auto logits = args.f32(0, "logits");
  auto targets = args.i32(1, "targets");
  auto dlogp = args.f32(2, "dlogp");
  auto dentropy = args.optionalF32(3, "dentropy");
  auto dlogits = args.f32(4, "dlogits");
  const RowsShape s = readShape(args, "tokenLogProbsBackward", args.options(5));
  args.expectLength(logits, "logits", s.size, "rows*vocab");
  args.expectLength(targets, "targets", s.rows, "rows");
  args.expectLength(dlogp, "dlogp", s.rows, "rows");
  if (!isNullish(info[3])) args.expectLength(dentropy, "dentropy", s.rows, "rows");
  args.expectLength(dlogits, "dlogits", s.size, "rows*vocab");
  args.expectAllDisjoint({{dlogits, "dlogits"}},
                         {{logits, "logits"}, {dlogp, "dlogp"}, {dentropy, "dentropy"}});
  args.expectDisjoint(dlogits, "dlogits", targets, "targets");
  std::vector<int32_t> hostTargets;
  checkTargets(args, "tokenLogProbsBackward", args.hostReadable(targets, hostTargets), s.vocab, nullptr);
  if (args.onCuda())
    args.cudaCheck(cuda::api()->tokenLogProbsBackward(dlogits.data, logits.data, targets.data, dlogp.data,
                                                      dentropy.data, s.rows, s.vocab));
  else tokenLogProbsBackward(dlogits.data, logits.data, targets.data, dlogp.data, dentropy.data, s.rows, s.vocab);
  return info.Env().Undefined();
}

}  // namespace

void registerCrossEntropy(Napi::Env env, Napi::Object exports) {
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "softmaxCrossEntropy"));
  exports.Set("tokenLogProbs", Napi::Function::New(env, TokenLogProbs, "tokenLogProbs"));
  exports.Set("tokenLogProbsBackward",
              Napi::Function::New(env, TokenLogProbsBackward, "tokenLogProbsBackward"));
}

}  // namespace lmkit::binding

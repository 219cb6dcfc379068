// N-API entries for embeddingForward and embeddingBackward.
#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"
#include "kernels.h"

namespace lmkit::binding {
namespace {

// vocab = table.length / dim, which must divide exactly.
int64_t vocabOf(Args& args, const char* op, const View<float>& table, const char* tableName, int64_t dim) {
  if (table.length % dim != 0)
    args.rangeError(std::string(op) + ": " + tableName + " has " + std::to_string(table.length) +
                    " elements, not a multiple of dim = " + std::to_string(dim) +
                    " (expected vocab*dim)");
  return table.length / dim;
}

// Every id must index a row: the kernels trust them.
void checkIds(Args& args, const char* op, const View<int32_t>& ids, int64_t vocab) {
  for (int64_t i = 0; i < ids.length; ++i) {
    const int32_t id = ids.data[i];
    if (id < 0 || id >= vocab)
      args.rangeError(std::string(op) + ": ids[" + std::to_string(i) + "] = " + std::to_string(id) +
                      " is outside [0, vocab=" + std::to_string(vocab) + ")");
  }
}

// embeddingForward(ids, weight, out, {dim})
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args args(info, "embeddingForward", 4);
  auto ids = args.i32(0, "ids");
  auto weight = args.f32(1, "weight");
  auto out = args.f32(2, "out");
  const int64_t dim = args.dim(args.options(3), "dim", 1);
  const int64_t vocab = vocabOf(args, "embeddingForward", weight, "weight", dim);
  args.expectLength(out, "out", args.product({ids.length, dim}, "ids.length*dim"), "ids.length*dim");
  args.expectDisjoint(out, "out", weight, "weight");
  args.expectDisjoint(out, "out", ids, "ids");
  std::vector<int32_t> hostIds;
  checkIds(args, "embeddingForward", args.hostReadable(ids, hostIds), vocab);
  if (args.onCuda()) args.cudaCheck(cuda::api()->embeddingForward(out.data, ids.data, weight.data, ids.length, dim));
  else embeddingForward(out.data, ids.data, weight.data, ids.length, dim);
  return info.Env().Undefined();
}

// embeddingBackward(ids, dout, dweight, {dim}); dweight accumulates.
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args args(info, "embeddingBackward", 4);
  auto ids = args.i32(0, "ids");
  auto dout = args.f32(1, "dout");
  auto dweight = args.f32(2, "dweight");
  const int64_t dim = args.dim(args.options(3), "dim", 1);
  const int64_t vocab = vocabOf(args, "embeddingBackward", dweight, "dweight", dim);
  args.expectLength(dout, "dout", args.product({ids.length, dim}, "ids.length*dim"), "ids.length*dim");
  args.expectDisjoint(dweight, "dweight", dout, "dout");
  args.expectDisjoint(dweight, "dweight", ids, "ids");
  std::vector<int32_t> hostIds;
  checkIds(args, "embeddingBackward", args.hostReadable(ids, hostIds), vocab);
  if (args.onCuda()) args.cudaCheck(cuda::api()->embeddingBackward(dweight.data, ids.data, dout.data, ids.length, dim));
  else embeddingBackward(dweight.data, ids.data, dout.data, ids.length, dim);
  return info.Env().Undefined();
}

}  // namespace

void registerEmbedding(Napi::Env env, Napi::Object exports) {
  exports.Set("embeddingForward", Napi::Function::New(env, EmbeddingForward, "embeddingForward"));
  exports.Set("embeddingBackward", Napi::Function::New(env, EmbeddingBackward, "embeddingBackward"));
}

}  // namespace lmkit::binding

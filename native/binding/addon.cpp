// The addon's export table: every family registers its entries.
#include "binding/registry.h"

namespace {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  using namespace lmkit::binding;
  registerRuntime(env, exports);
  registerGemm(env, exports);
  registerAttention(env, exports);
  registerLayerNorm(env, exports);
  registerCrossEntropy(env, exports);
  registerActivations(env, exports);
  registerPpoLoss(env, exports);
  registerEmbedding(env, exports);
  registerBias(env, exports);
  registerOptimizer(env, exports);
  registerPermute(env, exports);
  registerElementwise(env, exports);
  registerCudaBackend(env, exports);
  registerDevice(env, exports);
  registerDistributed(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(lmkit, init)

// Each kernel family adds its entries to the addon's export table here.
#pragma once

#include <napi.h>

namespace lmkit::binding {

void registerRuntime(Napi::Env env, Napi::Object exports);
void registerGemm(Napi::Env env, Napi::Object exports);
void registerAttention(Napi::Env env, Napi::Object exports);
void registerLayerNorm(Napi::Env env, Napi::Object exports);
void registerCrossEntropy(Napi::Env env, Napi::Object exports);
void registerActivations(Napi::Env env, Napi::Object exports);
void registerPpoLoss(Napi::Env env, Napi::Object exports);
void registerEmbedding(Napi::Env env, Napi::Object exports);
void registerBias(Napi::Env env, Napi::Object exports);
void registerOptimizer(Napi::Env env, Napi::Object exports);
void registerPermute(Napi::Env env, Napi::Object exports);
void registerElementwise(Napi::Env env, Napi::Object exports);
void registerCudaBackend(Napi::Env env, Napi::Object exports);
void registerDevice(Napi::Env env, Napi::Object exports);
void registerDistributed(Napi::Env env, Napi::Object exports);

}  // namespace lmkit::binding

// Finding and opening the CUDA backend (see cuda_backend.h), and its N-API
// entry cudaLoad(candidates, explicitPath, disabledReason) → status.
#include "binding/cuda_backend.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <mutex>

#include "binding/registry.h"

namespace lmkit::binding::cuda {
namespace {

std::mutex gMutex;
bool gTried = false;
Status gStatus;
const LmkitCudaApi* gApi = nullptr;

bool fileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void open(Status& s, const std::string& path) {
  s.library = path;
  // RTLD_LOCAL: the library's symbols (and its static cudart) stay private.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* e = dlerror();
    s.reason = "cannot load " + path + ": " + (e ? e : "unknown dlopen error");
    return;
  }
  auto entry = reinterpret_cast<LmkitCudaApiFn>(dlsym(handle, "lmkit_cuda_api"));
  const LmkitCudaApi* table = entry ? entry(LMKIT_CUDA_API_VERSION) : nullptr;
  if (!table) {
    s.reason = path + " is not an lmkit CUDA library of ABI version " + std::to_string(LMKIT_CUDA_API_VERSION) +
               "; rebuild it with npm run build:cuda";
    return;
  }
  if (table->init(&s.device) != 0) {
    s.reason = "CUDA backend unavailable: " + std::string(table->lastError());
    return;
  }
  s.available = true;
  s.reason = std::string(s.device.emulated ? "emulated device (CPU emulation library " : "CUDA device found (") + path + ")";
  gApi = table;
}

}  // namespace

const Status& load(const std::vector<std::string>& candidates, bool explicitPath, const std::string& disabled) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gTried) return gStatus;
  gTried = true;
  Status& s = gStatus;
  if (!disabled.empty()) {
    s.reason = disabled;
    return s;
  }
  if (explicitPath) {
    if (candidates.empty() || !fileExists(candidates[0])) {
      s.reason = "LMKIT_CUDA_LIBRARY names " + (candidates.empty() ? std::string("nothing") : candidates[0]) +
                 ", which is not a file";
      return s;
    }
    open(s, candidates[0]);
    return s;
  }
  // The driver first: on a machine without one this costs one failed
  // dlopen (a lookup in the loader cache) and opens nothing of ours.
  void* driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!driver) {
    s.reason = "no CUDA driver (libcuda.so.1 not found); kernels run on the CPU";
    return s;
  }
  for (const std::string& path : candidates)
    if (fileExists(path)) {
      open(s, path);
      return s;
    }
  s.reason = "a CUDA driver is present but this install has no liblmkit_cuda.so (looked in";
  for (const std::string& path : candidates) s.reason += " " + path;
  s.reason += "); build it with: npm run build:cuda";
  return s;
}

const LmkitCudaApi* api() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gApi;
}

void check(Napi::Env env, int rc) {
  if (rc == 0) return;
  Napi::Error error = Napi::Error::New(env, gApi ? gApi->lastError() : "CUDA backend not loaded");
  error.Set("code", Napi::String::New(env, "ERR_LMKIT_CUDA"));
  throw error;
}

namespace {

Napi::Object statusObject(Napi::Env env, const Status& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("available", s.available);
  o.Set("reason", s.reason);
  if (!s.library.empty()) o.Set("library", s.library);
  if (s.available) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", std::string(s.device.name));
    d.Set("computeCapability", std::to_string(s.device.computeMajor) + "." + std::to_string(s.device.computeMinor));
    d.Set("multiprocessors", s.device.multiprocessors);
    d.Set("totalMemory", static_cast<double>(s.device.totalMemory));
    d.Set("driverVersion", s.device.driverVersion);
    d.Set("runtimeVersion", s.device.runtimeVersion);
    d.Set("emulated", s.device.emulated != 0);
    d.Set("clockKHz", s.device.clockKHz);
    o.Set("device", d);
  }
  return o;
}

// cudaLoad(candidates: string[], explicitPath: boolean, disabledReason: string)
Napi::Value CudaLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !info[0].IsArray() || !info[1].IsBoolean() || !info[2].IsString())
    throw Napi::TypeError::New(env, "cudaLoad: expected (candidates: string[], explicitPath: boolean, disabledReason: string)");
  std::vector<std::string> candidates;
  Napi::Array list = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value v = list.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "cudaLoad: candidates[" + std::to_string(i) + "] is not a string");
    candidates.push_back(v.As<Napi::String>().Utf8Value());
  }
  return statusObject(env, load(candidates, info[1].As<Napi::Boolean>().Value(), info[2].As<Napi::String>().Utf8Value()));
}

}  // namespace

}  // namespace lmkit::binding::cuda

namespace lmkit::binding {
void registerCudaBackend(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaLoad", Napi::Function::New(env, cuda::CudaLoad, "cudaLoad"));
}
}  // namespace lmkit::binding

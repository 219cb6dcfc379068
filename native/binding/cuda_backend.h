// The CUDA backend as the addon sees it: found and opened at run time, never
// at load. load() runs once per process (later calls return the first
// answer): LMKIT_BACKEND=cpu → nothing is opened; an explicit library path
// (LMKIT_CUDA_LIBRARY) is opened as is; otherwise the CUDA driver
// (libcuda.so.1) is probed first, and only when it exists is
// liblmkit_cuda.so looked for and opened. Any failure leaves the CPU backend
// and a reason; nothing is printed.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "cuda/backend_api.h"

namespace lmkit::binding::cuda {

struct Status {
  bool available = false;
  std::string reason;   // why it is (not) available
  std::string library;  // the path opened, if any
  LmkitCudaDeviceInfo device{};
};

// candidates: library paths to try in order; explicitPath: candidates[0] was
// named by the user (no driver probe); disabled: non-empty to refuse, with
// this as the reason.
const Status& load(const std::vector<std::string>& candidates, bool explicitPath, const std::string& disabled);
// The table, or null when the backend is not available (or not loaded yet).
const LmkitCudaApi* api();

// Throws a JS Error (code "ERR_LMKIT_CUDA") with the library's message when rc ≠ 0.
void check(Napi::Env env, int rc);

}  // namespace lmkit::binding::cuda

// lmkit_cuda_check: loads a CUDA backend library (the nvcc build on a GPU
// machine, or the emulation build anywhere), runs every kernel of the C ABI
// on seeded inputs, runs the CPU kernel (native/cpu, linked in) on the same
// inputs, and compares them. One JSON line per compared tensor:
//   {"check":"gemm m=7 n=33 k=1 tA=1 tB=0: c","ok":true,"maxError":1.2e-07,"ratio":0.03}
// (ratio = worst |Δ| over its allowed error; ≤ 1 passes), then a summary
// line. Exit status 0 when everything passed, 1 on a mismatch, 2 when the
// library could not be loaded or initialised.
//   usage: lmkit_cuda_check <library.so> [family ...]
#include <dlfcn.h>

#include <cstdio>
#include <cstring>

#include "cuda/check/check.h"

namespace lmkit::check {

Buffer::Buffer(const LmkitCudaApi* api, size_t bytes) : api_(api) {
  if (api_->malloc(&ptr_, bytes) != 0) {
    std::fprintf(stderr, "device allocation of %zu bytes failed: %s\n", bytes, api_->lastError());
    std::exit(2);
  }
}

Buffer::~Buffer() { api_->free(ptr_); }

std::vector<float> Check::download(const Buffer* b, size_t n) {
  std::vector<float> host(n);
  if (n) call("download", api_->copy(host.data(), b->f(), sizeof(float) * n, kLmkitDeviceToHost));
  return host;
}

void Check::call(const char* what, int rc) {
  if (rc == 0) return;
  report(std::string(what) + " (library call)", false, 0, 0, api_->lastError());
}

void Check::endCase() { buffers_.clear(); }

namespace {

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

// Whether two non-finite-or-finite values agree where either is not finite.
bool sameSpecial(float a, float b) {
  if (std::isnan(b)) return std::isnan(a);
  return a == b;
}

}  // namespace

void Check::report(const std::string& name, bool ok, double maxError, double worstRatio, const std::string& note) {
  checks_++;
  if (!ok) failures_++;
  std::printf("{\"check\":%s,\"ok\":%s,\"maxError\":%.3g,\"ratio\":%.3g%s}\n", jsonString(name).c_str(),
              ok ? "true" : "false", maxError, worstRatio,
              note.empty() ? "" : (",\"note\":" + jsonString(note)).c_str());
  std::fflush(stdout);
}

void Check::expectWithin(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                         const std::vector<float>& bound) {
  if (got.size() != want.size()) return report(name, false, 0, 0, "size mismatch");
  double maxError = 0, worst = 0;
  std::string note;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(want[i]) || !std::isfinite(got[i])) {
      if (!sameSpecial(got[i], want[i]) && note.empty())
        note = "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want[i]);
      continue;
    }
    const double err = std::fabs(static_cast<double>(got[i]) - want[i]);
    maxError = std::max(maxError, err);
    const double ratio = err == 0 ? 0 : err / std::max<double>(bound[i], 1e-300);
    if (ratio > worst) {
      worst = ratio;
      if (ratio > 1 && note.empty())
        note = "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want[i]);
    }
  }
  report(name, note.empty() && worst <= 1.0, maxError, worst, note);
}

void Check::expectClose(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                        double atol, double rtol) {
  std::vector<float> bound(want.size());
  for (size_t i = 0; i < want.size(); ++i) bound[i] = static_cast<float>(atol + rtol * std::fabs(want[i]));
  expectWithin(name, got, want, bound);
}

void Check::expectBitwise(const std::string& name, const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return report(name, false, 0, 0, "size mismatch");
  double maxError = 0;
  std::string note;
  for (size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], 4) != 0) {
      if (note.empty())
        note = "element " + std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " + std::to_string(want[i]) + " (bitwise)";
      if (std::isfinite(got[i]) && std::isfinite(want[i]))
        maxError = std::max(maxError, std::fabs(static_cast<double>(got[i]) - want[i]));
    }
  report(name, note.empty(), maxError, note.empty() ? 0 : 2, note);
}

void Check::expectScalar(const std::string& name, double got, double want, double atol, double rtol) {
  const double err = std::fabs(got - want), bound = atol + rtol * std::fabs(want);
  const bool special = !std::isfinite(got) || !std::isfinite(want);
  const bool ok = special ? (std::isnan(want) ? std::isnan(got) : got == want) : err <= bound;
  report(name, ok, special ? 0 : err, special ? (ok ? 0 : 2) : (err == 0 ? 0 : err / bound),
         ok ? "" : "got " + std::to_string(got) + ", want " + std::to_string(want));
}

}  // namespace lmkit::check

int main(int argc, char** argv) {
  using namespace lmkit::check;
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <liblmkit_cuda.so | liblmkit_cuda_emu.so> [family ...]\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  auto entry = reinterpret_cast<LmkitCudaApiFn>(dlsym(lib, "lmkit_cuda_api"));
  const LmkitCudaApi* api = entry ? entry(LMKIT_CUDA_API_VERSION) : nullptr;
  if (!api) {
    std::fprintf(stderr, "%s has no lmkit_cuda_api of version %d\n", argv[1], LMKIT_CUDA_API_VERSION);
    return 2;
  }
  LmkitCudaDeviceInfo info{};
  if (api->init(&info) != 0) {
    std::fprintf(stderr, "CUDA backend unavailable: %s\n", api->lastError());
    return 2;
  }
  std::printf("{\"device\":\"%s\",\"computeCapability\":\"%d.%d\",\"emulated\":%s}\n", info.name, info.computeMajor,
              info.computeMinor, info.emulated ? "true" : "false");
  Check check(api);
  for (const Case& c : allCases()) {
    bool wanted = argc == 2;
    for (int i = 2; i < argc; ++i) wanted = wanted || std::strcmp(argv[i], c.family) == 0;
    if (!wanted) continue;
    c.run(check);
    check.endCase();
  }
  std::printf("{\"summary\":true,\"checks\":%d,\"failures\":%d}\n", check.checks(), check.failures());
  return check.failures() == 0 ? 0 : 1;
}

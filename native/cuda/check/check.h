// The backend comparison program's shared pieces: a loaded CUDA library
// (any build of the backend_api.h ABI), device buffers, seeded random data,
// and the comparison that prints one JSON line per checked tensor.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cuda/backend_api.h"

namespace lmkit::check {

// xorshift64*, normals by Box–Muller: small, seeded, the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed * 2685821657736338717ull + 1) {}
  double uniform() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return static_cast<double>((s_ * 2685821657736338717ull) >> 11) * 0x1.0p-53;
  }
  float normal() {
    const double u = uniform() + 1e-300, v = uniform();
    return static_cast<float>(std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v));
  }
  std::vector<float> normals(size_t n, float scale = 1.0f, float shift = 0.0f) {
    std::vector<float> x(n);
    for (float& e : x) e = shift + scale * normal();
    return x;
  }
  int below(int n) { return static_cast<int>(uniform() * n) % n; }

 private:
  uint64_t s_;
};

// A device allocation of the library under test, freed on scope exit.
class Buffer {
 public:
  Buffer(const LmkitCudaApi* api, size_t bytes);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  float* f() const { return static_cast<float*>(ptr_); }
  int32_t* i() const { return static_cast<int32_t*>(ptr_); }
  uint8_t* u8() const { return static_cast<uint8_t*>(ptr_); }

 private:
  const LmkitCudaApi* api_;
  void* ptr_ = nullptr;
};

class Check {
 public:
  explicit Check(const LmkitCudaApi* api) : api_(api) {}
  const LmkitCudaApi* api() const { return api_; }

  template <class T>
  Buffer* upload(const std::vector<T>& host) {
    buffers_.emplace_back(new Buffer(api_, sizeof(T) * (host.empty() ? 1 : host.size())));
    if (!host.empty()) call("upload", api_->copy(buffers_.back()->f(), host.data(), sizeof(T) * host.size(), kLmkitHostToDevice));
    return buffers_.back().get();
  }
  std::vector<float> download(const Buffer* b, size_t n);
  // Fails the case when a library call returned an error.
  void call(const char* what, int rc);
  // Frees the case's buffers.
  void endCase();

  // |got − want| ≤ atol + rtol·|want| elementwise; non-finite values must
  // match exactly (same infinity, NaN where NaN).
  void expectClose(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                   double atol, double rtol);
  // |got − want| ≤ bound[i] elementwise (a derived error bound, e.g. GEMM's).
  void expectWithin(const std::string& name, const std::vector<float>& got, const std::vector<float>& want,
                    const std::vector<float>& bound);
  void expectScalar(const std::string& name, double got, double want, double atol, double rtol);
  void expectBitwise(const std::string& name, const std::vector<float>& got, const std::vector<float>& want);

  int failures() const { return failures_; }
  int checks() const { return checks_; }

 private:
  void report(const std::string& name, bool ok, double maxError, double worstRatio, const std::string& note);
  const LmkitCudaApi* api_;
  std::vector<std::unique_ptr<Buffer>> buffers_;
  int failures_ = 0, checks_ = 0;
};

struct Case {
  const char* family;
  std::function<void(Check&)> run;
};
// Every kernel family's cases (kernel_cases.cpp).
std::vector<Case> allCases();

}  // namespace lmkit::check

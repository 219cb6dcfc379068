// Argument checking for the N-API layer: one helper, one message form.
//
// Every exported kernel reads its arguments through these functions, which
// throw a JS TypeError (wrong kind of value) or RangeError (right kind, bad
// value) naming the op and the argument, e.g.
//   gemm: expected a Float32Array for a but received Int32Array
//   attentionForward: q has 1536 elements, expected batch*heads*tq*headDim = 2048
// Only after every argument passed are kernels called, so a kernel never sees
// an out-of-bounds size. No N-API types leak below this layer.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lmkit::binding {

// Largest dimension / element count we accept: keeps every product of dims in
// int64 and every buffer within what a typed array can hold.
constexpr int64_t kMaxElements = int64_t{1} << 40;

template <class T>
struct View {
  T* data = nullptr;
  int64_t length = 0;
  bool device = false;  // a CudaArray: data is a device address
  // The byte range, for aliasing checks.
  const uint8_t* begin() const { return reinterpret_cast<const uint8_t*>(data); }
  const uint8_t* end() const { return reinterpret_cast<const uint8_t*>(data + length); }
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op, size_t expectedCount);

  Napi::Env env() const { return info_.Env(); }

  // Buffers may be typed arrays (CPU) or CudaArrays (CUDA); every buffer of
  // one call must be on the same device. True when they are on CUDA.
  bool onCuda() const { return device_ == 1; }
  // Throws the library's message as a JS Error when a CUDA call failed.
  void cudaCheck(int rc) const;

  View<float> f32(size_t index, const char* name);
  View<int32_t> i32(size_t index, const char* name);
  // null/undefined give an empty view (data == nullptr).
  View<float> optionalF32(size_t index, const char* name);
  View<int32_t> optionalI32(size_t index, const char* name);
  // A JS Array whose every element is a Float32Array (clipGradNorm's grads);
  // messages name the element, e.g. "grads[2]".
  std::vector<View<float>> f32List(size_t index, const char* name);

  // The options object at `index` (undefined means {}).
  Napi::Object options(size_t index);

  // Reads options.name: an integer in [minValue, kMaxElements].
  int64_t dim(const Napi::Object& opts, const char* name, int64_t minValue = 1);
  int64_t dimOr(const Napi::Object& opts, const char* name, int64_t fallback, int64_t minValue);
  // A finite number (NaN and ±Infinity rejected).
  double number(const Napi::Object& opts, const char* name, double fallback);
  double numberIn(const Napi::Object& opts, const char* name, double fallback, double lo, double hi);
  // A finite number that must be present (undefined is a TypeError).
  double requiredNumber(const Napi::Object& opts, const char* name);
  bool flag(const Napi::Object& opts, const char* name, bool fallback);
  std::string choice(const Napi::Object& opts, const char* name, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  // Typed-array members of the options object.
  View<float> optionalF32Option(const Napi::Object& opts, const char* name);
  View<int32_t> optionalI32Option(const Napi::Object& opts, const char* name);
  View<uint8_t> optionalU8Option(const Napi::Object& opts, const char* name);

  // Ints the host can read: the view itself on the CPU, a copy in `storage`
  // of a CUDA view (ids and targets are checked on the host either way).
  View<int32_t> hostReadable(const View<int32_t>& v, std::vector<int32_t>& storage);

  // Product of dims with overflow checks; `expr` names it in messages.
  int64_t product(std::initializer_list<int64_t> dims, const char* expr);

  template <class T>
  void expectLength(const View<T>& v, const char* name, int64_t expected, const char* expr) {
    if (v.length != expected) lengthError(name, v.length, expected, expr);
  }
  // Throws when an output's memory overlaps another argument's.
  template <class A, class B>
  void expectDisjoint(const View<A>& out, const char* outName, const View<B>& other,
                      const char* otherName) {
    if (out.data == nullptr || other.data == nullptr) return;
    if (out.begin() < other.end() && other.begin() < out.end()) overlapError(outName, otherName);
  }
  // Each output disjoint from every input and from the other outputs.
  using NamedF32 = std::pair<View<float>, const char*>;
  void expectAllDisjoint(std::initializer_list<NamedF32> outputs,
                         std::initializer_list<NamedF32> inputs) {
    for (auto o = outputs.begin(); o != outputs.end(); ++o) {
      for (const NamedF32& in : inputs) expectDisjoint(o->first, o->second, in.first, in.second);
      for (auto p = o + 1; p != outputs.end(); ++p)
        expectDisjoint(o->first, o->second, p->first, p->second);
    }
  }
  // Elementwise ops may write in place: out may be exactly `other`'s range,
  // but a partial overlap would read values already overwritten.
  template <class A, class B>
  void expectSameOrDisjoint(const View<A>& out, const char* outName, const View<B>& other,
                            const char* otherName) {
    if (out.begin() == other.begin() && out.end() == other.end()) return;
    expectDisjoint(out, outName, other, otherName);
  }

  [[noreturn]] void typeError(const std::string& message) const;
  [[noreturn]] void rangeError(const std::string& message) const;

 private:
  [[noreturn]] void lengthError(const char* name, int64_t got, int64_t expected, const char* expr) const;
  [[noreturn]] void overlapError(const char* outName, const char* otherName) const;
  template <class T>
  View<T> typedArray(const Napi::Value& value, napi_typedarray_type type, const char* typeName,
                     const char* name, bool optional, bool allowDevice = true);
  void noteDevice(bool device, const char* name);

  const Napi::CallbackInfo& info_;
  std::string op_;
  int device_ = -1;  // -1 no buffer seen yet, 0 CPU, 1 CUDA
  std::string firstBuffer_;
};

// Describes a JS value for messages: "Int32Array", "number 3.5", "undefined".
std::string describe(const Napi::Value& value);

}  // namespace lmkit::binding

// Argument checking for the N-API layer; see args.h.
#include "binding/args.h"

#include "binding/cuda_backend.h"
#include "binding/device_array.h"

#include <cmath>
#include <sstream>

namespace lmkit::binding {

std::string describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: return "typed array";
    }
  }
  if (value.IsArray()) return "Array";
  if (value.IsNumber()) {
    const double d = value.As<Napi::Number>().DoubleValue();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    std::ostringstream s;
    s << "number " << d;
    return s.str();
  }
  if (value.IsString()) return "string \"" + value.As<Napi::String>().Utf8Value().substr(0, 40) + "\"";
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? "true" : "false";
  if (value.IsBigInt()) return "bigint";
  if (value.IsFunction()) return "function";
  if (value.IsArrayBuffer()) return "ArrayBuffer";
  return "object";
}

Args::Args(const Napi::CallbackInfo& info, const char* op, size_t expectedCount)
    : info_(info), op_(op) {
  if (info.Length() < expectedCount - 1 || info.Length() > expectedCount) {
    std::ostringstream s;
    s << op_ << ": expected " << expectedCount << " arguments but received " << info.Length();
    typeError(s.str());
  }
}

void Args::typeError(const std::string& message) const {
  throw Napi::TypeError::New(info_.Env(), message);
}
void Args::rangeError(const std::string& message) const {
  throw Napi::RangeError::New(info_.Env(), message);
}

void Args::lengthError(const char* name, int64_t got, int64_t expected, const char* expr) const {
  std::ostringstream s;
  s << op_ << ": " << name << " has " << got << " elements, expected " << expr << " = " << expected;
  rangeError(s.str());
}

void Args::overlapError(const char* outName, const char* otherName) const {
  rangeError(op_ + ": " + outName + " overlaps " + otherName +
             " in memory; pass separate buffers (outputs are written while inputs are read)");
}

void Args::noteDevice(bool device, const char* name) {
  const int d = device ? 1 : 0;
  if (device_ == -1) {
    device_ = d;
    firstBuffer_ = name;
  } else if (device_ != d) {
    typeError(op_ + ": " + name + " is on " + (device ? "cuda" : "cpu") + " but " + firstBuffer_ + " is on " +
              (device ? "cpu" : "cuda") + "; every buffer of one call must be on the same device (move with .to())");
  }
}

void Args::cudaCheck(int rc) const { cuda::check(info_.Env(), rc); }

namespace {
constexpr napi_typedarray_type kDtypeOf[] = {napi_float32_array, napi_int32_array, napi_uint8_array};
}  // namespace

template <class T>
View<T> Args::typedArray(const Napi::Value& value, napi_typedarray_type type, const char* typeName,
                         const char* name, bool optional, bool allowDevice) {
  if (optional && (value.IsUndefined() || value.IsNull())) return {};
  CudaArray* device = nullptr;
  if (!value.IsTypedArray() && CudaArray::unwrap(value, &device)) {
    if (!allowDevice)
      typeError(op_ + ": expected a " + typeName + " in host memory for " + name + " but received a cuda " +
                dtypeName(device->dtype()) + " buffer");
    if (kDtypeOf[static_cast<int>(device->dtype())] != type)
      typeError(op_ + ": expected a " + typeName + " (or a cuda buffer of that type) for " + name +
                " but received a cuda " + dtypeName(device->dtype()) + " buffer");
    noteDevice(true, name);
    View<T> v;
    v.length = device->length();
    v.data = static_cast<T*>(device->data(info_.Env()));
    v.device = true;
    return v;
  }
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
    const char* article = typeName[0] == 'I' ? "an " : "a ";
    typeError(op_ + ": expected " + article + typeName + " for " + name + " but received " + describe(value));
  }
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (allowDevice) noteDevice(false, name);
  View<T> v;
  v.length = static_cast<int64_t>(array.ElementLength());
  // A detached buffer has length 0 and no data; a 0-length view is never read.
  v.data = v.length == 0 ? nullptr
                         : reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) +
                                                array.ByteOffset());
  return v;
}

View<float> Args::f32(size_t index, const char* name) {
  return typedArray<float>(info_[index], napi_float32_array, "Float32Array", name, false);
}
View<int32_t> Args::i32(size_t index, const char* name) {
  return typedArray<int32_t>(info_[index], napi_int32_array, "Int32Array", name, false);
}
View<float> Args::optionalF32(size_t index, const char* name) {
  return typedArray<float>(info_[index], napi_float32_array, "Float32Array or null", name, true);
}
View<int32_t> Args::optionalI32(size_t index, const char* name) {
  return typedArray<int32_t>(info_[index], napi_int32_array, "Int32Array or null", name, true);
}

std::vector<View<float>> Args::f32List(size_t index, const char* name) {
  Napi::Value v = info_[index];
  if (!v.IsArray())
    typeError(op_ + ": expected an Array of Float32Array for " + name + " but received " + describe(v));
  Napi::Array array = v.As<Napi::Array>();
  std::vector<View<float>> views;
  views.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string element = std::string(name) + "[" + std::to_string(i) + "]";
    views.push_back(typedArray<float>(array.Get(i), napi_float32_array, "Float32Array", element.c_str(), false));
  }
  return views;
}

Napi::Object Args::options(size_t index) {
  Napi::Value v = info_[index];
  if (v.IsUndefined()) return Napi::Object::New(info_.Env());
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray() || v.IsFunction())
    typeError(op_ + ": expected an options object for argument " + std::to_string(index + 1) +
              " but received " + describe(v));
  return v.As<Napi::Object>();
}

int64_t Args::dim(const Napi::Object& opts, const char* name, int64_t minValue) {
  Napi::Value v = opts.Get(name);
  const char* kind = minValue >= 1 ? "a positive integer" : "a non-negative integer";
  if (!v.IsNumber())
    typeError(op_ + ": expected " + kind + " for " + name + " but received " + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(minValue) ||
      d > static_cast<double>(kMaxElements))
    rangeError(op_ + ": expected " + kind + " for " + name + " but received " + describe(v));
  return static_cast<int64_t>(d);
}

int64_t Args::dimOr(const Napi::Object& opts, const char* name, int64_t fallback, int64_t minValue) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined()) return fallback;
  return dim(opts, name, minValue);
}

double Args::number(const Napi::Object& opts, const char* name, double fallback) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber())
    typeError(op_ + ": expected a finite number for " + name + " but received " + describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d))
    rangeError(op_ + ": expected a finite number for " + name + " but received " + describe(v));
  return d;
}

double Args::requiredNumber(const Napi::Object& opts, const char* name) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined())
    typeError(op_ + ": expected a finite number for " + name + " but received undefined (it has no default)");
  return number(opts, name, 0.0);
}

double Args::numberIn(const Napi::Object& opts, const char* name, double fallback, double lo,
                      double hi) {
  const double d = number(opts, name, fallback);
  if (d < lo || d > hi) {
    std::ostringstream s;
    s << op_ << ": expected a number in [" << lo << ", " << hi << "] for " << name
      << " but received " << d;
    rangeError(s.str());
  }
  return d;
}

bool Args::flag(const Napi::Object& opts, const char* name, bool fallback) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsBoolean())
    typeError(op_ + ": expected a boolean for " + name + " but received " + describe(v));
  return v.As<Napi::Boolean>().Value();
}

std::string Args::choice(const Napi::Object& opts, const char* name, const std::string& fallback,
                         const std::vector<std::string>& allowed) {
  Napi::Value v = opts.Get(name);
  if (v.IsUndefined()) return fallback;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "'" : ", '") + a + "'";
  if (!v.IsString())
    typeError(op_ + ": expected one of " + list + " for " + name + " but received " + describe(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  for (const auto& a : allowed)
    if (a == s) return s;
  rangeError(op_ + ": expected one of " + list + " for " + name + " but received " + describe(v));
}

View<float> Args::optionalF32Option(const Napi::Object& opts, const char* name) {
  return typedArray<float>(opts.Get(name), napi_float32_array, "Float32Array", name, true);
}

View<int32_t> Args::optionalI32Option(const Napi::Object& opts, const char* name) {
  // Per-batch lengths (attention) are read on the host by every backend.
  return typedArray<int32_t>(opts.Get(name), napi_int32_array, "Int32Array", name, true, false);
}

View<uint8_t> Args::optionalU8Option(const Napi::Object& opts, const char* name) {
  return typedArray<uint8_t>(opts.Get(name), napi_uint8_array, "Uint8Array", name, true);
}

View<int32_t> Args::hostReadable(const View<int32_t>& v, std::vector<int32_t>& storage) {
  if (!v.device || v.length == 0) return v;
  storage.resize(static_cast<size_t>(v.length));
  cudaCheck(cuda::api()->copy(storage.data(), v.data, sizeof(int32_t) * storage.size(), kLmkitDeviceToHost));
  View<int32_t> h;
  h.data = storage.data();
  h.length = v.length;
  return h;
}

int64_t Args::product(std::initializer_list<int64_t> dims, const char* expr) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d != 0 && p > kMaxElements / d) {
      rangeError(op_ + ": " + expr + " is too large (more than 2^40 elements); use smaller dimensions");
    }
    p *= d;
  }
  return p;
}

}  // namespace lmkit::binding

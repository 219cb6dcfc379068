// CudaArray: a typed view of device memory for JS (float32, int32 or uint8),
// the device twin of a typed array. Views made by subarray() share one
// allocation, which goes back to the caching allocator when the last view is
// garbage-collected or disposed; V8 is told about the device bytes
// (AdjustExternalMemory), so it collects sooner under device pressure.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>

namespace lmkit::binding {

enum class DType { F32, I32, U8 };
const char* dtypeName(DType d);
size_t dtypeBytes(DType d);

// The allocation behind one or more views.
struct DeviceAllocation {
  void* ptr = nullptr;
  size_t bytes = 0;
  ~DeviceAllocation();
};

class CudaArray : public Napi::ObjectWrap<CudaArray> {
 public:
  static void init(Napi::Env env, Napi::Object exports);
  // Whether `value` is a CudaArray; when so, *out is it.
  static bool unwrap(const Napi::Value& value, CudaArray** out);
  static Napi::Object create(Napi::Env env, std::shared_ptr<DeviceAllocation> alloc, size_t byteOffset,
                             int64_t length, DType dtype);

  explicit CudaArray(const Napi::CallbackInfo& info);
  ~CudaArray() override;

  // Device address of element 0; throws a JS error after dispose().
  void* data(Napi::Env env) const;
  int64_t length() const { return length_; }
  DType dtype() const { return dtype_; }

 private:
  Napi::Value Length(const Napi::CallbackInfo& info);
  Napi::Value Dtype(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);
  Napi::Value Subarray(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<DeviceAllocation> alloc_;
  size_t byteOffset_ = 0;
  int64_t length_ = 0;
  DType dtype_ = DType::F32;
  Napi::Env env_;
};

}  // namespace lmkit::binding

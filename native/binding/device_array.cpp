// CudaArray (see device_array.h) and the transfer entries of the addon:
//   cudaAlloc(dtype, length, zero)   → CudaArray
//   cudaUpload(typedArray)           → CudaArray holding a copy
//   cudaDownload(src, typedArray)    host ← device, same length and dtype
//   cudaCopy(dst, src)               device ← device
//   cudaFill(dst, value)             float32 fill
//   cudaScale(x, out, alpha)         out = alpha·x (float32)
//   cudaMemoryStats(), cudaEmptyCache(), cudaSynchronize()
#include "binding/device_array.h"

#include "binding/args.h"
#include "binding/cuda_backend.h"
#include "binding/registry.h"

namespace lmkit::binding {
namespace {


// Set by create() so the constructor knows it is not called from JS.
thread_local struct Pending {
  std::shared_ptr<DeviceAllocation> alloc;
  size_t byteOffset;
  int64_t length;
  DType dtype;
  bool active = false;
} tlPending;

const LmkitCudaApi& requireApi(Napi::Env env, const char* op) {
  const LmkitCudaApi* api = cuda::api();
  if (!api) {
    Napi::Error e = Napi::Error::New(env, std::string(op) +
                                              ": the CUDA backend is not available; see lmkit.backendInfo().cuda.reason");
    e.Set("code", Napi::String::New(env, "ERR_LMKIT_CUDA_UNAVAILABLE"));
    throw e;
  }
  return *api;
}

bool parseDtype(const Napi::Value& v, DType* out) {
  if (!v.IsString()) return false;
  const std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "float32") *out = DType::F32;
  else if (s == "int32") *out = DType::I32;
  else if (s == "uint8") *out = DType::U8;
  else return false;
  return true;
}

// A host typed array of a supported dtype.
bool hostArray(const Napi::Value& v, DType* dtype, void** data, int64_t* length) {
  if (!v.IsTypedArray()) return false;
  Napi::TypedArray a = v.As<Napi::TypedArray>();
  switch (a.TypedArrayType()) {
    case napi_float32_array: *dtype = DType::F32; break;
    case napi_int32_array: *dtype = DType::I32; break;
    case napi_uint8_array: *dtype = DType::U8; break;
    default: return false;
  }
  *data = static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  *length = static_cast<int64_t>(a.ElementLength());
  return true;
}

std::shared_ptr<DeviceAllocation> allocate(Napi::Env env, const LmkitCudaApi& api, size_t bytes) {
  auto alloc = std::make_shared<DeviceAllocation>();
  cuda::check(env, api.malloc(&alloc->ptr, bytes));
  alloc->bytes = bytes;
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  return alloc;
}

CudaArray* argArray(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  CudaArray* a = nullptr;
  if (!CudaArray::unwrap(info[i], &a))
    throw Napi::TypeError::New(info.Env(), std::string(op) + ": expected a CudaArray for " + name + " but received " +
                                               describe(info[i]));
  return a;
}

}  // namespace

const char* dtypeName(DType d) { return d == DType::F32 ? "float32" : d == DType::I32 ? "int32" : "uint8"; }
size_t dtypeBytes(DType d) { return d == DType::U8 ? 1 : 4; }

DeviceAllocation::~DeviceAllocation() {
  if (const LmkitCudaApi* api = cuda::api()) api->free(ptr);
}

void CudaArray::init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "CudaArray",
                                    {InstanceAccessor<&CudaArray::Length>("length"),
                                     InstanceAccessor<&CudaArray::Dtype>("dtype"),
                                     InstanceAccessor<&CudaArray::Disposed>("disposed"),
                                     InstanceMethod<&CudaArray::Subarray>("subarray"),
                                     InstanceMethod<&CudaArray::Dispose>("dispose")});
  // Per environment (each worker thread loads the addon anew).
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(ctor)));
  exports.Set("CudaArray", ctor);
}

bool CudaArray::unwrap(const Napi::Value& value, CudaArray** out) {
  if (!value.IsObject()) return false;
  Napi::FunctionReference* ctor = value.Env().GetInstanceData<Napi::FunctionReference>();
  if (!ctor) return false;
  Napi::Object o = value.As<Napi::Object>();
  if (!o.InstanceOf(ctor->Value())) return false;
  *out = Napi::ObjectWrap<CudaArray>::Unwrap(o);
  return *out != nullptr;
}

Napi::Object CudaArray::create(Napi::Env env, std::shared_ptr<DeviceAllocation> alloc, size_t byteOffset,
                               int64_t length, DType dtype) {
  tlPending = {std::move(alloc), byteOffset, length, dtype, true};
  Napi::Object o = env.GetInstanceData<Napi::FunctionReference>()->New({});
  tlPending = {};
  return o;
}

CudaArray::CudaArray(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaArray>(info), env_(info.Env()) {
  if (!tlPending.active)
    throw Napi::TypeError::New(info.Env(), "CudaArray: not constructible from JS; use lmkit's toDevice()/cudaAlloc");
  alloc_ = tlPending.alloc;
  byteOffset_ = tlPending.byteOffset;
  length_ = tlPending.length;
  dtype_ = tlPending.dtype;
}

CudaArray::~CudaArray() {
  // The last view of an allocation tells V8 its bytes are gone.
  if (alloc_ && alloc_.use_count() == 1)
    Napi::MemoryManagement::AdjustExternalMemory(env_, -static_cast<int64_t>(alloc_->bytes));
}

void* CudaArray::data(Napi::Env env) const {
  if (!alloc_) throw Napi::Error::New(env, "CudaArray: used after dispose()");
  return static_cast<uint8_t*>(alloc_->ptr) + byteOffset_;
}

Napi::Value CudaArray::Length(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(length_));
}
Napi::Value CudaArray::Dtype(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtypeName(dtype_)); }
Napi::Value CudaArray::Disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !alloc_); }

// subarray(begin, end): elements [begin, end) as a view of the same memory.
Napi::Value CudaArray::Subarray(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  data(env);
  const double begin = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  const double end = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue()
                                                              : static_cast<double>(length_);
  if (!(begin >= 0 && end >= begin && end <= static_cast<double>(length_) && begin == static_cast<int64_t>(begin) &&
        end == static_cast<int64_t>(end)))
    throw Napi::RangeError::New(env, "CudaArray.subarray: [" + std::to_string(begin) + ", " + std::to_string(end) +
                                         ") is not an integer range inside [0, " + std::to_string(length_) + ")");
  return create(env, alloc_, byteOffset_ + static_cast<size_t>(begin) * dtypeBytes(dtype_),
                static_cast<int64_t>(end - begin), dtype_);
}

// dispose(): this view lets go of its memory now (the allocation is freed
// when no view holds it); any later use throws.
Napi::Value CudaArray::Dispose(const Napi::CallbackInfo& info) {
  if (alloc_ && alloc_.use_count() == 1)
    Napi::MemoryManagement::AdjustExternalMemory(env_, -static_cast<int64_t>(alloc_->bytes));
  alloc_.reset();
  return info.Env().Undefined();
}

namespace {

Napi::Value CudaAlloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaAlloc");
  DType dtype;
  if (info.Length() < 2 || !parseDtype(info[0], &dtype))
    throw Napi::TypeError::New(env, "cudaAlloc: expected one of 'float32', 'int32', 'uint8' for dtype but received " +
                                        describe(info[0]));
  const double n = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : -1;
  if (!(n >= 0 && n <= static_cast<double>(kMaxElements) && n == static_cast<double>(static_cast<int64_t>(n))))
    throw Napi::RangeError::New(env, "cudaAlloc: expected a non-negative integer for length but received " + describe(info[1]));
  const size_t bytes = static_cast<size_t>(n) * dtypeBytes(dtype);
  auto alloc = allocate(env, api, bytes);
  if (info.Length() > 2 && info[2].ToBoolean().Value() && bytes) cuda::check(env, api.memset(alloc->ptr, 0, bytes));
  return CudaArray::create(env, alloc, 0, static_cast<int64_t>(n), dtype);
}

Napi::Value CudaUpload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaUpload");
  DType dtype;
  void* data;
  int64_t length;
  if (info.Length() < 1 || !hostArray(info[0], &dtype, &data, &length))
    throw Napi::TypeError::New(env, "cudaUpload: expected a Float32Array, Int32Array or Uint8Array but received " +
                                        describe(info[0]));
  const size_t bytes = static_cast<size_t>(length) * dtypeBytes(dtype);
  auto alloc = allocate(env, api, bytes);
  if (bytes) cuda::check(env, api.copy(alloc->ptr, data, bytes, kLmkitHostToDevice));
  return CudaArray::create(env, alloc, 0, length, dtype);
}

Napi::Value CudaDownload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaDownload");
  CudaArray* src = argArray(info, 0, "cudaDownload", "src");
  DType dtype;
  void* data;
  int64_t length;
  if (info.Length() < 2 || !hostArray(info[1], &dtype, &data, &length) || dtype != src->dtype() ||
      length != src->length())
    throw Napi::TypeError::New(env, std::string("cudaDownload: expected a host array of ") +
                                        std::to_string(src->length()) + " " + dtypeName(src->dtype()) +
                                        " elements for dst but received " + describe(info[1]));
  if (length) cuda::check(env, api.copy(data, src->data(env), static_cast<size_t>(length) * dtypeBytes(dtype), kLmkitDeviceToHost));
  return env.Undefined();
}

Napi::Value CudaCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaCopy");
  CudaArray* dst = argArray(info, 0, "cudaCopy", "dst");
  CudaArray* src = argArray(info, 1, "cudaCopy", "src");
  if (dst->dtype() != src->dtype() || dst->length() != src->length())
    throw Napi::RangeError::New(env, std::string("cudaCopy: dst is ") + std::to_string(dst->length()) + " " +
                                         dtypeName(dst->dtype()) + ", src is " + std::to_string(src->length()) + " " +
                                         dtypeName(src->dtype()));
  if (dst->length())
    cuda::check(env, api.copy(dst->data(env), src->data(env), static_cast<size_t>(dst->length()) * dtypeBytes(dst->dtype()),
                              kLmkitDeviceToDevice));
  return env.Undefined();
}

Napi::Value CudaFill(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaFill");
  CudaArray* dst = argArray(info, 0, "cudaFill", "dst");
  if (dst->dtype() != DType::F32 || info.Length() < 2 || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "cudaFill: expected a float32 CudaArray and a number");
  cuda::check(env, api.fill(static_cast<float*>(dst->data(env)), info[1].As<Napi::Number>().FloatValue(), dst->length()));
  return env.Undefined();
}

Napi::Value CudaScale(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaScale");
  CudaArray* x = argArray(info, 0, "cudaScale", "x");
  CudaArray* out = argArray(info, 1, "cudaScale", "out");
  if (x->dtype() != DType::F32 || out->dtype() != DType::F32 || x->length() != out->length() || info.Length() < 3 ||
      !info[2].IsNumber())
    throw Napi::TypeError::New(env, "cudaScale: expected float32 CudaArrays x and out of one length, and a number alpha");
  cuda::check(env, api.scale(static_cast<float*>(out->data(env)), static_cast<const float*>(x->data(env)),
                             info[2].As<Napi::Number>().FloatValue(), x->length()));
  return env.Undefined();
}

Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const LmkitCudaApi& api = requireApi(env, "cudaMemoryStats");
  LmkitCudaMemoryStats s{};
  cuda::check(env, api.memoryStats(&s));
  Napi::Object o = Napi::Object::New(env);
  o.Set("allocatedBytes", static_cast<double>(s.allocatedBytes));
  o.Set("reservedBytes", static_cast<double>(s.reservedBytes));
  o.Set("peakAllocatedBytes", static_cast<double>(s.peakAllocatedBytes));
  o.Set("allocations", static_cast<double>(s.allocations));
  o.Set("cacheHits", static_cast<double>(s.cacheHits));
  o.Set("deviceMallocs", static_cast<double>(s.deviceMallocs));
  return o;
}

Napi::Value CudaEmptyCache(const Napi::CallbackInfo& info) {
  cuda::check(info.Env(), requireApi(info.Env(), "cudaEmptyCache").emptyCache());
  return info.Env().Undefined();
}

Napi::Value CudaSynchronize(const Napi::CallbackInfo& info) {
  cuda::check(info.Env(), requireApi(info.Env(), "cudaSynchronize").synchronize());
  return info.Env().Undefined();
}

}  // namespace

void registerDevice(Napi::Env env, Napi::Object exports) {
  CudaArray::init(env, exports);
  exports.Set("cudaAlloc", Napi::Function::New(env, CudaAlloc, "cudaAlloc"));
  exports.Set("cudaUpload", Napi::Function::New(env, CudaUpload, "cudaUpload"));
  exports.Set("cudaDownload", Napi::Function::New(env, CudaDownload, "cudaDownload"));
  exports.Set("cudaCopy", Napi::Function::New(env, CudaCopy, "cudaCopy"));
  exports.Set("cudaFill", Napi::Function::New(env, CudaFill, "cudaFill"));
  exports.Set("cudaScale", Napi::Function::New(env, CudaScale, "cudaScale"));
  exports.Set("cudaMemoryStats", Napi::Function::New(env, CudaMemoryStats, "cudaMemoryStats"));
  exports.Set("cudaEmptyCache", Napi::Function::New(env, CudaEmptyCache, "cudaEmptyCache"));
  exports.Set("cudaSynchronize", Napi::Function::New(env, CudaSynchronize, "cudaSynchronize"));
}

}  // namespace lmkit::binding

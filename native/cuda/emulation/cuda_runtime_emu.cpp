// The CUDA runtime API subset of cuda_emu.h, over host memory.
//
// One emulated device ("lmkit CPU emulation", compute capability 8.0) whose
// memory is the host heap, capped at LMKIT_EMU_DEVICE_MEMORY bytes (default
// 4 GiB) so out-of-memory paths can be tested. Every allocation is recorded:
// copies check that the pointers on the device side lie inside a live
// allocation (a host pointer passed as a device one fails with
// cudaErrorInvalidValue, as a real copy of the wrong kind would), and fresh
// allocations are filled with NaN bytes, as cudaMalloc returns garbage.
// Streams run synchronously: a launch or copy is done when its call returns.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "cuda/emulation/cuda_emu.h"

struct CUstream_st {
  int unused;
};

namespace {

struct DeviceHeap {
  std::mutex mutex;
  std::map<uintptr_t, size_t> allocations;  // start → bytes
  size_t used = 0;
  size_t capacity = size_t{4} << 30;
  DeviceHeap() {
    if (const char* env = std::getenv("LMKIT_EMU_DEVICE_MEMORY")) {
      const unsigned long long v = std::strtoull(env, nullptr, 10);
      if (v > 0) capacity = static_cast<size_t>(v);
    }
  }
  // Whether [p, p + bytes) lies in one live allocation.
  bool contains(const void* p, size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex);
    const uintptr_t a = reinterpret_cast<uintptr_t>(p);
    auto it = allocations.upper_bound(a);
    if (it == allocations.begin()) return false;
    --it;
    return a >= it->first && a + bytes <= it->first + it->second;
  }
};

DeviceHeap& heap() {
  static DeviceHeap h;
  return h;
}

thread_local cudaError_t tlLastError = cudaSuccess;
thread_local std::string tlLastMessage;

cudaError_t fail(cudaError_t e) {
  tlLastError = e;
  return e;
}

bool deviceSide(const void* p, size_t bytes) { return bytes == 0 || heap().contains(p, bytes); }

}  // namespace

cudaError_t lmkitEmuSetLaunchError(cudaError_t error, const std::string& message) {
  tlLastMessage = message;
  return fail(error);
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, "lmkit CPU emulation", sizeof prop->name - 1);
  prop->totalGlobalMem = heap().capacity;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->major = 8;
  prop->minor = 0;
  prop->multiProcessorCount = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr, int device) {
  if (device != 0) return fail(cudaErrorInvalidDevice);
  *value = 0;  // no meaningful clock: peak estimates are not made for the emulator
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }

cudaError_t cudaDriverGetVersion(int* version) {
  *version = 0;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = 0;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  *ptr = nullptr;
  DeviceHeap& h = heap();
  std::lock_guard<std::mutex> lock(h.mutex);
  const size_t rounded = (bytes + 255) / 256 * 256;
  if (rounded > h.capacity - h.used) return fail(cudaErrorMemoryAllocation);
  void* p = std::aligned_alloc(256, rounded == 0 ? 256 : rounded);
  if (!p) return fail(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, rounded == 0 ? 256 : rounded);
  h.allocations[reinterpret_cast<uintptr_t>(p)] = rounded == 0 ? 256 : rounded;
  h.used += rounded == 0 ? 256 : rounded;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  DeviceHeap& h = heap();
  std::lock_guard<std::mutex> lock(h.mutex);
  auto it = h.allocations.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == h.allocations.end()) return fail(cudaErrorInvalidValue);
  h.used -= it->second;
  h.allocations.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  const bool srcDevice = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  const bool dstDevice = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  if ((srcDevice && !deviceSide(src, bytes)) || (dstDevice && !deviceSide(dst, bytes)))
    return lmkitEmuSetLaunchError(cudaErrorInvalidValue, "cudaMemcpy: a device-side pointer is not inside a live device allocation");
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t) {
  if (!deviceSide(dst, bytes))
    return lmkitEmuSetLaunchError(cudaErrorInvalidValue, "cudaMemsetAsync: the pointer is not inside a live device allocation");
  if (bytes) std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  DeviceHeap& h = heap();
  std::lock_guard<std::mutex> lock(h.mutex);
  *free = h.capacity - h.used;
  *total = h.capacity;
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned) {
  *stream = new CUstream_st{0};
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetLastError() {
  const cudaError_t e = tlLastError;
  tlLastError = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return tlLastError; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  // The detailed message of the last emulated fault, when it is this error.
  if (error != cudaSuccess && error == cudaErrorLaunchFailure && !tlLastMessage.empty()) return tlLastMessage.c_str();
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return tlLastMessage.empty() ? "invalid argument" : tlLastMessage.c_str();
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return tlLastMessage.empty() ? "invalid configuration argument" : tlLastMessage.c_str();
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

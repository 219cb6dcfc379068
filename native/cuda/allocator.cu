// The caching device allocator (see allocator.h for the policy).
#include "cuda/allocator.h"

#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cuda/cuda_compat.h"

namespace lmkit::cuda {
namespace {

struct State {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> free;  // class size → cached blocks
  std::unordered_map<void*, size_t> live;     // block → class size
  LmkitCudaMemoryStats stats{0, 0, 0, 0, 0, 0};
};

State& state() {
  static State* s = new State;  // never destroyed: frees may come from finalizers at exit
  return *s;
}

int releaseCacheLocked(State& s) {
  int error = 0;
  for (auto& [size, blocks] : s.free) {
    for (void* p : blocks) {
      const cudaError_t e = cudaFree(p);
      if (e != cudaSuccess) error = e;
      s.stats.reservedBytes -= static_cast<int64_t>(size);
    }
    blocks.clear();
  }
  s.free.clear();
  return error;
}

std::string mib(int64_t bytes) { return std::to_string((bytes + (1 << 19)) >> 20) + " MiB"; }

}  // namespace

size_t roundedSize(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kSmall = size_t{1} << 20;
  if (bytes <= kSmall) return (bytes + 511) / 512 * 512;
  size_t power = kSmall;
  while (power * 2 < bytes) power *= 2;
  const size_t step = power / 4;
  return (bytes + step - 1) / step * step;
}

void* allocate(size_t bytes, std::string* error) {
  State& s = state();
  const size_t size = roundedSize(bytes);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.stats.allocations++;
  void* p = nullptr;
  auto it = s.free.find(size);
  if (it != s.free.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    s.stats.cacheHits++;
  } else {
    cudaError_t e = cudaMalloc(&p, size);
    if (e != cudaSuccess) {
      cudaGetLastError();  // not sticky: clear it before retrying
      releaseCacheLocked(s);
      e = cudaMalloc(&p, size);
    }
    if (e != cudaSuccess) {
      cudaGetLastError();
      size_t freeBytes = 0, totalBytes = 0;
      cudaMemGetInfo(&freeBytes, &totalBytes);
      cudaGetLastError();
      *error = "CUDA out of memory: tried to allocate " + mib(static_cast<int64_t>(size)) + " (" +
               std::to_string(bytes) + " bytes); lmkit holds " + mib(s.stats.allocatedBytes) +
               " in live tensors, the device has " + mib(static_cast<int64_t>(freeBytes)) + " free of " +
               mib(static_cast<int64_t>(totalBytes)) +
               ". Free tensors you no longer need (tensor.dispose()), or use smaller batches";
      return nullptr;
    }
    s.stats.deviceMallocs++;
    s.stats.reservedBytes += static_cast<int64_t>(size);
  }
  s.live[p] = size;
  s.stats.allocatedBytes += static_cast<int64_t>(size);
  if (s.stats.allocatedBytes > s.stats.peakAllocatedBytes) s.stats.peakAllocatedBytes = s.stats.allocatedBytes;
  return p;
}

bool release(void* ptr) {
  if (!ptr) return true;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.live.find(ptr);
  if (it == s.live.end()) return false;
  s.free[it->second].push_back(ptr);
  s.stats.allocatedBytes -= static_cast<int64_t>(it->second);
  s.live.erase(it);
  return true;
}

int emptyCache() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return releaseCacheLocked(s);
}

LmkitCudaMemoryStats memoryStats() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.stats;
}

}  // namespace lmkit::cuda

// Self-test of the emulation harness: the semantics the kernels rely on
// (shuffle source-lane rules with sub-warp widths, votes, block reductions,
// barrier predicates, atomics, dynamic shared memory) against values worked
// out on the host from the CUDA programming guide's definitions, and the
// faults it must report instead of hanging (divergent barrier, a warp
// collective missing a lane, a shuffle from a lane that does not exist, a
// bad launch configuration, host pointers passed as device ones, an
// exhausted device). One JSON line per check, like lmkit_cuda_check.
#include <cstdio>
#include <string>
#include <vector>

#include "cuda/common.cuh"

namespace {

int failures = 0, checks = 0;

void report(const std::string& name, bool ok, const std::string& note = "") {
  checks++;
  if (!ok) failures++;
  std::printf("{\"check\":\"emulation: %s\",\"ok\":%s,\"maxError\":0,\"ratio\":0%s}\n", name.c_str(), ok ? "true" : "false",
              note.empty() ? "" : (",\"note\":\"" + note + "\"").c_str());
}

template <class T>
T* deviceArray(size_t n) {
  void* p = nullptr;
  cudaMalloc(&p, sizeof(T) * n);
  cudaMemsetAsync(p, 0, sizeof(T) * n);
  return static_cast<T*>(p);
}

__global__ void shuffleKernel(int* out) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  int* o = out + (warp * 32 + lane) * 8;
  const int v = 100 * warp + lane;
  o[0] = __shfl_xor_sync(0xffffffffu, v, 5);
  o[1] = __shfl_xor_sync(0xffffffffu, v, 12, 8);  // 12 ^ lane leaves an 8-lane segment upward for some lanes
  o[2] = __shfl_down_sync(0xffffffffu, v, 3, 16);
  o[3] = __shfl_up_sync(0xffffffffu, v, 2, 8);
  o[4] = __shfl_sync(0xffffffffu, v, 5, 8);
  o[5] = static_cast<int>(__ballot_sync(0xffffffffu, lane % 3 == 0));
  o[6] = __any_sync(0xffffffffu, lane == 17) + 2 * __all_sync(0xffffffffu, lane < 31);
  o[7] = static_cast<int>(lmkit::cuda::warpSum(static_cast<float>(v)));
}

int hostShuffle(int kind, int lane, int warp) {
  auto value = [&](int l) { return 100 * warp + l; };
  switch (kind) {
    case 0: return value(lane ^ 5);
    case 1: {
      const int src = lane ^ 12;
      return src / 8 > lane / 8 ? value(lane) : value(src);
    }
    case 2: return (lane % 16) + 3 < 16 ? value(lane + 3) : value(lane);
    case 3: return (lane % 8) >= 2 ? value(lane - 2) : value(lane);
    case 4: return value((lane / 8) * 8 + 5);
    case 5: return static_cast<int>(0x49249249u);  // bits 0, 3, 6, …, 30
    case 6: return 1;                              // any: yes; all: lane 31 fails
    default: {
      int s = 0;
      for (int l = 0; l < 32; ++l) s += value(l);
      return s;
    }
  }
}

__global__ void reduceKernel(float* sum, int* counts) {
  __shared__ float scratch[32];
  const float total = lmkit::cuda::blockSum(static_cast<float>(threadIdx.x), scratch);
  const int count = __syncthreads_count(threadIdx.x % 4 == 0);
  const int any = __syncthreads_or(threadIdx.x == 777);
  if (threadIdx.x == 0) {
    *sum = total;
    counts[0] = count;
    counts[1] = any;
  }
}

__global__ void atomicKernel(float* f, int* i) {
  atomicAdd(f, 0.5f);
  atomicAdd(i, 1);
  atomicMax(i + 1, static_cast<int>(threadIdx.x + 1000 * blockIdx.x));
}

__global__ void dynamicSharedKernel(int* nanCount) {
  LMKIT_DYNAMIC_SHARED(float, smem);
  const float before = smem[threadIdx.x];
  __syncthreads();
  smem[threadIdx.x] = 1.0f;
  if (before != before) atomicAdd(nanCount, 1);
}

// A missing barrier: each thread reads its neighbour's slot right after writing its own.
__global__ void racyKernel(int* out) {
  __shared__ int slots[256];
  slots[threadIdx.x] = static_cast<int>(threadIdx.x) + 1;
  // (the __syncthreads() that belongs here is missing)
  out[threadIdx.x] = slots[(threadIdx.x + 64) % 256];
}

__global__ void divergentBarrierKernel(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  out[threadIdx.x] = 1;
}

__global__ void missingLaneKernel(int* out) {
  if (threadIdx.x % 32 != 3) out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 1);
}

__global__ void absentLaneKernel(int* out) { out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1, 16); }

__global__ void noopKernel(int*) {}

std::string lastFault(cudaError_t expected) {
  const cudaError_t e = cudaGetLastError();
  if (e != expected) return "";
  return cudaGetErrorString(e);
}

}  // namespace

int main() {
  using lmkit::cuda::launch;
  int* shuffled = deviceArray<int>(64 * 8);
  launch("shuffle", shuffleKernel, 1, 64, 0, nullptr, shuffled);
  const char* kinds[8] = {"__shfl_xor_sync", "__shfl_xor_sync width 8", "__shfl_down_sync width 16",
                          "__shfl_up_sync width 8", "__shfl_sync width 8", "__ballot_sync", "__any_sync/__all_sync",
                          "warpSum"};
  for (int kind = 0; kind < 8; ++kind) {
    bool ok = true;
    for (int t = 0; t < 64; ++t) ok = ok && shuffled[t * 8 + kind] == hostShuffle(kind, t % 32, t / 32);
    report(kinds[kind], ok);
  }

  float* sum = deviceArray<float>(1);
  int* counts = deviceArray<int>(2);
  launch("reduce", reduceKernel, 1, 1024, 0, nullptr, sum, counts);
  report("blockSum over 1024 threads", *sum == 1023.0f * 1024.0f / 2.0f);
  report("__syncthreads_count / __syncthreads_or", counts[0] == 256 && counts[1] == 1);

  float* fsum = deviceArray<float>(1);
  int* isum = deviceArray<int>(2);
  launch("atomics", atomicKernel, 3, 96, 0, nullptr, fsum, isum);
  report("atomicAdd/atomicMax across blocks", *fsum == 144.0f && isum[0] == 288 && isum[1] == 2095);

  int* nanCount = deviceArray<int>(1);
  launch("dynamicShared", dynamicSharedKernel, 2, 64, 64 * sizeof(float), nullptr, nanCount);
  report("dynamic shared memory starts as NaN in every block", *nanCount == 128);

  int* racy = deviceArray<int>(256);
  launch("racy", racyKernel, 1, 256, 0, nullptr, racy);
  int stale = 0;
  for (int t = 0; t < 256; ++t) stale += racy[t] != (t + 64) % 256 + 1;
  report("a missing __syncthreads shows as stale reads (shuffled scheduling)", stale > 0,
         std::to_string(stale) + " of 256 reads stale");

  int* scratch = deviceArray<int>(64);
  cudaGetLastError();
  launch("divergentBarrier", divergentBarrierKernel, 1, 64, 0, nullptr, scratch);
  std::string fault = lastFault(cudaErrorLaunchFailure);
  report("a barrier reached by part of the block fails the launch", fault.find("__syncthreads") != std::string::npos, fault);

  launch("missingLane", missingLaneKernel, 1, 64, 0, nullptr, scratch);
  fault = lastFault(cudaErrorLaunchFailure);
  report("a warp collective missing a live lane fails the launch", !fault.empty(), fault);

  launch("absentLane", absentLaneKernel, 1, 40, 0, nullptr, scratch);
  fault = lastFault(cudaErrorLaunchFailure);
  report("a shuffle from a lane past blockDim fails the launch", fault.find("does not exist") != std::string::npos, fault);

  launch("tooBig", noopKernel, 1, 2048, 0, nullptr, scratch);
  report("a block of 2048 threads is an invalid configuration", cudaGetLastError() == cudaErrorInvalidConfiguration);

  int host[4];
  report("a host pointer passed as device memory is refused",
         cudaMemcpy(host, host + 2, 8, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  cudaGetLastError();
  size_t freeBytes = 0, total = 0;
  cudaMemGetInfo(&freeBytes, &total);
  void* huge = nullptr;
  report("an allocation beyond the emulated device memory fails", cudaMalloc(&huge, total + 1) == cudaErrorMemoryAllocation && !huge);
  cudaGetLastError();

  std::printf("{\"summary\":true,\"checks\":%d,\"failures\":%d}\n", checks, failures);
  return failures == 0 ? 0 : 1;
}

// CPU emulation of the CUDA subset lmkit's kernels use, so the same .cu
// sources compile with g++ and run in the ordinary test suite.
//
// Execution model. A launch runs its blocks one after another on the calling
// OS thread. The threads of a block are fibers (one stack each) driven by a
// cooperative scheduler: a fiber runs until it reaches a synchronisation
// point (__syncthreads, a warp shuffle/vote/__syncwarp, an emulated mma),
// then the next ready fiber runs. Fibers resume in a seeded, shuffled order
// at every round, so a missing __syncthreads between a write to shared
// memory and another thread's read shows up as a wrong result in either
// direction, not only when the reader happens to run first.
//
// What is checked (the launch fails with a message, as a faulting kernel
// would, instead of hanging): a __syncthreads that not every thread of the
// block reaches (a thread exited or waits elsewhere), a warp collective whose
// mask leaves out a live lane, a shuffle from a lane that does not exist, a
// block of more than 1024 threads or an empty grid.
//
// __shared__ becomes `static thread_local`: one object per OS thread, which
// all fibers of the running block share, as shared memory is per block.
// Device memory is host memory (see cuda_runtime_emu.cpp); atomics are real
// atomic read-modify-writes.
//
// Not emulated: memory-model subtleties beyond barriers (fibers never run
// concurrently, so a data race that a barrier should have ordered is caught
// only through the scheduling order), texture/constant memory, cooperative
// groups, and the fast-math intrinsics (__expf & co.; kernels use expf).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define LMKIT_CUDA_EMULATION 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __shared__ static thread_local
#define __align__(n) alignas(n)

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

// The CUDA runtime API subset (emulated in cuda_runtime_emu.cpp).
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
  cudaErrorNoDevice = 100,
  cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};
struct CUstream_st;
using cudaStream_t = CUstream_st*;
constexpr unsigned cudaStreamNonBlocking = 1;

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int major, minor;
  int multiProcessorCount;
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDriverGetVersion(int* version);
cudaError_t cudaRuntimeGetVersion(int* version);
cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorString(cudaError_t error);
const char* cudaGetErrorName(cudaError_t error);
cudaError_t cudaMemGetInfo(size_t* free, size_t* total);
enum cudaDeviceAttr { cudaDevAttrClockRate = 13 };
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);

namespace lmkit::emu {

constexpr int kWarpSize = 32;

// What a fiber sees as its built-in variables.
struct ThreadState {
  uint3 thread;  // threadIdx
  uint3 block;   // blockIdx
  dim3 blockSize;
  dim3 gridSize;
};

// The running fiber's state (thread_local; fibers of a block share the OS thread).
const ThreadState& self();

void syncthreads();
int syncthreadsOr(int predicate);
int syncthreadsCount(int predicate);
void syncwarp(unsigned mask);
// Every lane of the warp deposits `bits`; returns the deposit of lane
// `source` (the caller's own when `source` < 0).
uint64_t warpExchange(unsigned mask, uint64_t bits, int source, const char* what);
// OR of every live lane's predicate bit (in its lane position).
unsigned warpBallot(unsigned mask, bool predicate);
// Lanes that exist in the caller's warp (the last warp of a block may be partial).
unsigned liveLaneMask();
// The dynamic shared memory of the running block (the launch's shmem bytes,
// filled with NaN bytes at each block so a read before a write shows).
void* dynamicShared();
// The detailed message of the last fault on this OS thread ("" if none).
const char* lastFaultMessage();

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 across the 32 lanes of
// the caller's warp, with the PTX ISA's fragment layout (groupID g = lane/4,
// t = lane%4): a = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4];
// b = B[t][g], B[t+4][g]; c/d = C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1].
// Each lane gathers every lane's fragments, forms D = A·B + C in k order
// (fp32 fmaf; the products of tf32 inputs are exact in fp32), and keeps its
// own four elements. Hardware may round the accumulation differently; tests
// bound the difference, they do not expect bits.
void mmaTf32(float d[4], const uint32_t a[4], const uint32_t b[2], const float c[4]);
// cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero.
uint32_t roundTf32(float x);

// Runs `body` as every thread of every block of the grid; a fault (barrier
// divergence, bad configuration) becomes the stream's sticky launch error.
using KernelBody = void (*)(void* ctx);
void run(const char* name, dim3 grid, dim3 block, size_t shmem, KernelBody body, void* ctx);

template <class T>
uint64_t toBits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a value > 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  return bits;
}
template <class T>
T fromBits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof(T));
  return v;
}

inline int laneId() {
  const ThreadState& t = self();
  const unsigned linear = t.thread.x + t.blockSize.x * (t.thread.y + t.blockSize.y * t.thread.z);
  return static_cast<int>(linear % kWarpSize);
}

}  // namespace lmkit::emu

#define threadIdx (::lmkit::emu::self().thread)
#define blockIdx (::lmkit::emu::self().block)
#define blockDim (::lmkit::emu::self().blockSize)
#define gridDim (::lmkit::emu::self().gridSize)
constexpr int warpSize = 32;

inline void __syncthreads() { ::lmkit::emu::syncthreads(); }
inline int __syncthreads_or(int p) { return ::lmkit::emu::syncthreadsOr(p); }
inline int __syncthreads_count(int p) { return ::lmkit::emu::syncthreadsCount(p); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::lmkit::emu::syncwarp(mask); }
inline unsigned __activemask() { return ::lmkit::emu::liveLaneMask(); }

// Shuffles, with CUDA's source-lane rules for a sub-warp `width`: a source
// outside the caller's segment returns the caller's own value.
template <class T>
T __shfl_sync(unsigned mask, T v, int srcLane, int width = warpSize) {
  const int lane = ::lmkit::emu::laneId();
  const int src = (lane / width) * width + (srcLane % width);
  return ::lmkit::emu::fromBits<T>(::lmkit::emu::warpExchange(mask, ::lmkit::emu::toBits(v), src, "__shfl_sync"));
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = warpSize) {
  const int lane = ::lmkit::emu::laneId();
  int src = lane ^ laneMask;
  if (src / width > lane / width) src = -1;  // a later segment: own value
  return ::lmkit::emu::fromBits<T>(::lmkit::emu::warpExchange(mask, ::lmkit::emu::toBits(v), src, "__shfl_xor_sync"));
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  const int lane = ::lmkit::emu::laneId();
  const int src = (lane % width) + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : -1;
  return ::lmkit::emu::fromBits<T>(::lmkit::emu::warpExchange(mask, ::lmkit::emu::toBits(v), src, "__shfl_down_sync"));
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  const int lane = ::lmkit::emu::laneId();
  const int src = (lane % width) >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : -1;
  return ::lmkit::emu::fromBits<T>(::lmkit::emu::warpExchange(mask, ::lmkit::emu::toBits(v), src, "__shfl_up_sync"));
}
inline unsigned __ballot_sync(unsigned mask, int p) { return ::lmkit::emu::warpBallot(mask, p != 0); }
inline int __any_sync(unsigned mask, int p) { return ::lmkit::emu::warpBallot(mask, p != 0) != 0; }
inline int __all_sync(unsigned mask, int p) {
  const unsigned live = ::lmkit::emu::liveLaneMask() & mask;
  return (::lmkit::emu::warpBallot(mask, p != 0) & live) == live;
}

// Atomics: real atomic read-modify-writes (several OS threads may launch at once).
inline float atomicAdd(float* address, float value) {
  uint32_t* word = reinterpret_cast<uint32_t*>(address);
  uint32_t old = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    float current;
    std::memcpy(&current, &old, 4);
    const float next = current + value;
    uint32_t nextBits;
    std::memcpy(&nextBits, &next, 4);
    if (__atomic_compare_exchange_n(word, &old, nextBits, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return current;
  }
}
inline double atomicAdd(double* address, double value) {
  uint64_t* word = reinterpret_cast<uint64_t*>(address);
  uint64_t old = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    double current;
    std::memcpy(&current, &old, 8);
    const double next = current + value;
    uint64_t nextBits;
    std::memcpy(&nextBits, &next, 8);
    if (__atomic_compare_exchange_n(word, &old, nextBits, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return current;
  }
}
inline int atomicAdd(int* address, int value) { return __atomic_fetch_add(address, value, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* address, unsigned value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* address, unsigned long long value) {
  return __atomic_fetch_add(address, value, __ATOMIC_RELAXED);
}
inline int atomicMax(int* address, int value) {
  int old = __atomic_load_n(address, __ATOMIC_RELAXED);
  while (old < value &&
         !__atomic_compare_exchange_n(address, &old, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicCAS(int* address, int compare, int value) {
  __atomic_compare_exchange_n(address, &compare, value, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline unsigned atomicInc(unsigned* address, unsigned limit) {
  unsigned old = __atomic_load_n(address, __ATOMIC_RELAXED);
  for (;;) {
    const unsigned next = old >= limit ? 0 : old + 1;
    if (__atomic_compare_exchange_n(address, &old, next, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return old;
  }
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// Device math that CUDA has and the C library lacks.
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
// The _rn intrinsics are never fused into FMAs (the build also passes
// --fmad=false / -ffp-contract=off, so only explicit fmaf fuses).
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline int __float_as_int(float f) {
  int x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline unsigned __float_as_uint(float f) {
  unsigned x;
  std::memcpy(&x, &f, 4);
  return x;
}
inline float __uint_as_float(unsigned x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline float __ldg(const float* p) { return *p; }
inline int __ldg(const int* p) { return *p; }

namespace lmkit::emu {
// The launch of `kernel` with `args` (copied, as a launch copies its parameters).
template <class... Params, class... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shmem,
            cudaStream_t /*stream*/, Args&&... args) {
  struct Ctx {
    void (*kernel)(Params...);
    std::tuple<std::decay_t<Params>...> params;
  };
  Ctx ctx{kernel, std::tuple<std::decay_t<Params>...>(static_cast<Params>(args)...)};
  run(name, grid, block, shmem,
      [](void* p) {
        Ctx& c = *static_cast<Ctx*>(p);
        std::apply(c.kernel, c.params);
      },
      &ctx);
}
}  // namespace lmkit::emu

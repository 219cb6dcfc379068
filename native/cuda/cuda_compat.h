// One header that every .cu file includes first: the real CUDA runtime under
// nvcc, or the CPU emulation harness (emulation/cuda_emu.h) when the build
// defines LMKIT_CUDA_EMULATE, so the same kernel sources compile for both.
// It also holds the two spellings that differ between them: launching a
// kernel and declaring dynamic shared memory.
#pragma once

#include <cstddef>
#include <cstdint>

#ifdef LMKIT_CUDA_EMULATE
#include "cuda/emulation/cuda_emu.h"

#define LMKIT_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::lmkit::emu::dynamicShared())

namespace lmkit::cuda {
// kernel<<<grid, block, shmem, stream>>>(args...), run by the emulator.
template <class... Params, class... Args>
void launch(const char* name, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shmem,
            cudaStream_t stream, Args&&... args) {
  ::lmkit::emu::launch(name, kernel, grid, block, shmem, stream, std::forward<Args>(args)...);
}
}  // namespace lmkit::cuda

#else
#include <cuda_runtime.h>

#define LMKIT_DYNAMIC_SHARED(type, name)                         \
  extern __shared__ __align__(16) unsigned char lmkitDynamicSmem[]; \
  type* name = reinterpret_cast<type*>(lmkitDynamicSmem)

namespace lmkit::cuda {
// kernel<<<grid, block, shmem, stream>>>(args...); errors surface through
// cudaGetLastError, which the API layer reads after every kernel family.
template <class... Params, class... Args>
void launch(const char* /*name*/, void (*kernel)(Params...), dim3 grid, dim3 block, size_t shmem,
            cudaStream_t stream, Args&&... args) {
  kernel<<<grid, block, shmem, stream>>>(static_cast<Params>(args)...);
}
}  // namespace lmkit::cuda
#endif

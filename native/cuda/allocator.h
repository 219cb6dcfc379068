// The caching device allocator: freed blocks are kept per size class and
// handed out again instead of going back to cudaFree (cudaMalloc/cudaFree
// synchronise the device and cost ~0.1–1 ms each).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "cuda/backend_api.h"

namespace lmkit::cuda {

// Size classes: 512-byte steps up to 1 MiB, then four classes per power of
// two (≤ 25% slack). Blocks are never split or merged, so a block goes back
// to exactly the class it came from.
size_t roundedSize(size_t bytes);

// Thread-safe. All work runs on one stream, so a block freed on the host
// may be reused at once: any later use is ordered after every earlier one.
// On cudaMalloc failure the cache is released and the allocation retried
// once; a second failure returns nullptr and fills `error` with what was
// asked, what lmkit holds and what the device has free.
void* allocate(size_t bytes, std::string* error);
// false when ptr was not handed out by allocate().
bool release(void* ptr);
// Frees every cached block (cudaFree), e.g. before handing memory to another
// process; returns the CUDA error, if any.
int emptyCache();
LmkitCudaMemoryStats memoryStats();

}  // namespace lmkit::cuda

// The tensor-core instruction the tf32 GEMM uses, in one place: inline PTX
// under nvcc (sm_80+), the harness's emulation of the same instruction and
// fragment layout otherwise (emulation/cuda_emu.h documents the layout).
#pragma once

#include "cuda/cuda_compat.h"

namespace lmkit::cuda {

// cvt.rna.tf32.f32: x rounded to tf32 (10 mantissa bits), as a .b32.
__device__ __forceinline__ uint32_t toTf32(float x) {
#ifdef LMKIT_CUDA_EMULATE
  return ::lmkit::emu::roundTf32(x);
#else
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#endif
}

// d = A·B + d for one 16×8×8 tile of the warp (m16n8k8, A row-major, B column-major).
__device__ __forceinline__ void mmaTf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#ifdef LMKIT_CUDA_EMULATE
  const float c[4] = {d[0], d[1], d[2], d[3]};
  ::lmkit::emu::mmaTf32(d, a, b, c);
#else
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

}  // namespace lmkit::cuda

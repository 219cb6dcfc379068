// Elementwise add and multiply of two float32 vectors of n elements:
//   elementwiseAdd: out[i] = a[i] + b[i]     elementwiseMul: out[i] = a[i] · b[i]
// out may be exactly a or b (in place); the binding rejects partial overlaps.
// Used for residual adds, SwiGLU's gate and gradient accumulation, where a
// JS loop over millions of elements costs more than the GEMMs around it.
//
// Work split: fixed chunks of kGrain elements, one task each. Every element
// is one IEEE float32 operation, so all paths, ISAs and thread counts give
// the same bits (and the same bits as JS's Math.fround(a + b)).
#include <immintrin.h>

#include "cpu/cpu_features.h"
#include "cpu/thread_pool.h"
#include "kernels.h"

// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* is
// self-initialised on purpose; GCC bug 105593, fixed in 13).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace lmkit {
namespace {

// 32k floats (128 KiB per operand): big enough to hide the pool's hand-off,
// small enough that two threads share a residual add of B·T·C = 786k.
constexpr int64_t kGrain = 1 << 15;

enum class Op { Add, Mul };

// ---------------------------------------------------------------- scalar reference

template <Op op>
void rangeScalar(float* out, const float* a, const float* b, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; ++i) out[i] = op == Op::Add ? a[i] + b[i] : a[i] * b[i];
}

// ---------------------------------------------------------------- AVX-512

template <Op op>
LMKIT_TARGET_AVX512 void rangeAvx512(float* out, const float* a, const float* b, int64_t i0, int64_t i1) {
  for (int64_t i = i0; i < i1; i += 16) {
    const __mmask16 k = i1 - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (i1 - i)) - 1u);
    const __m512 x = _mm512_maskz_loadu_ps(k, a + i), y = _mm512_maskz_loadu_ps(k, b + i);
    _mm512_mask_storeu_ps(out + i, k, op == Op::Add ? _mm512_add_ps(x, y) : _mm512_mul_ps(x, y));
  }
}

// ---------------------------------------------------------------- AVX2

template <Op op>
LMKIT_TARGET_AVX2 void rangeAvx2(float* out, const float* a, const float* b, int64_t i0, int64_t i1) {
  int64_t i = i0;
  for (; i + 8 <= i1; i += 8) {
    const __m256 x = _mm256_loadu_ps(a + i), y = _mm256_loadu_ps(b + i);
    _mm256_storeu_ps(out + i, op == Op::Add ? _mm256_add_ps(x, y) : _mm256_mul_ps(x, y));
  }
  for (; i < i1; ++i) out[i] = op == Op::Add ? a[i] + b[i] : a[i] * b[i];
}

template <Op op>
void run(float* out, const float* a, const float* b, int64_t n) {
  const cpu::Isa isa = cpu::activeIsa();
  cpu::parallelRange(n, kGrain, [&](int64_t i0, int64_t i1) {
    if (isa == cpu::Isa::Avx512) rangeAvx512<op>(out, a, b, i0, i1);
    else if (isa == cpu::Isa::Avx2) rangeAvx2<op>(out, a, b, i0, i1);
    else rangeScalar<op>(out, a, b, i0, i1);
  });
}

}  // namespace

void elementwiseAdd(float* out, const float* a, const float* b, int64_t n) { run<Op::Add>(out, a, b, n); }
void elementwiseMul(float* out, const float* a, const float* b, int64_t n) { run<Op::Mul>(out, a, b, n); }

}  // namespace lmkit

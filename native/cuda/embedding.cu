// Embedding gather and its scatter-add backward (native/cpu/embedding.cpp's
// contract): out[i, :] = weight[ids[i], :];  dweight[ids[i], :] += dout[i, :].
// ids were checked against vocab by the binding.
//
// Forward: a grid-stride loop over count·dim outputs. Backward: one thread
// per column walks the ids in order and adds into its column, so a repeated
// id's rows are summed in id order — the same float additions, in the same
// order, as the CPU kernel: bitwise equal results, and no atomics (whose
// order would vary run to run). Columns spread over blocks of 128 threads;
// with few columns the walk is latency-bound, which at LM sizes (dim ≥ 256)
// it is not for long.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

__global__ void gatherKernel(float* out, const int32_t* ids, const float* weight, int64_t count, int64_t dim) {
  const int64_t n = count * dim;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = weight[int64_t{ids[i / dim]} * dim + i % dim];
}

__global__ void scatterAddKernel(float* dweight, const int32_t* ids, const float* dout, int64_t count, int64_t dim) {
  const int64_t c = int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (c >= dim) return;  // no barrier in this kernel
  for (int64_t i = 0; i < count; ++i) dweight[int64_t{ids[i]} * dim + c] += dout[i * dim + c];
}

}  // namespace

void embeddingForward(cudaStream_t s, float* out, const int32_t* ids, const float* weight, int64_t count, int64_t dim) {
  if (count * dim > 0) launch("embeddingForward", gatherKernel, gridFor(count * dim, 256), 256, 0, s, out, ids, weight, count, dim);
}

void embeddingBackward(cudaStream_t s, float* dweight, const int32_t* ids, const float* dout, int64_t count, int64_t dim) {
  if (count * dim > 0)
    launch("embeddingBackward", scatterAddKernel, static_cast<unsigned>(ceilDiv(dim, 128)), 128, 0, s, dweight, ids,
           dout, count, dim);
}

}  // namespace lmkit::cuda

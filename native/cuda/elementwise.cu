// Elementwise add and multiply (native/cpu/elementwise.cpp's contract), and
// two device utilities the tensor layer needs on device buffers: scale and
// fill. One float32 operation per element, so results are bitwise the CPU's.
//
// Work split: a grid-stride loop, 256 threads per block; out may be a or b.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void addKernel(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = a[i] + b[i];
}

__global__ void mulKernel(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = a[i] * b[i];
}

__global__ void scaleKernel(float* out, const float* x, float alpha, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = alpha * x[i];
}

__global__ void fillKernel(float* out, float value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = value;
}

}  // namespace

void elementwiseAdd(cudaStream_t s, float* out, const float* a, const float* b, int64_t n) {
  if (n > 0) launch("elementwiseAdd", addKernel, gridFor(n, kThreads), kThreads, 0, s, out, a, b, n);
}

void elementwiseMul(cudaStream_t s, float* out, const float* a, const float* b, int64_t n) {
  if (n > 0) launch("elementwiseMul", mulKernel, gridFor(n, kThreads), kThreads, 0, s, out, a, b, n);
}

void scale(cudaStream_t s, float* out, const float* x, float alpha, int64_t n) {
  if (n > 0) launch("scale", scaleKernel, gridFor(n, kThreads), kThreads, 0, s, out, x, alpha, n);
}

void fill(cudaStream_t s, float* out, float value, int64_t n) {
  if (n > 0) launch("fill", fillKernel, gridFor(n, kThreads), kThreads, 0, s, out, value, n);
}

}  // namespace lmkit::cuda

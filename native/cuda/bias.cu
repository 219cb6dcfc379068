// Bias add and its backward (native/cpu/bias.cpp's contract).
//   biasAdd:      x[r, c] += bias[c]            (in place)
//   biasBackward: dbias[c] += Σ_r dout[r, c]    (accumulates)
//
// biasAdd: a grid-stride loop over the elements. biasBackward: a block of
// 32×8 threads owns 32 columns; thread (tx, ty) sums rows ty, ty + 8, … of
// column tx in double (coalesced across tx), the 8 partials are added in ty
// order and rounded once to float, like the CPU kernel's double partials,
// so both agree to float rounding whatever the order. Each column is written
// by one thread: no atomics, deterministic.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

__global__ void biasAddKernel(float* x, const float* bias, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] += bias[i % cols];
}

constexpr int kColsPerBlock = 32, kRowPhases = 8;

__global__ void biasBackwardKernel(float* dbias, const float* dout, int64_t rows, int64_t cols) {
  __shared__ double partial[kRowPhases][kColsPerBlock];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = int64_t{blockIdx.x} * kColsPerBlock + tx;
  double sum = 0.0;
  if (c < cols)
    for (int64_t r = ty; r < rows; r += kRowPhases) sum += dout[r * cols + c];
  partial[ty][tx] = sum;
  __syncthreads();
  if (ty == 0 && c < cols) {
    double total = 0.0;
    for (int p = 0; p < kRowPhases; ++p) total += partial[p][tx];
    dbias[c] += static_cast<float>(total);
  }
}

}  // namespace

void biasAdd(cudaStream_t s, float* x, const float* bias, int64_t rows, int64_t cols) {
  if (rows * cols > 0) launch("biasAdd", biasAddKernel, gridFor(rows * cols, 256), 256, 0, s, x, bias, rows, cols);
}

void biasBackward(cudaStream_t s, float* dbias, const float* dout, int64_t rows, int64_t cols) {
  if (cols == 0 || rows == 0) return;
  launch("biasBackward", biasBackwardKernel, static_cast<unsigned>(ceilDiv(cols, kColsPerBlock)),
         dim3(kColsPerBlock, kRowPhases), 0, s, dbias, dout, rows, cols);
}

}  // namespace lmkit::cuda

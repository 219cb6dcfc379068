// GELU (exact and tanh) and SiLU, forward and backward, elementwise
// (native/cpu/activations.cpp's contract; dx = dout·f'(x), overwritten):
//   GELU exact: f = x·Φ(x), Φ = ½(1 + erf(x/√2)),  f' = Φ + x·φ(x)
//   GELU tanh:  u = √(2/π)(x + 0.044715x³), f = ½x(1 + tanh u),
//               f' = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)
//   SiLU:       σ = 1/(1 + e^−x), f = x·σ,  f' = σ(1 + x(1 − σ))
// Written literally with the device's erff/tanhf/expf (≤ 2 ulp each), the
// way the CPU's scalar reference is; in place allowed (out may be x).
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;

enum class Act { GeluExact, GeluTanh, Silu };

template <Act kAct>
__device__ __forceinline__ float value(float x) {
  if (kAct == Act::GeluExact) return x * 0.5f * (1.0f + erff(x * kInvSqrt2));
  if (kAct == Act::GeluTanh) {
    const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
  }
  return x / (1.0f + expf(-x));
}

template <Act kAct>
__device__ __forceinline__ float derivative(float x) {
  if (kAct == Act::GeluExact) {
    const float cdf = 0.5f * (1.0f + erff(x * kInvSqrt2));
    return cdf + x * kInvSqrt2Pi * expf(-0.5f * x * x);
  }
  if (kAct == Act::GeluTanh) {
    const float u = kSqrt2OverPi * (x + 0.044715f * x * x * x);
    const float t = tanhf(u);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * 0.044715f * x * x);
  }
  const float sig = 1.0f / (1.0f + expf(-x));
  return sig * (1.0f + x * (1.0f - sig));
}

template <Act kAct>
__global__ void forwardKernel(float* out, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = value<kAct>(x[i]);
}

template <Act kAct>
__global__ void backwardKernel(float* dx, const float* dout, const float* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    dx[i] = dout[i] * derivative<kAct>(x[i]);
}

}  // namespace

void geluForward(cudaStream_t s, float* out, const float* x, int64_t n, bool tanhApprox) {
  if (n == 0) return;
  if (tanhApprox) launch("geluForward", forwardKernel<Act::GeluTanh>, gridFor(n, 256), 256, 0, s, out, x, n);
  else launch("geluForward", forwardKernel<Act::GeluExact>, gridFor(n, 256), 256, 0, s, out, x, n);
}

void geluBackward(cudaStream_t s, float* dx, const float* dout, const float* x, int64_t n, bool tanhApprox) {
  if (n == 0) return;
  if (tanhApprox) launch("geluBackward", backwardKernel<Act::GeluTanh>, gridFor(n, 256), 256, 0, s, dx, dout, x, n);
  else launch("geluBackward", backwardKernel<Act::GeluExact>, gridFor(n, 256), 256, 0, s, dx, dout, x, n);
}

void siluForward(cudaStream_t s, float* out, const float* x, int64_t n) {
  if (n) launch("siluForward", forwardKernel<Act::Silu>, gridFor(n, 256), 256, 0, s, out, x, n);
}

void siluBackward(cudaStream_t s, float* dx, const float* dout, const float* x, int64_t n) {
  if (n) launch("siluBackward", backwardKernel<Act::Silu>, gridFor(n, 256), 256, 0, s, dx, dout, x, n);
}

}  // namespace lmkit::cuda

// Axis permutation, a strided copy (native/cpu/permute.cpp's contract):
// out axis k is x axis perm[k]; x and out row-major, ndim ≤ kPermuteMaxDims.
//
// The launcher drops size-1 axes and merges output axes that stay
// neighbours in x (as the CPU kernel does), so the attention head split
// (B, T, 3, NH, HS) → (3, B, NH, T, HS) becomes a 4-axis copy with a
// contiguous innermost run. Each thread then decodes its output index into
// the merged dims and gathers from x's strides; consecutive threads write
// consecutive outputs (coalesced stores; loads are coalesced whenever the
// innermost run is). A copy rounds nothing: bitwise the CPU's result.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

struct Layout {
  int ndim;
  int64_t dims[kPermuteMaxDims];     // output dims after merging
  int64_t strides[kPermuteMaxDims];  // stride in x of each output dim
};

__global__ void permuteKernel(float* out, const float* x, Layout l, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    int64_t rest = i, src = 0;
    for (int d = l.ndim - 1; d >= 0; --d) {
      src += (rest % l.dims[d]) * l.strides[d];
      rest /= l.dims[d];
    }
    out[i] = x[src];
  }
}

Layout simplify(const int64_t* shape, const int32_t* perm, int ndim) {
  int64_t xStride[kPermuteMaxDims];
  int64_t acc = 1;
  for (int d = ndim - 1; d >= 0; --d) {
    xStride[d] = acc;
    acc *= shape[d];
  }
  Layout l{0, {}, {}};
  int lastAxis = -2;
  for (int k = 0; k < ndim; ++k) {
    const int axis = perm[k];
    if (shape[axis] == 1) continue;
    if (l.ndim > 0 && axis == lastAxis + 1) {
      // Neighbours in x too: one axis of the product of both.
      l.dims[l.ndim - 1] *= shape[axis];
      l.strides[l.ndim - 1] = xStride[axis];
    } else {
      l.dims[l.ndim] = shape[axis];
      l.strides[l.ndim] = xStride[axis];
      l.ndim++;
    }
    lastAxis = axis;
  }
  if (l.ndim == 0) {
    l.ndim = 1;
    l.dims[0] = 1;
    l.strides[0] = 1;
  }
  return l;
}

}  // namespace

void permute(cudaStream_t s, float* out, const float* x, const int64_t* shape, const int32_t* perm, int ndim) {
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) n *= shape[d];
  if (n == 0) return;
  launch("permute", permuteKernel, gridFor(n, 256), 256, 0, s, out, x, simplify(shape, perm, ndim), n);
}

}  // namespace lmkit::cuda

// Fused attention (FlashAttention-style), forward and backward, with the
// mask rule of native/kernels.h: query i (at position i + qOffset) sees key
// j when j < kvLen[b] and (!causal or j ≤ i + qOffset or j < prefixLen[b]),
// i.e. the keys [0, end_i), end_i = min(kvLen, causal ? max(i+qOffset+1,
// prefixLen) : Tk), which never decreases with i. A row with end_i = 0 is
// fully masked: out = 0, lse = −inf, no gradient.
//   forward   P = softmax(scale·QKᵀ + mask), O = P·V, lse_i = log Σ_j exp(S_ij)
//   backward  D_i = Σ_d dO_id·O_id, dV = Pᵀ·dO, dS = P∘(dO·Vᵀ − D),
//             dQ = scale·dS·K, dK = scale·dSᵀ·Q
// Layout: q/out/dout/dq [B, NH, Tq, HS], k/v/dk/dv [B, NH, Tk, HS], lse [B, NH, Tq].
//
// Work split. Forward and dQ: a block of 4 warps owns 4·R consecutive query
// rows of one (b, h) (R rows per warp) and walks the keys in tiles of kKeys,
// staged in shared memory; the T×T scores never exist (memory O(T·HS)).
// Within a warp, lane j computes the score of key j for each of its rows
// (dot products against the query rows in shared memory); the scores go
// through shared memory so every lane derives the same running max m and
// sum l (online softmax) and accumulates its own head dims d = lane + 32c of
// O (or dQ). Key tiles past the block's last visible key (causal upper
// triangle, padding) are skipped; the skip test is the same for every
// thread, so barriers stay uniform. dK/dV: the mirror image — a block owns
// 4·R key rows and walks query tiles (skipping tiles whose rows all end
// before the block's first key), lane i taking query i. Each output element
// has one writer: no atomics, deterministic. dQ's kernel also computes D and
// leaves it for the dK/dV kernel.
//
// Head sizes up to 256 (kChunks = HS/32 rounded up, register arrays of that
// size per row); R and kKeys shrink with HS to keep shared memory < 48 KiB.
// This is a CUDA-core kernel (fp32 FMAs), not a tensor-core one.
#include "cuda/common.cuh"

namespace lmkit::cuda {
namespace {

constexpr int kWarps = 4;

struct Params {
  int64_t B, NH, Tq, Tk, HS;
  float scale;
  bool causal;
  int64_t qOffset;
  const int32_t* prefixLen;  // device, [B] or null
  const int32_t* kvLen;      // device, [B] or null
};

__device__ __forceinline__ int64_t visibleEnd(const Params& p, int64_t b, int64_t i) {
  const int64_t kv = p.kvLen ? p.kvLen[b] : p.Tk;
  const int64_t prefix = p.prefixLen ? p.prefixLen[b] : 0;
  int64_t end = p.Tk;
  if (p.causal) {
    end = i + p.qOffset + 1;
    if (prefix > end) end = prefix;
  }
  if (kv < end) end = kv;
  if (end > p.Tk) end = p.Tk;
  return end < 0 ? 0 : end;
}

template <int kChunks>
struct Config {
  static constexpr int kHS = 32 * kChunks;            // padded head size
  static constexpr int kRows = kChunks <= 2 ? 4 : (kChunks <= 4 ? 2 : 1);  // per warp
  static constexpr int kKeys = kChunks <= 4 ? 32 : 16;  // tile of the walked axis
  static constexpr int kBlockRows = kWarps * kRows;
};

// Copies `count` rows of HS floats (zero past `valid` rows and past HS) into
// a shared tile with row stride `ld`.
__device__ __forceinline__ void loadRows(float* tile, int ld, const float* src, int64_t valid, int count, int64_t HS,
                                         int padded) {
  for (int e = threadIdx.x; e < count * padded; e += blockDim.x) {
    const int r = e / padded, d = e % padded;
    tile[r * ld + d] = r < valid && d < HS ? src[r * HS + d] : 0.0f;
  }
}

template <int kChunks>
__global__ void __launch_bounds__(kWarps * 32) forwardKernel(float* out, float* lse, const float* q, const float* k,
                                                             const float* v, Params p) {
  using C = Config<kChunks>;
  __shared__ float Qs[C::kBlockRows][C::kHS];
  __shared__ float Ks[C::kKeys][C::kHS + 1];
  __shared__ float Vs[C::kKeys][C::kHS + 1];
  __shared__ float Ss[kWarps][C::kRows][32];
  __shared__ float Ps[kWarps][C::kRows][32];
  const int64_t bh = blockIdx.x, b = bh / p.NH;
  const int64_t row0 = int64_t{blockIdx.y} * C::kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float* qb = q + bh * p.Tq * p.HS;
  const float* kb = k + bh * p.Tk * p.HS;
  const float* vb = v + bh * p.Tk * p.HS;
  loadRows(&Qs[0][0], C::kHS, qb + row0 * p.HS, p.Tq - row0, C::kBlockRows, p.HS, C::kHS);
  const int64_t lastRow = (row0 + C::kBlockRows < p.Tq ? row0 + C::kBlockRows : p.Tq) - 1;
  const int64_t blockEnd = visibleEnd(p, b, lastRow);

  float m[C::kRows], l[C::kRows], acc[C::kRows][kChunks];
  int64_t end[C::kRows];
  for (int r = 0; r < C::kRows; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
    const int64_t i = row0 + warp * C::kRows + r;
    end[r] = i < p.Tq ? visibleEnd(p, b, i) : 0;
    for (int c = 0; c < kChunks; ++c) acc[r][c] = 0.0f;
  }

  for (int64_t j0 = 0; j0 < blockEnd; j0 += C::kKeys) {
    __syncthreads();  // the previous tile's readers are done
    loadRows(&Ks[0][0], C::kHS + 1, kb + j0 * p.HS, p.Tk - j0, C::kKeys, p.HS, C::kHS);
    loadRows(&Vs[0][0], C::kHS + 1, vb + j0 * p.HS, p.Tk - j0, C::kKeys, p.HS, C::kHS);
    __syncthreads();
    // Scores: lane = key.
    for (int r = 0; r < C::kRows; ++r) {
      float s = -INFINITY;
      if (lane < C::kKeys && j0 + lane < end[r]) {
        const float* qr = Qs[warp * C::kRows + r];
        float dot = 0.0f;
        for (int d = 0; d < C::kHS; ++d) dot = fmaf(qr[d], Ks[lane][d], dot);
        s = p.scale * dot;
      }
      Ss[warp][r][lane] = s;
    }
    __syncwarp();
    // Online softmax: every lane derives the same running max; each lane
    // turns its own key's score into a probability.
    float corr[C::kRows];
    for (int r = 0; r < C::kRows; ++r) {
      float tileMax = -INFINITY;
      for (int jj = 0; jj < C::kKeys; ++jj) tileMax = fmaxf(tileMax, Ss[warp][r][jj]);
      const float newM = fmaxf(m[r], tileMax);
      const float s = Ss[warp][r][lane];
      Ps[warp][r][lane] = newM == -INFINITY || s == -INFINITY ? 0.0f : expf(s - newM);
      corr[r] = m[r] == -INFINITY ? 0.0f : expf(m[r] - newM);
      m[r] = newM;
    }
    __syncwarp();
    // l and O: every lane sums the same probabilities, and accumulates P·V on its dims.
    for (int r = 0; r < C::kRows; ++r) {
      float rowSum = 0.0f;
      for (int c = 0; c < kChunks; ++c) acc[r][c] *= corr[r];
      for (int jj = 0; jj < C::kKeys; ++jj) {
        const float pj = Ps[warp][r][jj];
        rowSum += pj;
        if (pj == 0.0f) continue;
        for (int c = 0; c < kChunks; ++c) acc[r][c] = fmaf(pj, Vs[jj][lane + 32 * c], acc[r][c]);
      }
      l[r] = l[r] * corr[r] + rowSum;
    }
  }

  for (int r = 0; r < C::kRows; ++r) {
    const int64_t i = row0 + warp * C::kRows + r;
    if (i >= p.Tq) continue;
    const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      if (d < p.HS) out[(bh * p.Tq + i) * p.HS + d] = acc[r][c] * inv;
    }
    if (lane == 0) lse[bh * p.Tq + i] = l[r] > 0.0f ? m[r] + logf(l[r]) : -INFINITY;
  }
}

template <int kChunks>
__global__ void __launch_bounds__(kWarps * 32) backwardDqKernel(float* dq, float* Dout, const float* dout,
                                                                const float* q, const float* k, const float* v,
                                                                const float* out, const float* lse, Params p) {
  using C = Config<kChunks>;
  __shared__ float Qs[C::kBlockRows][C::kHS];
  __shared__ float dOs[C::kBlockRows][C::kHS];
  __shared__ float Ks[C::kKeys][C::kHS + 1];
  __shared__ float Vs[C::kKeys][C::kHS + 1];
  __shared__ float Ss[kWarps][C::kRows][32];
  const int64_t bh = blockIdx.x, b = bh / p.NH;
  const int64_t row0 = int64_t{blockIdx.y} * C::kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float* kb = k + bh * p.Tk * p.HS;
  const float* vb = v + bh * p.Tk * p.HS;
  loadRows(&Qs[0][0], C::kHS, q + (bh * p.Tq + row0) * p.HS, p.Tq - row0, C::kBlockRows, p.HS, C::kHS);
  loadRows(&dOs[0][0], C::kHS, dout + (bh * p.Tq + row0) * p.HS, p.Tq - row0, C::kBlockRows, p.HS, C::kHS);
  const int64_t lastRow = (row0 + C::kBlockRows < p.Tq ? row0 + C::kBlockRows : p.Tq) - 1;
  const int64_t blockEnd = visibleEnd(p, b, lastRow);
  __syncthreads();

  // D_i = Σ_d dO·O: lane partials through shared memory, summed in lane order by every lane.
  float D[C::kRows], rowLse[C::kRows], acc[C::kRows][kChunks];
  int64_t end[C::kRows];
  for (int r = 0; r < C::kRows; ++r) {
    const int64_t i = row0 + warp * C::kRows + r;
    float part = 0.0f;
    if (i < p.Tq)
      for (int c = 0; c < kChunks; ++c) {
        const int d = lane + 32 * c;
        if (d < p.HS) part = fmaf(dOs[warp * C::kRows + r][d], out[(bh * p.Tq + i) * p.HS + d], part);
      }
    Ss[warp][r][lane] = part;
    end[r] = i < p.Tq ? visibleEnd(p, b, i) : 0;
    rowLse[r] = i < p.Tq ? lse[bh * p.Tq + i] : 0.0f;
    for (int c = 0; c < kChunks; ++c) acc[r][c] = 0.0f;
  }
  __syncwarp();
  for (int r = 0; r < C::kRows; ++r) {
    float s = 0.0f;
    for (int jj = 0; jj < 32; ++jj) s += Ss[warp][r][jj];
    D[r] = s;
    const int64_t i = row0 + warp * C::kRows + r;
    if (lane == 0 && i < p.Tq) Dout[bh * p.Tq + i] = s;
  }

  for (int64_t j0 = 0; j0 < blockEnd; j0 += C::kKeys) {
    __syncthreads();  // also orders the D reads of Ss before its reuse
    loadRows(&Ks[0][0], C::kHS + 1, kb + j0 * p.HS, p.Tk - j0, C::kKeys, p.HS, C::kHS);
    loadRows(&Vs[0][0], C::kHS + 1, vb + j0 * p.HS, p.Tk - j0, C::kKeys, p.HS, C::kHS);
    __syncthreads();
    for (int r = 0; r < C::kRows; ++r) {
      float ds = 0.0f;
      if (lane < C::kKeys && j0 + lane < end[r]) {
        const float* qr = Qs[warp * C::kRows + r];
        const float* gr = dOs[warp * C::kRows + r];
        float s = 0.0f, dp = 0.0f;
        for (int d = 0; d < C::kHS; ++d) {
          s = fmaf(qr[d], Ks[lane][d], s);
          dp = fmaf(gr[d], Vs[lane][d], dp);
        }
        const float prob = expf(p.scale * s - rowLse[r]);
        ds = prob * (dp - D[r]);
      }
      Ss[warp][r][lane] = ds;
    }
    __syncwarp();
    for (int r = 0; r < C::kRows; ++r)
      for (int jj = 0; jj < C::kKeys; ++jj) {
        const float dsj = Ss[warp][r][jj];
        if (dsj == 0.0f) continue;
        for (int c = 0; c < kChunks; ++c) acc[r][c] = fmaf(dsj, Ks[jj][lane + 32 * c], acc[r][c]);
      }
  }

  for (int r = 0; r < C::kRows; ++r) {
    const int64_t i = row0 + warp * C::kRows + r;
    if (i >= p.Tq) continue;
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      if (d < p.HS) dq[(bh * p.Tq + i) * p.HS + d] = p.scale * acc[r][c];
    }
  }
}

template <int kChunks>
__global__ void __launch_bounds__(kWarps * 32) backwardDkDvKernel(float* dk, float* dv, const float* dout,
                                                                  const float* q, const float* k, const float* v,
                                                                  const float* lse, const float* D, Params p) {
  using C = Config<kChunks>;
  __shared__ float Krows[C::kBlockRows][C::kHS];
  __shared__ float Vrows[C::kBlockRows][C::kHS];
  __shared__ float Qt[C::kKeys][C::kHS + 1];
  __shared__ float dOt[C::kKeys][C::kHS + 1];
  __shared__ float tileLse[C::kKeys], tileD[C::kKeys];
  __shared__ int64_t tileEnd[C::kKeys];
  __shared__ float Ps[kWarps][C::kRows][32];
  __shared__ float DSs[kWarps][C::kRows][32];
  const int64_t bh = blockIdx.x, b = bh / p.NH;
  const int64_t key0 = int64_t{blockIdx.y} * C::kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const float* qb = q + bh * p.Tq * p.HS;
  const float* gb = dout + bh * p.Tq * p.HS;
  loadRows(&Krows[0][0], C::kHS, k + (bh * p.Tk + key0) * p.HS, p.Tk - key0, C::kBlockRows, p.HS, C::kHS);
  loadRows(&Vrows[0][0], C::kHS, v + (bh * p.Tk + key0) * p.HS, p.Tk - key0, C::kBlockRows, p.HS, C::kHS);

  float accK[C::kRows][kChunks], accV[C::kRows][kChunks];
  for (int r = 0; r < C::kRows; ++r)
    for (int c = 0; c < kChunks; ++c) accK[r][c] = accV[r][c] = 0.0f;

  for (int64_t i0 = 0; i0 < p.Tq; i0 += C::kKeys) {
    const int64_t tileLast = (i0 + C::kKeys < p.Tq ? i0 + C::kKeys : p.Tq) - 1;
    if (visibleEnd(p, b, tileLast) <= key0) continue;  // no row of the tile sees this block's keys
    __syncthreads();
    loadRows(&Qt[0][0], C::kHS + 1, qb + i0 * p.HS, p.Tq - i0, C::kKeys, p.HS, C::kHS);
    loadRows(&dOt[0][0], C::kHS + 1, gb + i0 * p.HS, p.Tq - i0, C::kKeys, p.HS, C::kHS);
    for (int e = threadIdx.x; e < C::kKeys; e += blockDim.x) {
      const int64_t i = i0 + e;
      tileLse[e] = i < p.Tq ? lse[bh * p.Tq + i] : 0.0f;
      tileD[e] = i < p.Tq ? D[bh * p.Tq + i] : 0.0f;
      tileEnd[e] = i < p.Tq ? visibleEnd(p, b, i) : 0;
    }
    __syncthreads();
    // lane = query of the tile.
    for (int r = 0; r < C::kRows; ++r) {
      const int64_t j = key0 + warp * C::kRows + r;
      float prob = 0.0f, ds = 0.0f;
      if (lane < C::kKeys && j < tileEnd[lane]) {
        const float* kr = Krows[warp * C::kRows + r];
        const float* vr = Vrows[warp * C::kRows + r];
        float s = 0.0f, dp = 0.0f;
        for (int d = 0; d < C::kHS; ++d) {
          s = fmaf(Qt[lane][d], kr[d], s);
          dp = fmaf(dOt[lane][d], vr[d], dp);
        }
        prob = expf(p.scale * s - tileLse[lane]);
        ds = prob * (dp - tileD[lane]);
      }
      Ps[warp][r][lane] = prob;
      DSs[warp][r][lane] = ds;
    }
    __syncwarp();
    for (int r = 0; r < C::kRows; ++r)
      for (int ii = 0; ii < C::kKeys; ++ii) {
        const float pi = Ps[warp][r][ii], dsi = DSs[warp][r][ii];
        if (pi == 0.0f && dsi == 0.0f) continue;
        for (int c = 0; c < kChunks; ++c) {
          accV[r][c] = fmaf(pi, dOt[ii][lane + 32 * c], accV[r][c]);
          accK[r][c] = fmaf(dsi, Qt[ii][lane + 32 * c], accK[r][c]);
        }
      }
  }

  for (int r = 0; r < C::kRows; ++r) {
    const int64_t j = key0 + warp * C::kRows + r;
    if (j >= p.Tk) continue;
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      if (d >= p.HS) continue;
      dk[(bh * p.Tk + j) * p.HS + d] = p.scale * accK[r][c];
      dv[(bh * p.Tk + j) * p.HS + d] = accV[r][c];
    }
  }
}

// Device copies of the per-batch lengths (host arrays in the shape).
bool deviceParams(cudaStream_t s, Scratch& scratch, const AttentionShape& a, Params* p) {
  *p = Params{a.B, a.NH, a.Tq, a.Tk, a.HS, a.scale, a.causal, a.qOffset, nullptr, nullptr};
  const size_t bytes = sizeof(int32_t) * static_cast<size_t>(a.B);
  for (int which = 0; which < 2; ++which) {
    const int32_t* host = which == 0 ? a.prefixLen : a.kvLen;
    if (!host) continue;
    auto* dev = static_cast<int32_t*>(scratch.get(bytes));
    if (!dev) return false;
    // Synchronous: the host arrays belong to the caller and may change after we return.
    if (cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, s) != cudaSuccess) return false;
    if (cudaStreamSynchronize(s) != cudaSuccess) return false;
    (which == 0 ? p->prefixLen : p->kvLen) = dev;
  }
  return true;
}

int chunksFor(int64_t HS) { return HS <= 32 ? 1 : HS <= 64 ? 2 : HS <= 128 ? 4 : 8; }

template <int kChunks>
dim3 gridOf(const Params& p, int64_t rows) {
  return dim3(static_cast<unsigned>(p.B * p.NH), static_cast<unsigned>(ceilDiv(rows, Config<kChunks>::kBlockRows)));
}

template <int kChunks>
void forwardAs(cudaStream_t s, float* out, float* lse, const float* q, const float* k, const float* v,
               const Params& p) {
  launch("attentionForward", forwardKernel<kChunks>, gridOf<kChunks>(p, p.Tq), kWarps * 32, 0, s, out, lse, q, k, v, p);
}

template <int kChunks>
void backwardAs(cudaStream_t s, float* D, float* dq, float* dk, float* dv, const float* dout, const float* q,
                const float* k, const float* v, const float* out, const float* lse, const Params& p) {
  launch("attentionBackwardDq", backwardDqKernel<kChunks>, gridOf<kChunks>(p, p.Tq), kWarps * 32, 0, s, dq, D, dout,
         q, k, v, out, lse, p);
  launch("attentionBackwardDkDv", backwardDkDvKernel<kChunks>, gridOf<kChunks>(p, p.Tk), kWarps * 32, 0, s, dk, dv,
         dout, q, k, v, lse, static_cast<const float*>(D), p);
}

}  // namespace

void attentionForward(cudaStream_t s, Scratch& scratch, float* out, float* lse, const float* q, const float* k,
                      const float* v, const AttentionShape& a) {
  if (a.B * a.NH * a.Tq == 0) return;
  Params p;
  if (!deviceParams(s, scratch, a, &p)) return;
  switch (chunksFor(a.HS)) {
    case 1: forwardAs<1>(s, out, lse, q, k, v, p); break;
    case 2: forwardAs<2>(s, out, lse, q, k, v, p); break;
    case 4: forwardAs<4>(s, out, lse, q, k, v, p); break;
    default: forwardAs<8>(s, out, lse, q, k, v, p); break;
  }
}

void attentionBackward(cudaStream_t s, Scratch& scratch, float* dq, float* dk, float* dv, const float* dout,
                       const float* q, const float* k, const float* v, const float* out, const float* lse,
                       const AttentionShape& a) {
  if (a.B * a.NH == 0) return;
  if (a.Tq == 0) {  // no query sees anything: the key gradients are zero
    const size_t bytes = sizeof(float) * static_cast<size_t>(a.B * a.NH * a.Tk * a.HS);
    cudaMemsetAsync(dk, 0, bytes, s);
    cudaMemsetAsync(dv, 0, bytes, s);
    return;
  }
  Params p;
  if (!deviceParams(s, scratch, a, &p)) return;
  auto* D = static_cast<float*>(scratch.get(sizeof(float) * static_cast<size_t>(a.B * a.NH * a.Tq)));
  if (!D) return;
  switch (chunksFor(a.HS)) {
    case 1: backwardAs<1>(s, D, dq, dk, dv, dout, q, k, v, out, lse, p); break;
    case 2: backwardAs<2>(s, D, dq, dk, dv, dout, q, k, v, out, lse, p); break;
    case 4: backwardAs<4>(s, D, dq, dk, dv, dout, q, k, v, out, lse, p); break;
    default: backwardAs<8>(s, D, dq, dk, dv, dout, q, k, v, out, lse, p); break;
  }
}

}  // namespace lmkit::cuda

// Suite "cuda" (`npm run bench -- --backend cuda`): lmkit's CUDA kernels on
// the GPU. GEMM is reported against the device's fp32 peak, estimated from
// its properties without cuBLAS: SMs × fp32 lanes per SM (64 on sm_80, 128
// on sm_86 and later) × 2 flops per FMA × the SM clock. Every kernel is also
// timed on lmkit's CPU backend at the same shape, as the "peer" column.
// run.mjs skips this suite, saying why, when no real CUDA device is there.
//
// Device timing: inputs are uploaded once; each timed call is the kernel
// plus cudaSynchronize(), so the median is the kernel's wall time including
// one launch (a few µs) — negligible at these sizes.
import { makeRow, okSide, emptySide } from '../lib/rows.mjs';
import { measure } from '../lib/timing.mjs';

export const description = 'CUDA kernels (GEMM vs the fp32 peak estimate, kernels vs lmkit CPU)';

function randomArray(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 - 0.5;
  }
  return a;
}

function lanesPerSm(capability) {
  const [major, minor] = capability.split('.').map(Number);
  return major === 8 && minor === 0 ? 64 : 128;
}

export async function run({ lmkit, options, log }) {
  const { kernels } = lmkit;
  const device = lmkit.backendInfo().cuda.device;
  const peakGflops = device.clockKHz > 0
    ? (device.multiprocessors * lanesPerSm(device.computeCapability) * 2 * device.clockKHz * 1e3) / 1e9
    : null;
  const budgetMs = options.quick ? 200 : 1000;
  const up = (a) => new lmkit.Tensor(a, [a.length]).to('cuda').f32Buffer();
  const timeDevice = (fn) => measure(() => { fn(); lmkit.cudaSynchronize(); }, { budgetMs, minReps: 3 });
  const timeCpu = (fn) => measure(fn, { budgetMs, minReps: 3 });
  const rows = [];

  const gemmSizes = options.quick ? [1024, 2048] : [1024, 2048, 4096];
  for (const n of gemmSizes) {
    log(`gemm ${n}³`);
    const a = randomArray(n * n, 1), b = randomArray(n * n, 2);
    const da = up(a), db = up(b), dc = up(new Float32Array(n * n));
    const flops = 2 * n * n * n;
    const ours = okSide(timeDevice(() => kernels.gemm(da, db, dc, { m: n, n, k: n })), { flops });
    const c = new Float32Array(n * n);
    const peer = n <= 2048 ? okSide(timeCpu(() => kernels.gemm(a, b, c, { m: n, n, k: n })), { flops }, { name: 'lmkit CPU' })
      : emptySide('skipped', 'too slow on the CPU at this size');
    rows.push(makeRow({ kernel: 'gemm fp32', shape: `${n}³`, work: { flops }, ours, peer, threads: options.threads,
      limit: peakGflops ? { name: 'fp32 peak (estimate)', value: peakGflops, unit: 'GFLOP/s' } : null }));
  }

  for (const [B, H, T, D] of options.quick ? [[4, 12, 512, 64]] : [[4, 12, 512, 64], [8, 16, 1024, 64], [2, 8, 2048, 128]]) {
    log(`attention B${B} H${H} T${T} d${D}`);
    const nq = B * H * T * D;
    const q = randomArray(nq, 3), k = randomArray(nq, 4), v = randomArray(nq, 5), dout = randomArray(nq, 6);
    const dq = up(q), dk = up(k), dv = up(v), dgo = up(dout);
    const out = up(new Float32Array(nq)), lse = up(new Float32Array(B * H * T));
    const gq = up(new Float32Array(nq)), gk = up(new Float32Array(nq)), gv = up(new Float32Array(nq));
    const opts = { batch: B, heads: H, tq: T, tk: T, headDim: D, causal: true };
    // Causal: half of the 4·T²·D forward and 10·T²·D backward flops (FlashAttention's count).
    const flops = B * H * (4 + 10) * T * T * D / 2;
    const ours = okSide(timeDevice(() => {
      kernels.attentionForward(dq, dk, dv, out, lse, opts);
      kernels.attentionBackward(dgo, dq, dk, dv, out, lse, gq, gk, gv, opts);
    }), { flops });
    const hostOut = new Float32Array(nq), hostLse = new Float32Array(B * H * T);
    const h = [new Float32Array(nq), new Float32Array(nq), new Float32Array(nq)];
    const peer = T <= 512 ? okSide(timeCpu(() => {
      kernels.attentionForward(q, k, v, hostOut, hostLse, opts);
      kernels.attentionBackward(dout, q, k, v, hostOut, hostLse, h[0], h[1], h[2], opts);
    }), { flops }, { name: 'lmkit CPU' }) : emptySide('skipped', 'too slow on the CPU at this size');
    rows.push(makeRow({ kernel: 'attention fwd+bwd', shape: `B${B} H${H} T${T} d${D} causal`, work: { flops }, ours, peer, threads: options.threads }));
  }

  for (const [rows_, cols] of [[8192, 768], [16384, 4096]]) {
    log(`layernorm ${rows_}×${cols}`);
    const x = randomArray(rows_ * cols, 7), w = randomArray(cols, 8), b = randomArray(cols, 9);
    const dx = up(x), dw = up(w), dbias = up(b), out = up(new Float32Array(x.length)), mean = up(new Float32Array(rows_)), rstd = up(new Float32Array(rows_));
    const bytes = 2 * 4 * rows_ * cols;
    const ours = okSide(timeDevice(() => kernels.layerNormForward(dx, dw, dbias, out, mean, rstd, { rows: rows_, cols })), { bytes });
    const ho = new Float32Array(x.length), hm = new Float32Array(rows_), hr = new Float32Array(rows_);
    const peer = okSide(timeCpu(() => kernels.layerNormForward(x, w, b, ho, hm, hr, { rows: rows_, cols })), { bytes }, { name: 'lmkit CPU' });
    rows.push(makeRow({ kernel: 'layernorm fwd', shape: `${rows_}×${cols}`, work: { bytes }, ours, peer, threads: options.threads }));
  }

  return {
    machine: { cudaDevice: device },
    limits: peakGflops ? { fp32PeakGflops: peakGflops } : {},
    peers: { 'lmkit CPU': `lmkit's CPU backend at ${options.threads} threads` },
    rows,
    notes: [
      'fp32 peak estimate = SMs × fp32 lanes per SM × 2 × SM clock (no cuBLAS here to compare with).',
      'GEMM is the fp32 CUDA-core path (no tensor cores yet).',
    ],
  };
}

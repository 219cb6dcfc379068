// bf16 GEMM (gemmBf16) against the fp32 GEMM (gemm) on the same operands,
// timed interleaved in one process (a shared machine's load hits both sides
// alike); prints per-shape medians and the ratio. Not a test: run by hand,
//   node scripts/bf16_gemm_speed.mjs [reps]      (LMKIT_NUM_THREADS picks threads)
// after `npm run build`.
import os from 'node:os';
import { gemm, gemmBf16 } from '../dist/kernels/gemm.js';
import { backendInfo } from '../dist/runtime.js';

const reps = Number(process.argv[2] ?? 9);
// [m, n, k, transA, transB]: square products, linear layers' forward
// (tokens×768 · Wᵀ), then the backward products of the 4096-token MLP
// projection: dX = G·W and dW = Gᵀ·X.
const shapes = [
  [1024, 1024, 1024, false, false],
  [2048, 2048, 2048, false, false],
  [512, 768, 768, false, true],
  [2048, 3072, 768, false, true],
  [4096, 3072, 768, false, true],
  [4096, 768, 3072, false, false],
  [3072, 768, 4096, true, false],
];
const describe = (m, n, k, transA, transB) =>
  `${transA ? `(${k}x${m})ᵀ` : `${m}x${k}`}·${transB ? `(${n}x${k})ᵀ` : `${k}x${n}`}`;

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
function timeOnce(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const info = backendInfo().cpu;
console.log(`isa ${info.isa}, bf16Gemm ${info.bf16Gemm}, threads ${info.threads}, load average before ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
for (const [m, n, k, transA, transB] of shapes) {
  const a = Float32Array.from({ length: m * k }, rand);
  const b = Float32Array.from({ length: k * n }, rand);
  const c = new Float32Array(m * n);
  const opts = { m, n, k, transA, transB };
  const run32 = () => gemm(a, b, c, opts);
  const run16 = () => gemmBf16(a, b, c, opts);
  run32();
  run16();
  const t32 = [], t16 = [];
  for (let r = 0; r < reps; r++) {
    // Alternate which goes first, so neither always runs on a warmer cache.
    if (r % 2 === 0) { t32.push(timeOnce(run32)); t16.push(timeOnce(run16)); }
    else { t16.push(timeOnce(run16)); t32.push(timeOnce(run32)); }
  }
  const flop = 2 * m * n * k;
  const s32 = median(t32), s16 = median(t16);
  console.log(
    `${describe(m, n, k, transA, transB)}: fp32 ${(flop / s32 / 1e9).toFixed(0)} GFLOP/s, ` +
      `bf16 ${(flop / s16 / 1e9).toFixed(0)} GFLOP/s, ratio ${(s32 / s16).toFixed(2)}×`,
  );
}
console.log(`load average after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

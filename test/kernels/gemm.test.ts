// GEMM against PyTorch fixtures, a float64 reference, and across thread counts.
import t from 'tap';
import { gemm, gemmBatched } from '../../lib/kernels/gemm.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32 } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

/** float64 reference: alpha·op(A)·op(B) + beta·C. */
function gemmReference(
  a: Float32Array, b: Float32Array, c: Float32Array,
  o: { m: number; n: number; k: number; transA?: boolean; transB?: boolean; alpha?: number; beta?: number },
): Float64Array {
  const { m, n, k } = o;
  const alpha = o.alpha ?? 1;
  const beta = o.beta ?? 0;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0;
      for (let p = 0; p < k; p++) {
        const av = o.transA ? a[p * m + i]! : a[i * k + p]!;
        const bv = o.transB ? b[j * k + p]! : b[p * n + j]!;
        acc += av * bv;
      }
      out[i * n + j] = alpha * acc + (beta === 0 ? 0 : beta * c[i * n + j]!);
    }
  return out;
}

// Float32 accumulation over k terms of unit-variance products: error grows
// like sqrt(k)·eps·|terms|; 2e-5·k^0.5 + relative 1e-5 covers k ≤ 1000 with margin.
const tolFor = (k: number) => ({ atol: 2e-5 * Math.sqrt(Math.max(k, 1)) * 4, rtol: 1e-5 });

t.test('gemm matches PyTorch (float64) on odd shapes and all transposes', async (t) => {
  const cases = loadFixtures('gemm');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const opts = c.opts as { m: number; n: number; k: number; transA: boolean; transB: boolean; alpha: number; beta: number };
      const out = f32(c, 'c0').slice();
      gemm(f32(c, 'a'), f32(c, 'b'), out, opts);
      expectClose(t, `${c.name} c`, out, f32(c, 'c'), tolFor(opts.k));
    }
  });
});

t.test('gemm with beta = 0 ignores NaN in C, k = 0 gives beta·C', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(7);
    const a = randn(rng, 5 * 9);
    const b = randn(rng, 9 * 6);
    const c = new Float32Array(5 * 6).fill(NaN);
    gemm(a, b, c, { m: 5, n: 6, k: 9 });
    expectClose(t, 'c', c, gemmReference(a, b, c, { m: 5, n: 6, k: 9 }), tolFor(9));
    const c2 = new Float32Array(12).fill(2);
    gemm(new Float32Array(0), new Float32Array(0), c2, { m: 3, n: 4, k: 0, beta: 0.5 });
    expectClose(t, 'k=0', c2, new Float32Array(12).fill(1), { atol: 0 });
  });
});

t.test('gemmBatched equals a loop of gemm, including broadcast (stride 0)', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(11);
    const [batch, m, n, k] = [3, 13, 21, 37];
    const a = randn(rng, batch * m * k);
    const b = randn(rng, k * n); // shared by every batch entry
    const c = new Float32Array(batch * m * n);
    gemmBatched(a, b, c, { batch, m, n, k, strideB: 0 });
    for (let i = 0; i < batch; i++) {
      const ai = a.subarray(i * m * k, (i + 1) * m * k);
      const want = gemmReference(ai, b, new Float32Array(m * n), { m, n, k });
      expectClose(t, `batch ${i}`, c.subarray(i * m * n, (i + 1) * m * n), want, tolFor(k));
    }
  });
});

t.test('gemm results do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(3);
  const [m, n, k] = [257, 129, 300];
  const a = randn(rng, m * k);
  const b = randn(rng, k * n);
  const initial = numThreads();
  const results: Float32Array[] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const c = new Float32Array(m * n);
    gemm(a, b, c, { m, n, k, transB: false });
    results.push(c);
  }
  setNumThreads(initial);
  expectBitwise(t, '2 threads vs 1', results[1]!, results[0]!);
  expectBitwise(t, '3 threads vs 1', results[2]!, results[0]!);
});

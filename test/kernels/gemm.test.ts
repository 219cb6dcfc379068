// GEMM against PyTorch fixtures, a float64 reference, and across thread counts.
// The shapes straddle every block edge of the fast paths (AVX-512: 12×32
// micro-tiles, C tiles of up to 24 panels × 8, k blocks of 384, the m ≤ 8
// decode path (Bᵀ: m ≤ 4), weight rows in place for Bᵀ from m = 5 to 128
// in 32-row panels, 12-row groups and passes of k ≤ 1024 or 768; AVX2:
// 6×16, up to 96 panels × 8, its own m ≤ 8 path (Bᵀ: m ≤ 5), weight rows
// for Bᵀ up to m = 256 in 16-row panels and 6-row groups), and each body
// runs under every ISA.
import t from 'tap';
import type { Test } from 'tap';
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

type Opts = { m: number; n: number; k: number; transA?: boolean; transB?: boolean; alpha?: number; beta?: number };

/**
 * Elementwise check against the float64 reference with the classical error
 * bound for a float32 dot product in any summation order (Higham, Accuracy and
 * Stability, §3.1): |err| ≤ γ·(|alpha|·Σ_p |a_ip|·|b_pj| + |beta|·|c_ij|) with
 * γ = (k + 4)·2⁻²⁴ (k products/sums, the alpha and beta products, the final
 * sum, the rounding of the result). A correct kernel cannot exceed it; a wrong
 * element (a lost or doubled term) is off by O(1)·|a·b| and fails it. Only
 * rows for which rowsToCheck returns true are checked (large shapes).
 */
function checkGemm(
  t: Test, name: string, got: Float32Array, a: Float32Array, b: Float32Array, c0: Float32Array, o: Opts,
  rowsToCheck: (i: number) => boolean = () => true,
): void {
  const { m, n, k } = o;
  const alpha = o.alpha ?? 1;
  const beta = o.beta ?? 0;
  const gamma = (k + 4) * 2 ** -24;
  let worst = 0;
  let maxDiff = 0;
  let where = '';
  for (let i = 0; i < m; i++) {
    if (!rowsToCheck(i)) continue;
    for (let j = 0; j < n; j++) {
      let acc = 0;
      let mag = 0;
      for (let p = 0; p < k; p++) {
        const prod = (o.transA ? a[p * m + i]! : a[i * k + p]!) * (o.transB ? b[j * k + p]! : b[p * n + j]!);
        acc += prod;
        mag += Math.abs(prod);
      }
      const cij = beta === 0 ? 0 : c0[i * n + j]!;
      const want = alpha * acc + beta * cij;
      const bound = gamma * (Math.abs(alpha) * mag + Math.abs(beta * cij)) + 1e-30;
      const g = got[i * n + j]!;
      const diff = Math.abs(g - want);
      if (!(diff <= bound) && worst !== Infinity) {
        worst = Number.isNaN(diff) ? Infinity : Math.max(worst, diff / bound);
        where = ` at (${i}, ${j}): got ${g}, want ${want}`;
      }
      if (diff > maxDiff) maxDiff = diff;
    }
  }
  t.ok(where === '', `${name}: max abs diff ${maxDiff.toExponential(2)} within (k+4)·2^-24·Σ|terms|${where}`);
}

/** Random operands for a shape; C starts as NaN when beta = 0 (it must not be read). */
function operands(rng: Rng, o: Opts): { a: Float32Array; b: Float32Array; c0: Float32Array } {
  const a = randn(rng, o.m * o.k);
  const b = randn(rng, o.k * o.n);
  const c0 = (o.beta ?? 0) === 0 ? new Float32Array(o.m * o.n).fill(NaN) : randn(rng, o.m * o.n);
  return { a, b, c0 };
}

const transposes: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

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

t.test('gemm matches the float64 reference across block edges, all transposes', async (t) => {
  // m: micro-tile ±1 (12, 6), C-tile rows ±1 (288, 144), 2 and 3 tile rows
  // (B packed in each task in one row, up front from two: 287, 289, 577), last panels of 1–4,
  // 5–8 and 9–11 rows (the shorter kernels); n: 16/32 ±1, C-tile columns ±1
  // (256, 128); k: 1, the k block (384) ±1, two blocks + 1, and others
  // (255–257, 513, 520, 1030) that end a block part-way.
  const shapes: Array<[number, number, number]> = [
    [9, 33, 257], [13, 31, 1], [25, 65, 255], [47, 17, 256], [193, 47, 31],
    [97, 257, 33], [65, 129, 300], [13, 257, 513], [200, 33, 520], [11, 1, 40],
    [128, 40, 70], [129, 40, 70], // AVX-512 reads B in place up to m = 128 (k ≤ 1024), packs above
    [20, 40, 1030], [40, 65, 1030], // deeper: in place up to m = 32, packed above (AVX2 always packs)
    [287, 33, 40], [289, 40, 70], [577, 33, 40],
    [30, 70, 383], [50, 40, 384], [14, 35, 385], [26, 33, 769],
    [16, 12, 1024], [17, 13, 1025], [33, 11, 1600], // Bᵀ weight rows in place: one pass, then 768-deep passes
    [6, 7, 50], [256, 13, 70], [257, 13, 70], // AVX2 Bᵀ: dot products up to 5 rows, weight rows up to 256
  ];
  await forEachIsa(t, (t) => {
    const rng = new Rng(21);
    shapes.forEach(([m, n, k], si) => {
      for (const [transA, transB] of transposes) {
        const o: Opts = si % 2 === 0 ? { m, n, k, transA, transB } : { m, n, k, transA, transB, alpha: -1.25, beta: 0.5 };
        const { a, b, c0 } = operands(rng, o);
        const c = c0.slice();
        gemm(a, b, c, o);
        checkGemm(t, `m${m} n${n} k${k} tA${+transA} tB${+transB}`, c, a, b, c0, o);
      }
    });
  });
});

t.test('gemm decode shapes (m ≤ 8) match the float64 reference', async (t) => {
  // n and k around 16-lane vectors, the 64-column chunk and its 16-column
  // Bᵀ chunk; k = 1 and k < 16 exercise the masked dot-product tail.
  const shapes: Array<[number, number, number]> = [
    [1, 100, 300], [2, 17, 33], [3, 65, 16], [4, 64, 1], [5, 100, 33],
    [6, 200, 70], [7, 1, 300], [8, 129, 17], [8, 31, 300], [1, 1, 1], [3, 5, 7],
    // AVX2, op(B) = B: chunks of up to 512 columns walked in 4-row depth
    // blocks, several column blocks per chunk and a masked last one.
    [1, 1100, 13], [4, 1100, 6], [7, 1100, 9], [2, 3000, 5],
  ];
  await forEachIsa(t, (t) => {
    const rng = new Rng(5);
    shapes.forEach(([m, n, k], si) => {
      for (const [transA, transB] of transposes) {
        const o: Opts = si % 2 === 0 ? { m, n, k, transA, transB, alpha: 0.5, beta: -2 } : { m, n, k, transA, transB };
        const { a, b, c0 } = operands(rng, o);
        const c = c0.slice();
        gemm(a, b, c, o);
        checkGemm(t, `m${m} n${n} k${k} tA${+transA} tB${+transB}`, c, a, b, c0, o);
      }
    });
  });
});

t.test('gemm with k larger than one packed super-block', async (t) => {
  // (m + n)·k = 4.6M floats exceeds the 4M-float packing budget, so k is
  // packed and multiplied in several passes. Every 16th row (and the last
  // rows, a partial micro-tile) is checked to keep the reference cheap.
  const o: Opts = { m: 3001, n: 20, k: 1500, alpha: 1, beta: 1 };
  await forEachIsa(t, (t) => {
    const rng = new Rng(8);
    for (const [transA, transB] of [[false, false], [true, true]] as const) {
      const oo = { ...o, transA, transB };
      const { a, b, c0 } = operands(rng, oo);
      const c = c0.slice();
      gemm(a, b, c, oo);
      checkGemm(t, `m3001 n20 k1500 tA${+transA} tB${+transB}`, c, a, b, c0, oo, (i) => i % 16 === 0 || i >= 2990);
    }
  });
});

t.test('gemm with alpha = 0 gives beta·C and ignores NaN in A and B', async (t) => {
  await forEachIsa(t, (t) => {
    for (const m of [3, 40]) {
      const [n, k] = [20, 9];
      const a = new Float32Array(m * k).fill(NaN);
      const b = new Float32Array(k * n).fill(NaN);
      const c = new Float32Array(m * n).fill(4);
      gemm(a, b, c, { m, n, k, alpha: 0, beta: 0.25 });
      expectClose(t, `m${m} c`, c, new Float32Array(m * n).fill(1), { atol: 0 });
    }
  });
});

t.test('gemmBatched with gaps between matrices and broadcast A', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(13);
    // Small matrices (one task each) and large ones (each spread over the pool).
    for (const [batch, m, n, k] of [[4, 7, 33, 20], [3, 20, 17, 40], [2, 130, 131, 129]] as const) {
      for (const [transA, transB] of transposes) {
        const o: Opts = { m, n, k, transA, transB, alpha: 1.5, beta: 0.5 };
        const strideA = 0; // one A shared by every batch entry
        const strideB = k * n + 3;
        const strideC = m * n + 5;
        const a = randn(rng, m * k);
        const b = randn(rng, (batch - 1) * strideB + k * n);
        const c0 = randn(rng, (batch - 1) * strideC + m * n);
        const c = c0.slice();
        gemmBatched(a, b, c, { ...o, batch, strideA, strideB, strideC });
        for (let i = 0; i < batch; i++) {
          const bi = b.subarray(i * strideB, i * strideB + k * n);
          const ci0 = c0.subarray(i * strideC, i * strideC + m * n);
          const ci = c.subarray(i * strideC, i * strideC + m * n);
          checkGemm(t, `batch ${i} of ${batch}×${m}×${n}×${k} tA${+transA} tB${+transB}`, ci, a, bi, ci0, o);
          if (i + 1 < batch) {
            // The gap between C matrices is untouched.
            const gap = c.subarray(i * strideC + m * n, (i + 1) * strideC);
            expectBitwise(t, `gap after C ${i}`, gap, c0.subarray(i * strideC + m * n, (i + 1) * strideC));
          }
        }
      }
    }
  });
});

t.test('every ISA path gives bitwise the same result for 1, 2 and 3 threads', async (t) => {
  const initial = numThreads();
  try {
    await forEachIsa(t, (t) => {
      const rng = new Rng(17);
      const cases: Array<Opts & { batch?: number }> = [
        { m: 5, n: 300, k: 200 },
        { m: 8, n: 300, k: 200, transB: true },
        { m: 257, n: 129, k: 300, transA: true, beta: 0.5 },
        { m: 100, n: 700, k: 40, transB: true },
        { m: 70, n: 101, k: 1100, transA: true, transB: true, beta: 0.5 }, // weight rows in place, 2 depth passes
        { m: 600, n: 100, k: 300, transB: true },
        { m: 1300, n: 40, k: 50 }, // > 2 tile rows on every path: B packed up front
        { m: 100, n: 700, k: 40 }, // B read in place, C cut into column blocks per thread
        { m: 700, n: 90, k: 300, transA: true, transB: true }, // row blocks per thread, both transposed
        { m: 3, n: 1100, k: 50 }, // AVX2 decode chunks follow the thread count
        { m: 9, n: 70, k: 60, batch: 5 },
      ];
      for (const o of cases) {
        const batch = o.batch ?? 1;
        const a = randn(rng, batch * o.m * o.k);
        const b = randn(rng, batch * o.k * o.n);
        const c0 = randn(rng, batch * o.m * o.n);
        const results: Float32Array[] = [];
        for (const threads of [1, 2, 3]) {
          setNumThreads(threads);
          const c = c0.slice();
          if (o.batch) gemmBatched(a, b, c, { ...o, batch });
          else gemm(a, b, c, o);
          results.push(c);
        }
        const name = `${batch}×${o.m}×${o.n}×${o.k}`;
        expectBitwise(t, `${name}: 2 threads vs 1`, results[1]!, results[0]!);
        expectBitwise(t, `${name}: 3 threads vs 1`, results[2]!, results[0]!);
      }
    });
  } finally {
    setNumThreads(initial);
  }
});

t.test('gemm and gemmBatched reject bad arguments, naming them', async (t) => {
  const a = new Float32Array(6);
  const b = new Float32Array(12);
  const c = new Float32Array(8);
  const ok = { m: 2, n: 4, k: 3 };
  const throwsWith = (fn: () => void, type: ErrorConstructor, text: RegExp, what: string) => {
    t.throws(fn, type, what);
    try {
      fn();
    } catch (err) {
      t.match((err as Error).message, text, `${what}: message`);
    }
  };
  throwsWith(() => gemm(new Float64Array(6) as unknown as Float32Array, b, c, ok), TypeError,
    /gemm: expected a Float32Array for a but received Float64Array/, 'a is a Float64Array');
  throwsWith(() => gemm(a, [1, 2] as unknown as Float32Array, c, ok), TypeError, /for b but received Array/, 'b is an Array');
  throwsWith(() => gemm(a, b, new Int32Array(8) as unknown as Float32Array, ok), TypeError, /for c but received Int32Array/, 'c is an Int32Array');
  throwsWith(() => gemm(a, b, new Float32Array(7), ok), RangeError, /gemm: c has 7 elements, expected m\*n = 8/, 'short c');
  throwsWith(() => gemm(a, new Float32Array(13), c, ok), RangeError, /b has 13 elements, expected k\*n = 12/, 'long b');
  throwsWith(() => gemm(a, b, c, { ...ok, m: 2.5 }), RangeError, /integer for m but received number 2.5/, 'fractional m');
  throwsWith(() => gemm(a, b, c, { ...ok, n: -4 }), RangeError, /integer for n but received number -4/, 'negative n');
  throwsWith(() => gemm(a, b, c, { ...ok, k: '3' as unknown as number }), TypeError, /for k but received string/, 'string k');
  throwsWith(() => gemm(a, b, c, { ...ok, alpha: NaN }), RangeError, /finite number for alpha but received NaN/, 'NaN alpha');
  throwsWith(() => gemm(a, b, c, { ...ok, beta: Infinity }), RangeError, /finite number for beta/, 'infinite beta');
  throwsWith(() => gemm(a, b, c, { ...ok, transA: 1 as unknown as boolean }), TypeError, /boolean for transA/, 'numeric transA');
  const shared = new Float32Array(20);
  throwsWith(() => gemm(shared.subarray(0, 6), b, shared.subarray(4, 12), ok), RangeError, /gemm: c overlaps a/, 'c overlaps a');
  throwsWith(() => gemm(a, shared.subarray(8, 20), shared.subarray(0, 8 + 1).subarray(1), ok), RangeError, /c overlaps b/, 'c overlaps b');
  throwsWith(() => gemm(a, b, c, { m: 2 ** 21, n: 2 ** 21, k: 1 }), RangeError, /gemm: a has 6 elements|too large/, 'huge dims');
  const bo = { ...ok, batch: 2 };
  throwsWith(() => gemmBatched(new Float32Array(11), new Float32Array(24), new Float32Array(16), bo), RangeError,
    /gemmBatched: a has 11 elements, expected at least \(batch-1\)\*strideA \+ m\*k = 12/, 'short batched a');
  throwsWith(() => gemmBatched(new Float32Array(12), new Float32Array(24), new Float32Array(16), { ...bo, strideC: 7 }), RangeError,
    /strideC \(7\) is smaller than m\*n \(8\)/, 'overlapping C matrices');
  throwsWith(() => gemmBatched(new Float32Array(12), new Float32Array(24), new Float32Array(16), { ...bo, batch: 0 }), RangeError,
    /positive integer for batch but received number 0/, 'zero batch');
  throwsWith(() => gemmBatched(new Float32Array(12), new Float32Array(24), new Float32Array(16), { ...bo, strideB: -1 }), RangeError,
    /integer for strideB but received number -1/, 'negative strideB');
});

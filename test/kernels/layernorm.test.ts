// LayerNorm / RMSNorm against PyTorch fixtures, a float64 reference, finite
// differences, across ISAs and thread counts, and with bad arguments.
import t from 'tap';
import {
  layerNormForward, layerNormBackward, rmsNormForward, rmsNormBackward,
} from '../../lib/kernels/layernorm.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32 } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

interface Norm64 {
  out: Float64Array; mean: Float64Array; rstd: Float64Array;
  dx: Float64Array; dweight: Float64Array; dbias: Float64Array;
}

/**
 * float64 reference, written from the definition (not the kernel's factored
 * formula): the backward is the explicit Jacobian-vector product
 * dx_i = Σ_j dout_j·w_j·∂x̂_j/∂x_i, ∂x̂_j/∂x_i = rstd·(δij − c/C − x̂_i·x̂_j/C)
 * with c = 1 for LayerNorm and 0 for RMSNorm.
 */
function normReference(
  centered: boolean, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null,
  dout: ArrayLike<number>, rows: number, cols: number, eps: number,
): Norm64 {
  const r: Norm64 = {
    out: new Float64Array(rows * cols), mean: new Float64Array(rows), rstd: new Float64Array(rows),
    dx: new Float64Array(rows * cols), dweight: new Float64Array(cols), dbias: new Float64Array(cols),
  };
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mean = 0;
    if (centered) {
      for (let j = 0; j < cols; j++) mean += x[o + j]!;
      mean /= cols;
    }
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[o + j]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / cols + eps);
    r.mean[i] = mean;
    r.rstd[i] = rstd;
    const xhat = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      xhat[j] = (x[o + j]! - mean) * rstd;
      r.out[o + j] = xhat[j]! * w[j]! + (b ? b[j]! : 0);
      r.dweight[j] += dout[o + j]! * xhat[j]!;
      r.dbias[j] += dout[o + j]!;
    }
    const c = centered ? 1 : 0;
    for (let k = 0; k < cols; k++) {
      let acc = 0;
      for (let j = 0; j < cols; j++) {
        const jac = rstd * ((j === k ? 1 : 0) - c / cols - (xhat[k]! * xhat[j]!) / cols);
        acc += dout[o + j]! * w[j]! * jac;
      }
      r.dx[o + k] = acc;
    }
  }
  return r;
}

function addTo(base: Float32Array, delta: ArrayLike<number>): Float64Array {
  const out = new Float64Array(base.length);
  for (let i = 0; i < base.length; i++) out[i] = base[i]! + delta[i]!;
  return out;
}

// Tolerances. Forward: y = x̂·w + b in float32 with rstd from a float sum over
// ≤ 1000 values: ~10 ulp of |y| ≲ 10 ⇒ 2e-5 absolute + 2e-5 relative.
// dx subtracts two row means of g (float sums over ≤ 1000 terms of size ~3),
// scaled by rstd ≤ 1: 5e-5 absolute + 1e-4 relative. dweight/dbias sum ≤ 33
// rows of O(3) products plus the initial 0.5 offset: 5e-5 + 1e-5 relative.
const tolOut = { atol: 2e-5, rtol: 2e-5 };
const tolDx = { atol: 5e-5, rtol: 1e-4 };
const tolDw = { atol: 5e-5, rtol: 1e-5 };
const tolStat = { atol: 1e-6, rtol: 2e-6 };

t.test('layerNorm/rmsNorm match PyTorch (float64) forward and backward', async (t) => {
  const cases = loadFixtures('layernorm');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const o = c.opts as { kind: string; rows: number; cols: number; eps: number };
      const { rows, cols } = o;
      const x = f32(c, 'x');
      const w = f32(c, 'weight');
      const dout = f32(c, 'dout');
      const out = new Float32Array(rows * cols);
      const rstd = new Float32Array(rows);
      const dx = new Float32Array(rows * cols);
      // dweight/dbias accumulate: start from 0.5 and expect 0.5 + grad.
      const dweight = new Float32Array(cols).fill(0.5);
      if (o.kind === 'layernorm') {
        const mean = new Float32Array(rows);
        const dbias = new Float32Array(cols).fill(0.5);
        layerNormForward(x, w, f32(c, 'bias'), out, mean, rstd, { rows, cols, eps: o.eps });
        layerNormBackward(dout, x, w, mean, rstd, dx, dweight, dbias, { rows, cols });
        expectClose(t, `${c.name} mean`, mean, f32(c, 'mean'), tolStat);
        expectClose(t, `${c.name} dbias`, dbias, addTo(new Float32Array(cols).fill(0.5), f32(c, 'dbias')), tolDw);
      } else {
        rmsNormForward(x, w, out, rstd, { rows, cols, eps: o.eps });
        rmsNormBackward(dout, x, w, rstd, dx, dweight, { rows, cols });
      }
      expectClose(t, `${c.name} out`, out, f32(c, 'out'), tolOut);
      expectClose(t, `${c.name} rstd`, rstd, f32(c, 'rstd'), { atol: 1e-6, rtol: 5e-6 });
      expectClose(t, `${c.name} dx`, dx, f32(c, 'dx'), tolDx);
      expectClose(t, `${c.name} dweight`, dweight, addTo(new Float32Array(cols).fill(0.5), f32(c, 'dweight')), tolDw);
    }
  });
});

t.test('layerNorm/rmsNorm match a float64 reference on odd shapes', async (t) => {
  // AVX2 takes 4-vector steps, whole vectors, then one masked tail: 64 and 40
  // columns end on a step and on a whole vector.
  const shapes: [number, number][] = [[1, 1], [1, 7], [7, 33], [33, 1000], [5, 15], [4, 17], [130, 31], [3, 64], [2, 40]];
  await forEachIsa(t, (t) => {
    const rng = new Rng(99);
    for (const [rows, cols] of shapes) {
      const x = randn(rng, rows * cols, 2);
      const w = randn(rng, cols);
      const b = randn(rng, cols);
      const dout = randn(rng, rows * cols);
      const mean = new Float32Array(rows);
      const rstd = new Float32Array(rows);
      const out = new Float32Array(rows * cols);
      const dx = new Float32Array(rows * cols);
      const dweight = new Float32Array(cols);
      const dbias = new Float32Array(cols);
      layerNormForward(x, w, b, out, mean, rstd, { rows, cols });
      layerNormBackward(dout, x, w, mean, rstd, dx, dweight, dbias, { rows, cols });
      const ref = normReference(true, x, w, b, dout, rows, cols, 1e-5);
      expectClose(t, `ln ${rows}x${cols} out`, out, ref.out, tolOut);
      expectClose(t, `ln ${rows}x${cols} dx`, dx, ref.dx, tolDx);
      // 130 rows of O(2) products: float accumulation error grows like sqrt(rows).
      const tolSum = { atol: 5e-5 * Math.sqrt(rows), rtol: 1e-5 };
      expectClose(t, `ln ${rows}x${cols} dweight`, dweight, ref.dweight, tolSum);
      expectClose(t, `ln ${rows}x${cols} dbias`, dbias, ref.dbias, tolSum);

      const rmsOut = new Float32Array(rows * cols);
      const rmsDx = new Float32Array(rows * cols);
      const rmsDw = new Float32Array(cols);
      rmsNormForward(x, w, rmsOut, rstd, { rows, cols });
      rmsNormBackward(dout, x, w, rstd, rmsDx, rmsDw, { rows, cols });
      const rr = normReference(false, x, w, null, dout, rows, cols, 1e-6);
      expectClose(t, `rms ${rows}x${cols} out`, rmsOut, rr.out, tolOut);
      expectClose(t, `rms ${rows}x${cols} rstd`, rstd, rr.rstd, { atol: 1e-6, rtol: 5e-6 });
      expectClose(t, `rms ${rows}x${cols} dx`, rmsDx, rr.dx, tolDx);
      expectClose(t, `rms ${rows}x${cols} dweight`, rmsDw, rr.dweight, tolSum);
    }
  });
});

t.test('layerNorm keeps precision when |mean| >> std (corrected two-pass variance)', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(5);
    const [rows, cols] = [3, 1000];
    const x = new Float32Array(rows * cols);
    for (let i = 0; i < x.length; i++) x[i] = 1000 + 0.01 * rng.normal();
    const w = new Float32Array(cols).fill(1);
    const b = new Float32Array(cols);
    const out = new Float32Array(rows * cols);
    layerNormForward(x, w, b, out, new Float32Array(rows), new Float32Array(rows), { rows, cols, eps: 0 });
    const ref = normReference(true, x, w, b, new Float32Array(rows * cols), rows, cols, 0);
    // x̂ = O(3); a naive float mean would be off by ~1e-4 (1% of std) and
    // shift every x̂ by ~0.01. The corrected form is limited by rstd's float
    // rounding and the rounding of (x − mean): 1e-4 absolute.
    expectClose(t, 'xhat', out, ref.out, { atol: 1e-4 });
  });
});

t.test('layerNorm/rmsNorm backward match central finite differences of the float64 reference', async (t) => {
  // The reference's Jacobian formula is itself checked here: differentiate
  // L = Σ dout∘y numerically (float64, h = 1e-6: truncation O(h²) ≈ 1e-12,
  // rounding ≈ 1e-16/h = 1e-10), then compare the float32 kernel with it.
  const rng = new Rng(21);
  const [rows, cols] = [3, 7];
  const x = randn(rng, rows * cols);
  const w = randn(rng, cols);
  const b = randn(rng, cols);
  const dout = randn(rng, rows * cols);
  for (const centered of [true, false]) {
    const loss = (xs: ArrayLike<number>, ws: ArrayLike<number>, bs: ArrayLike<number>) => {
      const r = normReference(centered, xs, ws, centered ? bs : null, dout, rows, cols, 1e-5);
      let l = 0;
      for (let i = 0; i < r.out.length; i++) l += r.out[i]! * dout[i]!;
      return l;
    };
    // Perturbs `arr` (one of xs, ws, bs) in place.
    const numeric = (arr: Float64Array, xs: Float64Array, ws: Float64Array, bs: Float64Array) => {
      const g = new Float64Array(arr.length);
      const h = 1e-6;
      for (let i = 0; i < arr.length; i++) {
        const keep = arr[i]!;
        arr[i] = keep + h;
        const up = loss(xs, ws, bs);
        arr[i] = keep - h;
        const down = loss(xs, ws, bs);
        arr[i] = keep;
        g[i] = (up - down) / (2 * h);
      }
      return g;
    };
    const xs = Float64Array.from(x);
    const ws = Float64Array.from(w);
    const bs = Float64Array.from(b);
    const gx = numeric(xs, xs, ws, bs);
    const gw = numeric(ws, xs, ws, bs);
    const gb = numeric(bs, xs, ws, bs);
    const dx = new Float32Array(rows * cols);
    const dweight = new Float32Array(cols);
    const rstd = new Float32Array(rows);
    const name = centered ? 'layerNorm' : 'rmsNorm';
    if (centered) {
      const mean = new Float32Array(rows);
      const dbias = new Float32Array(cols);
      layerNormForward(x, w, b, new Float32Array(rows * cols), mean, rstd, { rows, cols });
      layerNormBackward(dout, x, w, mean, rstd, dx, dweight, dbias, { rows, cols });
      expectClose(t, `${name} dbias vs finite diff`, dbias, gb, { atol: 1e-5 });
    } else {
      rmsNormForward(x, w, new Float32Array(rows * cols), rstd, { rows, cols, eps: 1e-5 });
      rmsNormBackward(dout, x, w, rstd, dx, dweight, { rows, cols });
    }
    // float32 kernel vs float64 numeric gradient: a few ulp of O(3) values.
    expectClose(t, `${name} dx vs finite diff`, dx, gx, { atol: 2e-5, rtol: 1e-4 });
    expectClose(t, `${name} dweight vs finite diff`, dweight, gw, { atol: 2e-5, rtol: 1e-4 });
  }
});

t.test('layerNorm/rmsNorm results do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(8);
  const [rows, cols] = [517, 193]; // several backward chunks, a ragged last one
  const x = randn(rng, rows * cols);
  const w = randn(rng, cols);
  const b = randn(rng, cols);
  const dout = randn(rng, rows * cols);
  const initial = numThreads();
  const runs: Float32Array[][] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const out = new Float32Array(rows * cols);
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    const dx = new Float32Array(rows * cols);
    const dweight = new Float32Array(cols);
    const dbias = new Float32Array(cols);
    layerNormForward(x, w, b, out, mean, rstd, { rows, cols });
    layerNormBackward(dout, x, w, mean, rstd, dx, dweight, dbias, { rows, cols });
    const rmsDx = new Float32Array(rows * cols);
    const rmsDw = new Float32Array(cols);
    rmsNormForward(x, w, new Float32Array(rows * cols), rstd, { rows, cols });
    rmsNormBackward(dout, x, w, rstd, rmsDx, rmsDw, { rows, cols });
    runs.push([out, dx, dweight, dbias, rmsDx, rmsDw]);
  }
  setNumThreads(initial);
  const names = ['out', 'dx', 'dweight', 'dbias', 'rms dx', 'rms dweight'];
  for (const k of [1, 2])
    names.forEach((n, i) => expectBitwise(t, `${n}: ${k + 1} threads vs 1`, runs[k]![i]!, runs[0]![i]!));
});

t.test('layerNorm/rmsNorm with rows = 0 do nothing', async (t) => {
  const w = new Float32Array(4);
  const dweight = new Float32Array(4).fill(1);
  const e = new Float32Array(0);
  layerNormForward(e, w, w.slice(), e, e, e, { rows: 0, cols: 4 });
  layerNormBackward(e, e, w, e, e, e, dweight, new Float32Array(4), { rows: 0, cols: 4 });
  rmsNormBackward(e, e, w, e, e, dweight, { rows: 0, cols: 4 });
  t.same(Array.from(dweight), [1, 1, 1, 1], 'dweight untouched');
});

t.test('layerNorm/rmsNorm reject bad arguments, naming them', async (t) => {
  const [rows, cols] = [3, 4];
  const x = new Float32Array(rows * cols);
  const w = new Float32Array(cols);
  const b = new Float32Array(cols);
  const out = new Float32Array(rows * cols);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  const dx = new Float32Array(rows * cols);
  const dw = new Float32Array(cols);
  const db = new Float32Array(cols);
  const fwd = (o: Partial<Record<string, unknown>>, args: Partial<Record<string, unknown>> = {}) => () =>
    layerNormForward(
      (args.x ?? x) as Float32Array, (args.w ?? w) as Float32Array, b, (args.out ?? out) as Float32Array,
      mean, rstd, { rows, cols, ...o } as never,
    );
  t.throws(fwd({}, { x: new Float64Array(12) }), { name: 'TypeError', message: /layerNormForward: expected a Float32Array for x but received Float64Array/ });
  t.throws(fwd({}, { x: new Float32Array(11) }), { name: 'RangeError', message: /layerNormForward: x has 11 elements, expected rows\*cols = 12/ });
  t.throws(fwd({}, { w: new Float32Array(5) }), { name: 'RangeError', message: /weight has 5 elements, expected cols = 4/ });
  t.throws(fwd({ rows: 2.5 }), { name: 'RangeError', message: /non-negative integer for rows/ });
  t.throws(fwd({ cols: -1 }), { name: 'RangeError', message: /positive integer for cols/ });
  t.throws(fwd({ cols: 0 }), { name: 'RangeError', message: /positive integer for cols/ });
  t.throws(fwd({ rows: '3' }), { name: 'TypeError', message: /for rows but received string/ });
  t.throws(fwd({ eps: NaN }), { name: 'RangeError', message: /layerNormForward: expected a finite number for eps but received NaN/ });
  t.throws(fwd({ eps: -1 }), { name: 'RangeError', message: /number in \[0, .*\] for eps/ });
  t.throws(fwd({}, { out: x }), { name: 'RangeError', message: /layerNormForward: out overlaps x/ });
  const big = new Float32Array(rows * cols + rows);
  t.throws(fwd({}, { out: big.subarray(0, rows * cols), x: big.subarray(rows, rows + rows * cols) }), { message: /out overlaps x/ });
  t.throws(() => layerNormBackward(out, x, w, mean, rstd, dx, dw, dw, { rows, cols }),
    { name: 'RangeError', message: /layerNormBackward: dweight overlaps dbias/ });
  t.throws(() => layerNormBackward(out, x, w, mean, rstd, dx, dw, new Float32Array(3), { rows, cols }),
    { name: 'RangeError', message: /dbias has 3 elements, expected cols = 4/ });
  t.throws(() => layerNormBackward(out, x, w, mean, new Float32Array(2), dx, dw, db, { rows, cols }),
    { name: 'RangeError', message: /rstd has 2 elements, expected rows = 3/ });
  t.throws(() => layerNormBackward(out, x, w, mean, rstd, dx, dw, db, { rows: 1e20, cols }),
    { name: 'RangeError', message: /rows/ });
  t.throws(() => rmsNormForward(x, w, out, rstd, { rows, cols, eps: Infinity }),
    { name: 'RangeError', message: /rmsNormForward: expected a finite number for eps/ });
  t.throws(() => rmsNormBackward(out, x, w, rstd, out, dw, { rows, cols }),
    { name: 'RangeError', message: /rmsNormBackward: dx overlaps dout/ });
  t.throws(() => rmsNormBackward(out, x, w, rstd, dx, new Int32Array(cols) as never, { rows, cols }),
    { name: 'TypeError', message: /Float32Array for dweight but received Int32Array/ });
});

t.test('layerNorm/rmsNorm bits do not depend on where the buffers start (alignment)', async (t) => {
  // The AVX-512 path cuts columns where the output's 64-byte lines start; the
  // row sums must not follow that cut. cols % 16 = 8 makes the cut move row by row;
  // with cols % 16 = 0 the backward's vectors straddle rows, and 1100 × 256 has
  // several row groups and chunks (their first and last rows are special cases).
  // From 64 rows the kernels copy w and b to their own alignment unless they
  // already have it, so their offsets vary too.
  await forEachIsa(t, (t) => {
    for (const [rows, cols] of [[37, 200], [20, 256], [1100, 256]] as [number, number][]) {
      const rng = new Rng(21);
      const src = { x: randn(rng, rows * cols, 2), dout: randn(rng, rows * cols), w: randn(rng, cols), b: randn(rng, cols) };
      const run = (outOff: number, inOff: number, paramOff: number): Float32Array[] => {
        const view = (data: Float32Array | null, n: number, off: number) => {
          const v = new Float32Array(n + 16).subarray(off, off + n);
          if (data) v.set(data);
          return v;
        };
        const x = view(src.x, rows * cols, inOff);
        const dout = view(src.dout, rows * cols, inOff);
        const out = view(null, rows * cols, outOff);
        const dx = view(null, rows * cols, outOff);
        const mean = view(null, rows, outOff);
        const rstd = view(null, rows, outOff);
        const dweight = view(null, cols, outOff);
        const dbias = view(null, cols, inOff);
        const w = view(src.w, cols, paramOff);
        const b = view(src.b, cols, (paramOff * 5) % 16);
        layerNormForward(x, w, b, out, mean, rstd, { rows, cols });
        layerNormBackward(dout, x, w, mean, rstd, dx, dweight, dbias, { rows, cols });
        const rmsOut = view(null, rows * cols, outOff);
        const rmsRstd = view(null, rows, inOff);
        const rmsDx = view(null, rows * cols, inOff);
        const rmsDw = view(null, cols, outOff);
        rmsNormForward(x, w, rmsOut, rmsRstd, { rows, cols });
        rmsNormBackward(dout, x, w, rmsRstd, rmsDx, rmsDw, { rows, cols });
        return [out, mean, rstd, dx, dweight, dbias, rmsOut, rmsRstd, rmsDx, rmsDw];
      };
      const names = ['out', 'mean', 'rstd', 'dx', 'dweight', 'dbias', 'rms out', 'rms rstd', 'rms dx', 'rms dweight'];
      const base = run(0, 0, 0);
      for (let off = 1; off < 16; off++) {
        const got = run(off, (off * 7) % 16, (off * 3) % 16);
        names.forEach((n, i) => expectBitwise(t, `${rows}x${cols} ${n} at offset ${off}`, got[i]!, base[i]!));
      }
    }
  });
});

t.test('layerNorm/rmsNorm backward with dx ≥ 16 MiB (streaming stores) matches row-by-row calls', async (t) => {
  // From 16 MiB of dx the AVX-512 path stores dx past the caches. Rows do not
  // interact in dx, so a small call on a few rows must give the same bits;
  // dweight/dbias (4096 rows) are checked against float64 sums.
  const [rows, cols] = [4096, 1024];
  const rng = new Rng(31);
  const x = randn(rng, rows * cols, 2);
  const dout = randn(rng, rows * cols);
  const w = randn(rng, cols);
  const b = randn(rng, cols);
  const dwRef = new Float64Array(cols);
  const dbRef = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let mean = 0;
    for (let j = 0; j < cols; j++) mean += x[o + j]!;
    mean /= cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (x[o + j]! - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / cols + 1e-5);
    for (let j = 0; j < cols; j++) {
      dwRef[j] += dout[o + j]! * (x[o + j]! - mean) * rstd;
      dbRef[j] += dout[o + j]!;
    }
  }
  await forEachIsa(t, (t) => {
    const mean = new Float32Array(rows);
    const rstd = new Float32Array(rows);
    const dx = new Float32Array(rows * cols);
    const dweight = new Float32Array(cols);
    const dbias = new Float32Array(cols);
    layerNormForward(x, w, b, new Float32Array(rows * cols), mean, rstd, { rows, cols });
    layerNormBackward(dout, x, w, mean, rstd, dx, dweight, dbias, { rows, cols });
    const tolSum = { atol: 5e-5 * Math.sqrt(rows), rtol: 1e-5 };
    expectClose(t, 'dweight', dweight, dwRef, tolSum);
    expectClose(t, 'dbias', dbias, dbRef, tolSum);
    for (const r0 of [0, 2047, rows - 5]) {
      const n = 5;
      const sl = (a: Float32Array, per: number) => a.slice(r0 * per, (r0 + n) * per);
      const dxRows = new Float32Array(n * cols);
      layerNormBackward(sl(dout, cols), sl(x, cols), w, sl(mean, 1), sl(rstd, 1), dxRows,
        new Float32Array(cols), new Float32Array(cols), { rows: n, cols });
      expectBitwise(t, `dx rows ${r0}..${r0 + n - 1}`, sl(dx, cols), dxRows);
    }
  });
});

// GELU (exact and tanh) and SiLU against PyTorch fixtures, a float64
// reference, finite differences, every ISA, in-place use and bad arguments.
import t from 'tap';
import { geluForward, geluBackward, siluForward, siluBackward } from '../../lib/kernels/activations.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32 } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

/** erf in float64: Taylor series for |x| < 2.5, continued fraction of erfc beyond (both ≲ 1e-14). */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let k = 80; k >= 1; k--) f = k / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return x > 0 ? 1 - erfc : erfc - 1;
}

type Op = 'gelu_none' | 'gelu_tanh' | 'silu';
const K = Math.sqrt(2 / Math.PI);
const reference: Record<Op, { f: (x: number) => number; df: (x: number) => number }> = {
  gelu_none: {
    f: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    df: (x) => 0.5 * (1 + erf(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  },
  gelu_tanh: {
    f: (x) => 0.5 * x * (1 + Math.tanh(K * (x + 0.044715 * x ** 3))),
    df: (x) => {
      const th = Math.tanh(K * (x + 0.044715 * x ** 3));
      return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * K * (1 + 3 * 0.044715 * x * x);
    },
  },
  silu: {
    f: (x) => x / (1 + Math.exp(-x)),
    df: (x) => {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 + x * (1 - s));
    },
  },
};

function forward(op: Op, x: Float32Array, out: Float32Array): void {
  if (op === 'silu') siluForward(x, out);
  else geluForward(x, out, { approximate: op === 'gelu_tanh' ? 'tanh' : 'none' });
}
function backward(op: Op, dout: Float32Array, x: Float32Array, dx: Float32Array): void {
  if (op === 'silu') siluBackward(dout, x, dx);
  else geluBackward(dout, x, dx, { approximate: op === 'gelu_tanh' ? 'tanh' : 'none' });
}
const OPS: Op[] = ['gelu_none', 'gelu_tanh', 'silu'];

// Tolerances, from the measured error of each path on [−10, 10] (see
// activations.cpp): ≤ 5.5e-7 absolute anywhere, SiLU ≤ 1.6e-7 relative. f is
// up to |x| ≈ 30 here, so 1e-6 absolute + 4e-7 relative leaves ~2× margin;
// derivatives (≤ 2.2e-7 measured, times |dout| ≲ 4): 1.5e-6 absolute.
const tolF = { atol: 1e-6, rtol: 4e-7 };
const tolDf = { atol: 1.5e-6, rtol: 4e-7 };

t.test('GELU (none, tanh) and SiLU match PyTorch (float64)', async (t) => {
  const cases = loadFixtures('activations');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const op = (c.opts as { op: Op }).op;
      const x = f32(c, 'x');
      const out = new Float32Array(x.length).fill(NaN);
      const dx = new Float32Array(x.length).fill(NaN);
      forward(op, x, out);
      backward(op, f32(c, 'dout'), x, dx);
      expectClose(t, `${c.name} out`, out, f32(c, 'out'), tolF);
      expectClose(t, `${c.name} dx`, dx, f32(c, 'dx'), tolDf);
    }
  });
});

t.test('GELU and SiLU match a float64 reference on a dense grid (incl. the polynomial exp/erf)', async (t) => {
  // x ∈ [−12, 12] every 2^-8, n = 6145: odd length, covers the AVX tails.
  const n = 6145;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -12 + i / 256;
  const ones = new Float32Array(n).fill(1);
  await forEachIsa(t, (t) => {
    for (const op of OPS) {
      const out = new Float32Array(n);
      const dx = new Float32Array(n);
      forward(op, x, out);
      backward(op, ones, x, dx);
      expectClose(t, `${op} f`, out, Array.from(x, reference[op].f), tolF);
      expectClose(t, `${op} f'`, dx, Array.from(x, reference[op].df), tolDf);
    }
  });
});

t.test('SiLU keeps relative accuracy deep in the negative tail (vector exp up to e^87)', async (t) => {
  // silu(x) ≈ x·e^x for x ≪ 0, so its relative error is exp's (≤ 1.2e-7)
  // plus one add, one divide and one multiply (≤ 3 half-ulps): 4e-7.
  const n = 1001;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -87 + (i * 87) / (n - 1);
  await forEachIsa(t, (t) => {
    const out = new Float32Array(n);
    siluForward(x, out);
    expectClose(t, 'silu relative', out, Array.from(x, reference.silu.f), { atol: 0, rtol: 4e-7 });
  });
});

t.test('backward passes match central differences of the float64 reference', async (t) => {
  // Checks the derivative formulas themselves (h = 1e-5 in float64: error
  // ≲ 1e-9), then the float32 kernels against them.
  const x = randn(new Rng(5), 257, 3);
  const dout = randn(new Rng(6), 257);
  await forEachIsa(t, (t) => {
    for (const op of OPS) {
      const h = 1e-5;
      const numeric = Array.from(x, (v, i) => (dout[i]! * (reference[op].f(v + h) - reference[op].f(v - h))) / (2 * h));
      const dx = new Float32Array(x.length);
      backward(op, dout, x, dx);
      expectClose(t, `${op} dx vs finite diff`, dx, numeric, tolDf);
    }
  });
});

t.test('in place: out === x and dx === dout are allowed and give the same result', async (t) => {
  await forEachIsa(t, (t) => {
    for (const op of OPS) {
      const x = randn(new Rng(7), 1000, 2);
      const dout = randn(new Rng(8), 1000);
      const out = new Float32Array(x.length);
      const dx = new Float32Array(x.length);
      forward(op, x, out);
      backward(op, dout, x, dx);
      const xInPlace = x.slice();
      forward(op, xInPlace, xInPlace);
      expectBitwise(t, `${op} forward in place`, xInPlace, out);
      const doutInPlace = dout.slice();
      backward(op, doutInPlace, x, doutInPlace);
      expectBitwise(t, `${op} backward in place (dx = dout)`, doutInPlace, dx);
      const xAsDx = x.slice();
      backward(op, dout, xAsDx, xAsDx);
      expectBitwise(t, `${op} backward in place (dx = x)`, xAsDx, dx);
    }
  });
});

// −inf is left unspecified (PyTorch returns NaN: −inf·0); the paths may differ there.
t.test('NaN propagates, +Infinity maps to +Infinity, empty input is a no-op', async (t) => {
  await forEachIsa(t, (t) => {
    const x = Float32Array.from([NaN, Infinity, -Infinity, 0, 1, 2, 3, 4, 5]);
    for (const op of OPS) {
      const out = new Float32Array(x.length);
      forward(op, x, out);
      t.ok(Number.isNaN(out[0]), `${op}(NaN) is NaN`);
      t.equal(out[1], Infinity, `${op}(+inf) = +inf`);
      forward(op, new Float32Array(0), new Float32Array(0));
    }
  });
});

t.test('activations do not depend on the thread count (bitwise)', async (t) => {
  const x = randn(new Rng(10), 70001, 3);
  const initial = numThreads();
  const runs: Float32Array[] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const out = new Float32Array(x.length);
    geluForward(x, out);
    runs.push(out);
  }
  setNumThreads(initial);
  expectBitwise(t, '2 threads vs 1', runs[1]!, runs[0]!);
  expectBitwise(t, '3 threads vs 1', runs[2]!, runs[0]!);
});

t.test('activations reject bad arguments, naming them', async (t) => {
  const x = new Float32Array(8);
  const out = new Float32Array(8);
  t.throws(() => geluForward(x, new Float32Array(7)), { name: 'RangeError', message: 'geluForward: out has 7 elements, expected x.length = 8' });
  t.throws(() => geluForward(new Float64Array(8) as never, out), { name: 'TypeError', message: /geluForward: expected a Float32Array for x but received Float64Array/ });
  t.throws(() => geluForward(x, out, { approximate: 'erf' as never }), { name: 'RangeError', message: /expected one of 'none', 'tanh' for approximate but received string "erf"/ });
  t.throws(() => geluForward(x, out, { approximate: 1 as never }), { name: 'TypeError', message: /for approximate but received number 1/ });
  const buf = new Float32Array(9);
  t.throws(() => geluForward(buf.subarray(0, 8), buf.subarray(1, 9)), { name: 'RangeError', message: /geluForward: out overlaps x/ });
  t.throws(() => siluForward(buf.subarray(1, 9), buf.subarray(0, 8)), { name: 'RangeError', message: /siluForward: out overlaps x/ });
  t.throws(() => geluBackward(x, x, new Float32Array(9)), { name: 'RangeError', message: /geluBackward: dx has 9 elements, expected x.length = 8/ });
  t.throws(() => geluBackward(new Float32Array(3), x, out), { name: 'RangeError', message: /geluBackward: dout has 3 elements/ });
  t.throws(() => siluBackward(buf.subarray(0, 8), x, buf.subarray(1, 9)), { name: 'RangeError', message: /siluBackward: dx overlaps dout/ });
  t.throws(() => siluBackward(x, buf.subarray(0, 8), buf.subarray(1, 9)), { name: 'RangeError', message: /siluBackward: dx overlaps x/ });
  t.throws(() => siluBackward(x, x, null as never), { name: 'TypeError', message: /Float32Array for dx but received null/ });
  t.throws(() => (siluForward as (...a: unknown[]) => void)(x), { name: 'TypeError', message: /siluForward: expected a Float32Array for out but received undefined/ });
});

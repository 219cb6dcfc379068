// permute (strided copy) against a JS reference that maps every output index
// to its source index, across ISAs (scalar is the reference path, AVX2/512
// the run-copy and tiled-transpose paths) and thread counts.
import t from 'tap';
import { permute } from '../../lib/kernels/permute.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

/** out[i] = x[src(i)], src computed from the output multi-index digit by digit. */
function reference(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  const nd = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const strides = shape.map((_, a) => shape.slice(a + 1).reduce((p, d) => p * d, 1));
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) {
    let rest = i, src = 0;
    for (let k = nd - 1; k >= 0; k--) {
      src += (rest % outShape[k]!) * strides[perm[k]!]!;
      rest = Math.floor(rest / outShape[k]!);
    }
    out[i] = x[src]!;
  }
  return out;
}

const run = (x: Float32Array, shape: number[], perm: number[]): Float32Array => {
  const out = new Float32Array(x.length).fill(NaN);
  permute(x, out, { shape: Int32Array.from(shape), perm: Int32Array.from(perm) });
  return out;
};

// [shape, perm, why]
const cases: [number[], number[], string][] = [
  [[], [], 'a scalar'],
  [[7], [0], 'the identity'],
  [[2, 7, 3, 3, 5], [2, 0, 3, 1, 4], 'head split (B, T, 3, NH, HS) → (3, B, NH, T, HS)'],
  [[2, 3, 7, 5], [0, 2, 1, 3], 'head merge (B, NH, T, HS) → (B, T, NH, HS)'],
  [[33, 1000], [1, 0], '2-D transpose (tiled path, ragged tiles)'],
  [[1000, 33], [1, 0], '2-D transpose, the other aspect'],
  [[7, 33, 17], [2, 1, 0], 'full reversal'],
  [[5, 6, 7], [2, 0, 1], 'innermost axis strided, contiguous axis not next to it (gather path)'],
  [[1, 7, 1, 5], [2, 3, 0, 1], 'size-1 axes dropped'],
  [[3, 0, 4], [2, 0, 1], 'an empty axis'],
  [[2, 1, 3, 1, 2, 1, 3, 2], [7, 6, 5, 4, 3, 2, 1, 0], 'eight axes'],
];

t.test('permute matches the index-mapping reference on every ISA (bitwise: it is a copy)', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(5);
    for (const [shape, perm, why] of cases) {
      const x = randn(rng, shape.reduce((p, d) => p * d, 1));
      expectBitwise(t, `${why} [${shape}] perm [${perm}]`, run(x, shape, perm), reference(x, shape, perm));
    }
    // Random small problems: every rank up to 6, every kind of perm.
    let bad = 0;
    for (let i = 0; i < 300; i++) {
      const nd = rng.int(1, 7);
      const shape = Array.from({ length: nd }, () => rng.int(1, 8));
      const perm = [...Array(nd).keys()];
      for (let k = nd - 1; k > 0; k--) {
        const j = rng.int(0, k + 1);
        [perm[k], perm[j]] = [perm[j]!, perm[k]!];
      }
      const x = randn(rng, shape.reduce((p, d) => p * d, 1));
      const got = run(x, shape, perm), want = reference(x, shape, perm);
      if (got.some((v, j) => !Object.is(v, want[j]))) {
        bad++;
        t.fail(`[${shape}] perm [${perm}] differs from the reference`);
      }
    }
    t.equal(bad, 0, '300 random shapes and perms equal the reference');
  });
});

t.test('permute of a large tensor does not depend on the thread count', async (t) => {
  const rng = new Rng(6);
  const shape = [4, 64, 3, 6, 64], perm = [2, 0, 3, 1, 4]; // several tasks per thread
  const x = randn(rng, shape.reduce((p, d) => p * d, 1));
  const want = reference(x, shape, perm);
  const transposed = [[300, 257], [1, 0]] as const;
  const xt = randn(rng, 300 * 257);
  const wantT = reference(xt, [...transposed[0]], [...transposed[1]]);
  const initial = numThreads();
  try {
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      expectBitwise(t, `head split, ${threads} threads`, run(x, shape, perm), want);
      expectBitwise(t, `transpose, ${threads} threads`, run(xt, [...transposed[0]], [...transposed[1]]), wantT);
    }
  } finally {
    setNumThreads(initial);
  }
});

t.test('permute rejects bad arguments with named errors', async (t) => {
  const x = new Float32Array(6), out = new Float32Array(6);
  const opts = (shape: number[], perm: number[]) => ({ shape: Int32Array.from(shape), perm: Int32Array.from(perm) });
  t.throws(() => permute(new Int32Array(6) as unknown as Float32Array, out, opts([2, 3], [1, 0])),
    { name: 'TypeError', message: /permute: expected a Float32Array for x but received Int32Array/ });
  t.throws(() => permute(x, out, { perm: Int32Array.from([1, 0]) } as never),
    { name: 'TypeError', message: /permute: expected an Int32Array for shape but received undefined/ });
  t.throws(() => permute(x, out, { shape: [2, 3], perm: Int32Array.from([1, 0]) } as never),
    { name: 'TypeError', message: /permute: expected an Int32Array for shape but received Array/ });
  t.throws(() => permute(x, out, opts([2, 3], [1])),
    { name: 'RangeError', message: /permute: perm has 1 elements, expected shape.length = 2/ });
  t.throws(() => permute(x, out, opts([2, 3], [1, 1])),
    { name: 'RangeError', message: /permute: perm\[1\] is 1, expected each of 0..1 exactly once/ });
  t.throws(() => permute(x, out, opts([2, 3], [0, 2])),
    { name: 'RangeError', message: /permute: perm\[1\] is 2/ });
  t.throws(() => permute(x, out, opts([2, -3], [1, 0])),
    { name: 'RangeError', message: /permute: shape\[1\] is -3, expected a non-negative size/ });
  t.throws(() => permute(x, out, opts([2, 4], [1, 0])),
    { name: 'RangeError', message: /permute: x has 6 elements, expected the product of shape = 8/ });
  t.throws(() => permute(x, new Float32Array(5), opts([2, 3], [1, 0])),
    { name: 'RangeError', message: /permute: out has 5 elements, expected the product of shape = 6/ });
  t.throws(() => permute(x, out, opts(Array(9).fill(1), [...Array(9).keys()])),
    { name: 'RangeError', message: /permute: shape has 9 axes, at most 8/ });
  t.throws(() => permute(x, x, opts([2, 3], [1, 0])),
    { name: 'RangeError', message: /permute: out overlaps x/ });
  t.throws(() => permute(x, out, opts([2 ** 30, 2 ** 30, 4], [2, 1, 0])),
    { name: 'RangeError', message: /permute: the product of shape is too large/ });
});

// Embedding gather / scatter-add against PyTorch fixtures and a float64
// reference, with repeated ids and odd dims, across ISAs and thread counts.
import t from 'tap';
import { embeddingForward, embeddingBackward } from '../../lib/kernels/embedding.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn, randint } from '../helpers/random.js';

/** dweight0 + scatter-add in float64. */
function backwardReference(ids: Int32Array, dout: Float32Array, dweight0: Float32Array, dim: number): Float64Array {
  const out = Float64Array.from(dweight0);
  for (let i = 0; i < ids.length; i++)
    for (let c = 0; c < dim; c++) out[ids[i]! * dim + c]! += dout[i * dim + c]!;
  return out;
}

t.test('embedding matches PyTorch (repeated ids, dims 1, 7, 33, 300)', async (t) => {
  const cases = loadFixtures('embedding');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const dim = c.opts.dim as number;
      const ids = i32(c, 'ids');
      const out = new Float32Array(ids.length * dim).fill(NaN);
      embeddingForward(ids, f32(c, 'weight'), out, { dim });
      // A gather copies: exact.
      expectClose(t, `${c.name} out`, out, f32(c, 'out'), { atol: 0 });
      const dweight = f32(c, 'dweight0').slice();
      embeddingBackward(ids, f32(c, 'dout'), dweight, { dim });
      // Each element sums ≤ count float32 terms in id order, as torch's CPU
      // embedding_backward does for these sizes; allow a few ulp of order
      // difference: 1e-6 relative to the partial sums' size (≲ 10).
      expectClose(t, `${c.name} dweight`, dweight, f32(c, 'dweight'), { atol: 1e-5, rtol: 1e-6 });
    }
  });
});

t.test('embeddingBackward equals a float64 scatter-add; many repeats of one id', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(12);
    for (const [vocab, dim, count] of [[7, 1, 1000], [3, 33, 500], [100, 1000, 64], [2, 513, 300]] as const) {
      const ids = randint(rng, count, 0, vocab);
      const dout = randn(rng, count * dim);
      const dweight0 = randn(rng, vocab * dim);
      const dweight = dweight0.slice();
      embeddingBackward(ids, dout, dweight, { dim });
      // float32 running sums of up to `count` unit-normal terms: error
      // ≲ count·6e-8·max|partial| ≈ 1000·6e-8·40 = 2.4e-3 worst case; 1e-3 + 1e-5 rel
      // covers the typical sqrt growth with margin (observed ≲ 1e-5).
      expectClose(t, `vocab ${vocab} dim ${dim} count ${count}`, dweight, backwardReference(ids, dout, dweight0, dim), { atol: 1e-3, rtol: 1e-5 });
    }
    // count = 0 touches nothing.
    const w = new Float32Array([1, 2, 3]);
    embeddingBackward(new Int32Array(0), new Float32Array(0), w, { dim: 3 });
    embeddingForward(new Int32Array(0), w, new Float32Array(0), { dim: 3 });
    t.same(Array.from(w), [1, 2, 3], 'empty ids: no change');
  });
});

t.test('embedding results do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(4);
  const [vocab, dim, count] = [50, 777, 2000];
  const ids = randint(rng, count, 0, vocab);
  const weight = randn(rng, vocab * dim);
  const dout = randn(rng, count * dim);
  const initial = numThreads();
  const outs: Float32Array[] = [];
  const grads: Float32Array[] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const out = new Float32Array(count * dim);
    embeddingForward(ids, weight, out, { dim });
    outs.push(out);
    const dweight = new Float32Array(vocab * dim);
    embeddingBackward(ids, dout, dweight, { dim });
    grads.push(dweight);
  }
  setNumThreads(initial);
  for (const i of [1, 2]) {
    expectBitwise(t, `out ${i + 1} threads vs 1`, outs[i]!, outs[0]!);
    expectBitwise(t, `dweight ${i + 1} threads vs 1`, grads[i]!, grads[0]!);
  }
});

t.test('embedding rejects bad arguments with named errors', async (t) => {
  const ids = new Int32Array([0, 3, 1, 99]);
  const weight = new Float32Array(50 * 2);
  t.throws(() => embeddingForward(ids, weight, new Float32Array(8), { dim: 2 }),
    { name: 'RangeError', message: /^embeddingForward: ids\[3\] = 99 is outside \[0, vocab=50\)$/ });
  t.throws(() => embeddingBackward(new Int32Array([-1]), new Float32Array(2), weight, { dim: 2 }),
    { name: 'RangeError', message: /embeddingBackward: ids\[0\] = -1 is outside \[0, vocab=50\)/ });
  t.throws(() => embeddingForward(new Float32Array(4) as unknown as Int32Array, weight, new Float32Array(8), { dim: 2 }),
    { name: 'TypeError', message: /embeddingForward: expected an Int32Array for ids but received Float32Array/ });
  t.throws(() => embeddingForward(new Int32Array(4), new Float32Array(101), new Float32Array(8), { dim: 2 }),
    { name: 'RangeError', message: /weight has 101 elements, not a multiple of dim = 2/ });
  t.throws(() => embeddingForward(new Int32Array(4), weight, new Float32Array(7), { dim: 2 }),
    { name: 'RangeError', message: /embeddingForward: out has 7 elements, expected ids.length\*dim = 8/ });
  t.throws(() => embeddingBackward(new Int32Array(4), new Float32Array(9), weight, { dim: 2 }),
    { name: 'RangeError', message: /embeddingBackward: dout has 9 elements, expected ids.length\*dim = 8/ });
  t.throws(() => embeddingForward(new Int32Array(4), weight, new Float32Array(8), { dim: 0 }),
    { name: 'RangeError', message: /positive integer for dim but received number 0/ });
  t.throws(() => embeddingForward(new Int32Array(4), weight, new Float32Array(8), { dim: 1.5 }),
    { name: 'RangeError', message: /positive integer for dim but received number 1.5/ });
  t.throws(() => embeddingForward(new Int32Array(4), weight, new Float32Array(8), {} as never),
    { name: 'TypeError', message: /positive integer for dim but received undefined/ });
  t.throws(() => embeddingForward(new Int32Array(4), weight, weight.subarray(0, 8), { dim: 2 }),
    { name: 'RangeError', message: /embeddingForward: out overlaps weight/ });
  t.throws(() => embeddingBackward(new Int32Array(50), weight, weight, { dim: 2 }),
    { name: 'RangeError', message: /embeddingBackward: dweight overlaps dout/ });
  const shared = new ArrayBuffer(64);
  t.throws(() => embeddingForward(new Int32Array(shared, 0, 2), new Float32Array(4), new Float32Array(shared, 0, 4), { dim: 2 }),
    { name: 'RangeError', message: /out overlaps ids/ });
});

// Bias add and column-sum backward against float64 references, across ISAs
// and thread counts.
import t from 'tap';
import { biasAdd, biasBackward } from '../../lib/kernels/bias.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

const shapes: [number, number][] = [[1, 1], [1, 7], [7, 1], [33, 17], [300, 33], [1000, 7], [5, 1000], [513, 1031]];

t.test('biasAdd is x + bias exactly; biasBackward matches float64 column sums', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(9);
    for (const [rows, cols] of shapes) {
      const x = randn(rng, rows * cols);
      const bias = randn(rng, cols);
      const y = x.slice();
      biasAdd(y, bias, { rows, cols });
      const want = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) want[r * cols + c] = x[r * cols + c]! + bias[c]!;
      // One float32 add per element, same operands: bitwise.
      expectBitwise(t, `${rows}x${cols} biasAdd`, y, want);

      const dbias0 = randn(rng, cols);
      const dbias = dbias0.slice();
      biasBackward(x, dbias, { rows, cols });
      const ref = Float64Array.from(dbias0);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) ref[c]! += x[r * cols + c]!;
      // Sums are taken in double and rounded once to float32, then added to
      // dbias0 in float32: two roundings, ≤ 1 ulp of |result| ≲ 100 (1.2e-5 abs)
      // or 2.4e-7 relative.
      expectClose(t, `${rows}x${cols} dbias`, dbias, ref, { atol: 1e-6, rtol: 2.5e-7 });
    }
  });
});

t.test('rows = 0: biasBackward leaves dbias unchanged', async (t) => {
  const dbias = new Float32Array([1, 2]);
  biasBackward(new Float32Array(0), dbias, { rows: 0, cols: 2 });
  biasAdd(new Float32Array(0), new Float32Array(2), { rows: 0, cols: 2 });
  t.same(Array.from(dbias), [1, 2]);
});

t.test('bias results do not depend on the thread count or the ISA (bitwise)', async (t) => {
  const rng = new Rng(10);
  const [rows, cols] = [2049, 2055]; // several row and column tiles, ragged
  const dout = randn(rng, rows * cols);
  const initial = numThreads();
  const grads: Float32Array[] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const dbias = new Float32Array(cols);
    biasBackward(dout, dbias, { rows, cols });
    grads.push(dbias);
  }
  setNumThreads(initial);
  expectBitwise(t, 'dbias 2 threads vs 1', grads[1]!, grads[0]!);
  expectBitwise(t, 'dbias 3 threads vs 1', grads[2]!, grads[0]!);
  // The vector paths widen the same per-column double adds: every ISA agrees.
  await forEachIsa(t, (t, isa) => {
    const dbias = new Float32Array(cols);
    biasBackward(dout, dbias, { rows, cols });
    expectBitwise(t, `dbias ${isa} vs default`, dbias, grads[0]!);
  });
});

t.test('bias ops reject bad arguments with named errors', async (t) => {
  const x = new Float32Array(6);
  t.throws(() => biasAdd(new Int32Array(6) as unknown as Float32Array, new Float32Array(3), { rows: 2, cols: 3 }),
    { name: 'TypeError', message: /biasAdd: expected a Float32Array for x but received Int32Array/ });
  t.throws(() => biasAdd(x, new Float32Array(2), { rows: 2, cols: 3 }),
    { name: 'RangeError', message: /biasAdd: bias has 2 elements, expected cols = 3/ });
  t.throws(() => biasAdd(x, new Float32Array(3), { rows: 3, cols: 3 }),
    { name: 'RangeError', message: /biasAdd: x has 6 elements, expected rows\*cols = 9/ });
  t.throws(() => biasAdd(x, new Float32Array(3), { rows: -2, cols: 3 }),
    { name: 'RangeError', message: /integer for rows but received number -2/ });
  t.throws(() => biasBackward(x, new Float32Array(3), { rows: 2, cols: 3.5 }),
    { name: 'RangeError', message: /biasBackward: expected a non-negative integer for cols but received number 3.5/ });
  t.throws(() => biasBackward(x, new Float32Array(3), { rows: '2', cols: 3 } as never),
    { name: 'TypeError', message: /for rows but received string "2"/ });
  t.throws(() => biasBackward(x, new Float32Array(4), { rows: 2, cols: 3 }),
    { name: 'RangeError', message: /biasBackward: dbias has 4 elements, expected cols = 3/ });
  t.throws(() => biasAdd(x, x.subarray(3, 6), { rows: 2, cols: 3 }),
    { name: 'RangeError', message: /biasAdd: x overlaps bias/ });
  t.throws(() => biasBackward(x, x.subarray(0, 3), { rows: 2, cols: 3 }),
    { name: 'RangeError', message: /biasBackward: dbias overlaps dout/ });
});

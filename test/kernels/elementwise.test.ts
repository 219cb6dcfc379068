// elementwiseAdd / elementwiseMul against JS's float32 arithmetic (a double
// op rounded once to float32 is the correctly rounded float32 op), across
// ISAs, thread counts and in-place use.
import t from 'tap';
import { elementwiseAdd, elementwiseMul } from '../../lib/kernels/elementwise.js';
import { addon } from '../../lib/native.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

const ops = [
  { name: 'elementwiseAdd', fn: elementwiseAdd, ref: (x: number, y: number) => x + y },
  { name: 'elementwiseMul', fn: elementwiseMul, ref: (x: number, y: number) => x * y },
];
// Odd lengths around the vector widths and the 32k-element task grain.
const lengths = [0, 1, 7, 15, 16, 17, 33, 1000, 32768, 32769, 100003];

function reference(a: Float32Array, b: Float32Array, ref: (x: number, y: number) => number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = ref(a[i]!, b[i]!); // rounded to float32 on store
  return out;
}

t.test('elementwise ops equal float32 arithmetic on every ISA, including special values', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(8);
    for (const { name, fn, ref } of ops)
      for (const n of lengths) {
        const a = randn(rng, n, 1e3), b = randn(rng, n, 1e-3);
        // Values whose sum or product rounds, overflows, underflows or is NaN.
        const special = [NaN, Infinity, -Infinity, 3.4e38, -0, 1e-45, 1 + 2 ** -23];
        for (let i = 0; i < Math.min(n, special.length); i++) {
          a[i] = special[i]!;
          b[i] = special[(i + 3) % special.length]!;
        }
        const out = new Float32Array(n);
        fn(a, b, out);
        expectBitwise(t, `${name} n=${n}`, out, reference(a, b, ref));
      }
  });
});

t.test('elementwise ops work in place (out = a or out = b)', async (t) => {
  const rng = new Rng(9);
  for (const { name, fn, ref } of ops) {
    const a = randn(rng, 50001), b = randn(rng, 50001);
    const want = reference(a, b, ref);
    const a2 = a.slice(), b2 = b.slice();
    fn(a2, b, a2);
    expectBitwise(t, `${name} into a`, a2, want);
    fn(a, b2, b2);
    expectBitwise(t, `${name} into b`, b2, want);
    const c = a.slice();
    fn(c, c, c);
    expectBitwise(t, `${name} of a with itself into a`, c, reference(a, a, ref));
  }
});

t.test('elementwise results do not depend on the thread count', async (t) => {
  const rng = new Rng(10);
  const a = randn(rng, 300001), b = randn(rng, 300001);
  const initial = numThreads();
  try {
    for (const { name, fn, ref } of ops) {
      const want = reference(a, b, ref);
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        const out = new Float32Array(a.length);
        fn(a, b, out);
        expectBitwise(t, `${name}, ${threads} threads`, out, want);
      }
    }
  } finally {
    setNumThreads(initial);
  }
});

t.test('elementwise ops reject bad arguments with named errors', async (t) => {
  const a = new Float32Array(8), b = new Float32Array(8), out = new Float32Array(8);
  t.throws(() => elementwiseAdd(a, new Float64Array(8) as unknown as Float32Array, out),
    { name: 'TypeError', message: /elementwiseAdd: expected a Float32Array for b but received Float64Array/ });
  t.throws(() => elementwiseMul(a, new Float32Array(7), out),
    { name: 'RangeError', message: /elementwiseMul: b has 7 elements, expected a.length = 8/ });
  t.throws(() => elementwiseAdd(a, b, new Float32Array(9)),
    { name: 'RangeError', message: /elementwiseAdd: out has 9 elements, expected a.length = 8/ });
  const buf = new Float32Array(12);
  t.throws(() => elementwiseAdd(buf.subarray(0, 8), b, buf.subarray(4, 12)),
    { name: 'RangeError', message: /elementwiseAdd: out overlaps a/ });
  t.throws(() => elementwiseMul(a, buf.subarray(2, 10), buf.subarray(0, 8)),
    { name: 'RangeError', message: /elementwiseMul: out overlaps b/ });
  t.throws(() => (elementwiseAdd as (...x: unknown[]) => void)(a, b),
    { name: 'TypeError', message: /elementwiseAdd: expected a Float32Array for out but received undefined/ });
  t.throws(() => (addon.elementwiseAdd as (...x: unknown[]) => void)(a, b, out, {}),
    { name: 'TypeError', message: /elementwiseAdd: expected 3 arguments but received 4/ });
});

// The seeded generator: matches the reference xoshiro128** C code, resumes
// from a saved state, and its normals have the right moments.
import t from 'tap';
import { Random } from '../../lib/tensor/random.js';

t.test('xoshiro128** matches the reference C implementation', async (t) => {
  // From Blackman & Vigna's xoshiro128starstar.c with state {1, 2, 3, 4}.
  const r = new Random([1, 2, 3, 4]);
  t.same(Array.from({ length: 5 }, () => r.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883]);
});

t.test('a saved state resumes the exact stream; seeds differ', async (t) => {
  const a = new Random(42);
  for (let i = 0; i < 100; i++) a.uniform();
  const b = new Random(a.state());
  t.same(Array.from({ length: 10 }, () => b.normal()), Array.from({ length: 10 }, () => a.normal()));
  t.not(new Random(1).nextUint32(), new Random(2).nextUint32());
  t.throws(() => new Random([0, 0, 0, 0]), RangeError);
});

t.test('normal() has mean ≈ 0 and variance ≈ 1; shuffle is a permutation', async (t) => {
  const r = new Random(7);
  const n = 200000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = r.normal();
    s += x;
    s2 += x * x;
  }
  // Standard errors: mean 1/sqrt(n) ≈ 0.0022, variance sqrt(2/n) ≈ 0.0032; 5σ bounds.
  t.ok(Math.abs(s / n) < 0.012, `mean ${(s / n).toFixed(4)}`);
  t.ok(Math.abs(s2 / n - 1) < 0.016, `variance ${(s2 / n).toFixed(4)}`);
  const items = [...Array(50).keys()];
  t.same(r.shuffle([...items]).sort((a, b) => a - b), items);
});

// The demo's exact tests against values computed by hand and by brute-force
// enumeration (every outcome of n fair coin flips).
import t from 'tap';
import { binomialTailAtLeast, formatP, pairedSignTest } from '../../lib/demo/significance.js';

t.test('binomial upper tail: hand values, brute-force enumeration, edges', async (t) => {
  t.ok(Math.abs(binomialTailAtLeast(10, 10, 0.5) - 2 ** -10) < 1e-18, 'all ten heads');
  t.ok(Math.abs(binomialTailAtLeast(8, 10, 0.5) - 56 / 1024) < 1e-15, 'C(10,8)+C(10,9)+C(10,10) = 56 of 1024');
  t.ok(Math.abs(binomialTailAtLeast(2, 3, 0.25) - (3 * 0.25 ** 2 * 0.75 + 0.25 ** 3)) < 1e-15, 'p = 1/4');
  for (const n of [1, 7, 12]) {
    const counts = new Array(n + 1).fill(0);
    for (let mask = 0; mask < 1 << n; mask++) {
      let ones = 0;
      for (let b = 0; b < n; b++) ones += (mask >> b) & 1;
      counts[ones]++;
    }
    for (let k = 0; k <= n; k++) {
      const want = counts.slice(k).reduce((s, c) => s + c, 0) / 2 ** n;
      t.ok(Math.abs(binomialTailAtLeast(k, n, 0.5) - want) < 1e-12, `n=${n} k=${k}: ${want}`);
    }
  }
  t.equal(binomialTailAtLeast(0, 5, 0.3), 1);
  t.equal(binomialTailAtLeast(6, 5, 0.3), 0);
  t.equal(binomialTailAtLeast(0, 0, 0.5), 1, 'no trials: no evidence');
  t.ok(binomialTailAtLeast(600, 1000, 0.5) < 1e-9, 'large n stays finite');
  t.throws(() => binomialTailAtLeast(1.5, 3, 0.5), RangeError);
  t.throws(() => binomialTailAtLeast(1, 3, 1.5), /p must be in \[0, 1\]/);
});

t.test('paired sign test: ties carry no evidence; the p-value is the binomial tail of the wins', async (t) => {
  const r = pairedSignTest([0, 0, 1, 1, 0.5, 0], [1, 1, 1, 0, 0.5, 1]);
  t.same({ wins: r.wins, losses: r.losses, ties: r.ties }, { wins: 3, losses: 1, ties: 2 });
  t.equal(r.pValue, binomialTailAtLeast(3, 4, 0.5));
  t.ok(Math.abs(r.pValue - 5 / 16) < 1e-15, `(C(4,3) + C(4,4)) / 16 = ${r.pValue}`);
  t.equal(pairedSignTest([1, 1], [1, 1]).pValue, 1, 'all ties');
  t.throws(() => pairedSignTest([1], [1, 0]), /same instances/);
  t.equal(formatP(0.0123), 'p = 0.012');
  t.equal(formatP(1e-9), 'p < 1e-6');
  t.equal(formatP(2.5e-4), 'p = 2.5e-4');
});

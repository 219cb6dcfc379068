// Axis ticks against hand-worked values, then properties over random ranges.
import t from 'tap';
import { linearScale, logScale, niceStep } from '../../lib/report/ticks.js';
import { Rng } from '../helpers/random.js';

t.test('niceStep rounds to 1, 2 or 5 times a power of ten', async (t) => {
  t.equal(niceStep(0.13), 0.1);
  t.equal(niceStep(0.36), 0.5);
  t.equal(niceStep(2.9), 2);
  t.equal(niceStep(7.5), 10);
  t.equal(niceStep(1700), 2000);
  t.equal(niceStep(0.004), 0.005);
});

t.test('linearScale: hand-worked ticks, domain on the outer ticks', async (t) => {
  t.same(linearScale(0, 100).ticks, [0, 20, 40, 60, 80, 100]);
  t.same(linearScale(0, 1).ticks, [0, 0.2, 0.4, 0.6, 0.8, 1], 'no 0.6000000000000001');
  // range 2.68 / 5 = 0.536 → step 0.5; 1.53 rounds down to 1.5, 4.21 up to 4.5
  const s = linearScale(1.53, 4.21);
  t.same(s.ticks, [1.5, 2, 2.5, 3, 3.5, 4, 4.5]);
  t.same(s.domain, [1.5, 4.5]);
  t.equal(s.step, 0.5);
  t.same(linearScale(-0.3, 0.7).ticks, [-0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8], 'crosses zero');
  t.same(linearScale(0, 3000).ticks, [0, 500, 1000, 1500, 2000, 2500, 3000]);
  t.same(linearScale(0.1, 0.3).ticks, [0.1, 0.15, 0.2, 0.25, 0.3], 'no 0.15000000000000002');
  t.same(linearScale(20, 40).ticks, [20, 25, 30, 35, 40], 'ends that are multiples of the step stay put');
});

t.test('linearScale widens a zero-width range', async (t) => {
  t.same(linearScale(0, 0).ticks, [-1, -0.5, 0, 0.5, 1], '±1 around zero');
  // ±10 % of 5 = [4.5, 5.5] → step 0.2
  t.same(linearScale(5, 5).ticks, [4.4, 4.6, 4.8, 5, 5.2, 5.4, 5.6]);
  t.throws(() => linearScale(NaN, 1), RangeError);
  t.throws(() => linearScale(2, 1), RangeError);
});

t.test('linearScale properties over random ranges', async (t) => {
  const rng = new Rng(7);
  for (let i = 0; i < 500; i++) {
    const scale = 10 ** rng.int(-8, 9);
    const a = (rng.next() - 0.5) * scale;
    const b = a + rng.next() * scale + scale * 1e-6;
    const { ticks, domain, step } = linearScale(a, b);
    const where = `[${a}, ${b}]`;
    if (!(domain[0] <= a && domain[1] >= b)) t.fail(`domain ${domain} does not cover ${where}`);
    if (ticks.length < 3 || ticks.length > 12) t.fail(`${ticks.length} ticks for ${where}`);
    // Evenly spaced by step, and no wider than needed: the first and last intervals touch the data.
    for (let k = 1; k < ticks.length; k++) {
      if (Math.abs(ticks[k]! - ticks[k - 1]! - step!) > step! * 1e-9) t.fail(`uneven ticks ${ticks} for ${where}`);
    }
    if (ticks[1]! <= a || ticks[ticks.length - 2]! >= b) t.fail(`domain ${domain} wider than needed for ${where}`);
  }
  t.pass('500 random ranges');
});

t.test('logScale: 1-2-5 ticks for up to two decades, powers of ten beyond', async (t) => {
  const loss = logScale(1.5, 4.2);
  t.same(loss.ticks, [1, 2, 5]);
  t.same(loss.domain, [1, 5]);
  t.ok(loss.log);
  // 0.3 .. 8 lies in the decades 0.1 .. 10 (two): 1-2-5 ticks tightened to 0.2 and 10
  t.same(logScale(0.3, 8).ticks, [0.2, 0.5, 1, 2, 5, 10]);
  // 0.3 .. 40 lies in 0.1 .. 100 (three decades): powers of ten
  t.same(logScale(0.3, 40).ticks, [0.1, 1, 10, 100]);
  t.same(logScale(0.02, 30).ticks, [0.01, 0.1, 1, 10, 100]);
  // 12 decades > 8: every second power of ten
  t.same(logScale(1e-6, 1e6).ticks, [1e-6, 1e-4, 0.01, 1, 100, 1e4, 1e6]);
  t.same(logScale(1e-6, 1e6).domain, [1e-6, 1e6]);
  t.same(logScale(10, 10).ticks, [5, 10, 20], 'one value stays mid-axis');
  t.same(logScale(3, 3).ticks, [1, 2, 5, 10]);
  t.throws(() => logScale(0, 1), RangeError, 'zero has no logarithm');
  t.throws(() => logScale(-1, 1), RangeError);
});

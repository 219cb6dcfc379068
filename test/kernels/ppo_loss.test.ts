// PPO policy and value losses against PyTorch fixtures, a float64 reference,
// finite differences, the vectorised exp's error, and across thread counts.
import t from 'tap';
import { ppoLoss, valueLoss, type KlMode, type PpoStats } from '../../lib/kernels/ppo_loss.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32 } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn, uniform } from '../helpers/random.js';

interface PolicyInputs {
  logp: Float32Array;
  oldLogp: Float32Array;
  refLogp: Float32Array | null;
  advantages: Float32Array;
  mask: Float32Array;
}
interface PolicyOpts {
  clipEps: number;
  klCoef: number;
  klMode: KlMode;
}

/**
 * float64 reference of the policy loss, written from the math (SPEC §2) with
 * torch's tie rule: max(p1, p2) splits its gradient at p1 == p2, clamp passes
 * it on the closed range. d = logp − oldLogp is rounded to float32 first, as
 * the kernel (and torch) compute it, so clip decisions see the same ratio.
 */
function policyReference(x: PolicyInputs, o: PolicyOpts): { stats: PpoStats; dlogp: Float64Array } {
  const n = x.logp.length;
  let den = 0;
  for (let i = 0; i < n; i++) den += x.mask[i]!;
  const dlogp = new Float64Array(n);
  const stats = { loss: 0, policyLoss: 0, kl: 0, clipFrac: 0, approxKl: 0 };
  if (den === 0) return { stats, dlogp };
  const lo = 1 - o.clipEps;
  const hi = 1 + o.clipEps;
  for (let i = 0; i < n; i++) {
    const m = x.mask[i]!;
    if (m === 0) continue;
    const d = Math.fround(x.logp[i]! - x.oldLogp[i]!);
    const r = Math.exp(d);
    const a = x.advantages[i]!;
    const rc = Math.min(Math.max(r, lo), hi);
    const p1 = -a * r;
    const p2 = -a * rc;
    const inRange = r >= lo && r <= hi;
    let dr: number;
    if (p1 > p2) dr = -a;
    else if (p2 > p1) dr = 0;
    else dr = 0.5 * -a + 0.5 * (inRange ? -a : 0);
    let k = 0;
    let dk = 0;
    if (x.refLogp) {
      const ref = x.refLogp[i]!;
      if (o.klMode === 'k3') {
        const e = Math.exp(ref - x.logp[i]!);
        k = e - 1 - (ref - x.logp[i]!);
        dk = 1 - e;
      } else {
        k = x.logp[i]! - ref;
        dk = 1;
      }
    }
    stats.policyLoss += (m * Math.max(p1, p2)) / den;
    stats.kl += (m * k) / den;
    stats.clipFrac += p2 > p1 ? m / den : 0;
    stats.approxKl += (m * 0.5 * d * d) / den;
    dlogp[i] = (m / den) * (dr * r + o.klCoef * dk);
  }
  stats.loss = stats.policyLoss + o.klCoef * stats.kl;
  return { stats, dlogp };
}

interface ValueInputs {
  values: Float32Array;
  oldValues: Float32Array;
  returns: Float32Array;
  mask: Float32Array;
}

/** float64 reference of the value loss (same tie rule); clip bounds in float32 as torch forms them. */
function valueReference(x: ValueInputs, clipRange: number): { loss: number; clipFrac: number; dvalues: Float64Array } {
  const n = x.values.length;
  let den = 0;
  for (let i = 0; i < n; i++) den += x.mask[i]!;
  const dvalues = new Float64Array(n);
  if (den === 0) return { loss: 0, clipFrac: 0, dvalues };
  let loss = 0;
  let clipFrac = 0;
  for (let i = 0; i < n; i++) {
    const m = x.mask[i]!;
    if (m === 0) continue;
    const v = x.values[i]!;
    const lo = Math.fround(x.oldValues[i]! - Math.fround(clipRange));
    const hi = Math.fround(x.oldValues[i]! + Math.fround(clipRange));
    const vc = Math.min(Math.max(v, lo), hi);
    const e1 = v - x.returns[i]!;
    const e2 = vc - x.returns[i]!;
    const l1 = e1 * e1;
    const l2 = e2 * e2;
    const inRange = v >= lo && v <= hi;
    loss += (0.5 * m * Math.max(l1, l2)) / den;
    clipFrac += l2 > l1 ? m / den : 0;
    // ∂(½·max(l1, l2))/∂v with max's half split at a tie.
    const w1 = l1 > l2 ? 1 : l1 === l2 ? 0.5 : 0;
    const w2 = l2 > l1 ? 1 : l1 === l2 ? 0.5 : 0;
    dvalues[i] = (m / den) * (w1 * e1 + w2 * (inRange ? e2 : 0));
  }
  return { loss, clipFrac, dvalues };
}

function statsArray(s: PpoStats): number[] {
  return [s.loss, s.policyLoss, s.kl, s.clipFrac, s.approxKl];
}

/** Random policy inputs with r spread over [e^-0.6, e^0.6] so both clip sides are hit. */
function randomPolicy(rng: Rng, n: number, maskKind: 'ones' | 'padded' | 'empty', withRef: boolean): PolicyInputs {
  const oldLogp = uniform(rng, n, -4, -0.1);
  const logp = new Float32Array(n);
  for (let i = 0; i < n; i++) logp[i] = oldLogp[i]! + 0.3 * rng.normal();
  const refLogp = withRef ? new Float32Array(n).map((_, i) => oldLogp[i]! + 0.2 * rng.normal()) : null;
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = maskKind === 'ones' ? 1 : maskKind === 'empty' ? 0 : rng.next() < 0.7 ? 1 : 0;
  return { logp, oldLogp, refLogp, advantages: randn(rng, n), mask };
}

// Tolerances vs PyTorch: both sides compute each token in float32 but in a
// different order (torch chains autograd products; we fold 1/Σmask first), and
// our fast paths use a 2-ulp exp: per-token gradients agree to a few float32
// ulps (rtol 1e-5 is ~80 ulp, ample). torch sums the loss in float32 (error
// ≲ n·6e-8 relative for n ≤ 3000), we in double: stats rtol 2e-5 + atol 1e-6.
const gradTol = { atol: 1e-9, rtol: 1e-5 };
const statTol = { atol: 1e-6, rtol: 2e-5 };

t.test('ppoLoss and valueLoss match PyTorch fixtures (masks, k1/k3, ties, empty mask)', async (t) => {
  const cases = loadFixtures('ppo_loss');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const o = c.opts as { kind: string; rows: number; cols: number; clipEps: number; klCoef: number; klMode: KlMode; clipRange: number };
      if (o.kind === 'policy') {
        const dlogp = new Float32Array(o.rows * o.cols).fill(NaN); // must be fully overwritten
        const ref = c.tensors.refLogp ? f32(c, 'refLogp') : null;
        const s = ppoLoss(f32(c, 'logp'), f32(c, 'oldLogp'), ref, f32(c, 'advantages'), f32(c, 'mask'), dlogp, {
          rows: o.rows, cols: o.cols, clipEps: o.clipEps, klCoef: o.klCoef, klMode: o.klMode,
        });
        const want = ['loss', 'policyLoss', 'kl', 'clipFrac', 'approxKl'].map((k) => f32(c, k)[0]!);
        expectClose(t, `${c.name} stats`, statsArray(s), want, statTol);
        expectClose(t, `${c.name} dlogp`, dlogp, f32(c, 'dlogp'), gradTol);
      } else {
        const dvalues = new Float32Array(o.rows * o.cols).fill(NaN);
        const s = valueLoss(f32(c, 'values'), f32(c, 'oldValues'), f32(c, 'returns'), f32(c, 'mask'), dvalues, {
          rows: o.rows, cols: o.cols, clipRange: o.clipRange,
        });
        expectClose(t, `${c.name} stats`, [s.loss, s.clipFrac], [f32(c, 'loss')[0]!, f32(c, 'clipFrac')[0]!], statTol);
        expectClose(t, `${c.name} dvalues`, dvalues, f32(c, 'dvalues'), gradTol);
      }
    }
  });
});

t.test('ppoLoss matches a float64 reference on odd sizes, both clip sides and both advantage signs', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(17);
    const configs: [number, number, 'ones' | 'padded', boolean, PolicyOpts][] = [
      [1, 1, 'ones', false, { clipEps: 0.2, klCoef: 0, klMode: 'k1' }],
      [1, 7, 'ones', true, { clipEps: 0.2, klCoef: 0.1, klMode: 'k1' }],
      [3, 33, 'padded', true, { clipEps: 0.1, klCoef: 0.3, klMode: 'k3' }],
      [1, 1000, 'padded', true, { clipEps: 0.2, klCoef: 0.05, klMode: 'k1' }],
      [13, 77, 'padded', true, { clipEps: 0.25, klCoef: 0, klMode: 'k3' }],
      [9, 2001, 'padded', true, { clipEps: 0.2, klCoef: 0.02, klMode: 'k3' }], // 18009 tokens: several chunks
    ];
    for (const [rows, cols, maskKind, withRef, o] of configs) {
      const x = randomPolicy(rng, rows * cols, maskKind, withRef);
      const dlogp = new Float32Array(rows * cols);
      const s = ppoLoss(x.logp, x.oldLogp, x.refLogp, x.advantages, x.mask, dlogp, { rows, cols, ...o });
      const want = policyReference(x, o);
      const name = `${rows}x${cols} ${o.klMode} klCoef=${o.klCoef}`;
      // float32 per-token math (≤ a few ulp) summed in double: 1e-5 relative.
      expectClose(t, `${name} stats`, statsArray(s), statsArray(want.stats), { atol: 1e-7, rtol: 1e-5 });
      expectClose(t, `${name} dlogp`, dlogp, want.dlogp, gradTol);
      if (rows * cols >= 1000) {
        // The data really exercises each branch: clipping above and below, A of both signs.
        let up = 0, down = 0;
        for (let i = 0; i < x.logp.length; i++) {
          const r = Math.exp(x.logp[i]! - x.oldLogp[i]!);
          if (x.mask[i] && r > 1 + o.clipEps && x.advantages[i]! > 0) up++;
          if (x.mask[i] && r < 1 - o.clipEps && x.advantages[i]! < 0) down++;
        }
        t.ok(up > 0 && down > 0 && s.clipFrac > 0, `${name}: clipped above (${up}) and below (${down}), clipFrac ${s.clipFrac.toFixed(3)}`);
      }
    }
  });
});

t.test('valueLoss matches a float64 reference on odd sizes', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(23);
    for (const [rows, cols, clipRange] of [[1, 1, 0.2], [1, 7, 0.2], [3, 33, 0.05], [7, 1000, 0.2], [3, 7001, 0]] as const) {
      const n = rows * cols;
      const oldValues = randn(rng, n);
      const x: ValueInputs = {
        values: new Float32Array(n).map((_, i) => oldValues[i]! + 0.3 * rng.normal()),
        oldValues,
        returns: new Float32Array(n).map((_, i) => oldValues[i]! + 0.5 * rng.normal()),
        mask: new Float32Array(n).map(() => (rng.next() < 0.8 ? 1 : 0)),
      };
      x.mask[0] = 1;
      const dvalues = new Float32Array(n);
      const s = valueLoss(x.values, x.oldValues, x.returns, x.mask, dvalues, { rows, cols, clipRange });
      const want = valueReference(x, clipRange);
      expectClose(t, `${rows}x${cols} c=${clipRange} stats`, [s.loss, s.clipFrac], [want.loss, want.clipFrac], { atol: 1e-7, rtol: 1e-5 });
      expectClose(t, `${rows}x${cols} c=${clipRange} dvalues`, dvalues, want.dvalues, gradTol);
    }
  });
});

t.test('gradients match central finite differences of the returned loss', async (t) => {
  // Checked away from kinks: tokens whose ratio (or value) is within 4h of a
  // clip boundary are left out. The loss comes back in double but each
  // token's term is float32 (relative rounding ~6e-8, |term|/den ≲ 0.3), so
  // the difference quotient carries ≲ 2·6e-8·0.3/(2h) ≈ 2e-5 of noise at
  // h = 1e-3, plus O(h²) curvature error; atol 1e-4 + rtol 1e-3 covers both.
  await forEachIsa(t, (t) => {
    const rng = new Rng(5);
    const [rows, cols] = [3, 11];
    const n = rows * cols;
    const h = 1e-3;
    for (const [klMode, klCoef] of [['k1', 0.2], ['k3', 0.5], ['k3', 0]] as [KlMode, number][]) {
      const x = randomPolicy(rng, n, 'padded', true);
      const o = { rows, cols, clipEps: 0.2, klCoef, klMode };
      const dlogp = new Float32Array(n);
      ppoLoss(x.logp, x.oldLogp, x.refLogp, x.advantages, x.mask, dlogp, o);
      const got: number[] = [];
      const want: number[] = [];
      for (let i = 0; i < n; i++) {
        const r = Math.exp(x.logp[i]! - x.oldLogp[i]!);
        if (Math.abs(r - 0.8) < 4 * h || Math.abs(r - 1.2) < 4 * h) continue;
        const saved = x.logp[i]!;
        const lossAt = (v: number) => {
          x.logp[i] = v;
          return ppoLoss(x.logp, x.oldLogp, x.refLogp, x.advantages, x.mask, new Float32Array(n), o).loss;
        };
        const plus = Math.fround(saved + h);
        const minus = Math.fround(saved - h);
        want.push((lossAt(plus) - lossAt(minus)) / (plus - minus));
        x.logp[i] = saved;
        got.push(dlogp[i]!);
      }
      t.ok(got.length > n / 2, `${klMode}: ${got.length} of ${n} tokens away from kinks`);
      expectClose(t, `dlogp vs finite differences (${klMode}, klCoef ${klCoef})`, got, want, { atol: 1e-4, rtol: 1e-3 });
    }
    const oldValues = randn(rng, n);
    const x: ValueInputs = {
      values: new Float32Array(n).map((_, i) => oldValues[i]! + 0.3 * rng.normal()),
      oldValues,
      returns: new Float32Array(n).map((_, i) => oldValues[i]! + 0.5 * rng.normal()),
      mask: new Float32Array(n).map(() => (rng.next() < 0.8 ? 1 : 0)),
    };
    const dvalues = new Float32Array(n);
    const vo = { rows, cols, clipRange: 0.2 };
    valueLoss(x.values, x.oldValues, x.returns, x.mask, dvalues, vo);
    const got: number[] = [];
    const want: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = x.values[i]!;
      const lo = x.oldValues[i]! - 0.2;
      const hi = x.oldValues[i]! + 0.2;
      const vc = Math.min(Math.max(v, lo), hi);
      // Kinks: the clip bounds and the l1 = l2 switch.
      if (Math.abs(v - lo) < 4 * h || Math.abs(v - hi) < 4 * h || Math.abs(Math.abs(v - x.returns[i]!) - Math.abs(vc - x.returns[i]!)) < 8 * h) continue;
      const lossAt = (val: number) => {
        x.values[i] = val;
        return valueLoss(x.values, x.oldValues, x.returns, x.mask, new Float32Array(n), vo).loss;
      };
      const plus = Math.fround(v + h);
      const minus = Math.fround(v - h);
      want.push((lossAt(plus) - lossAt(minus)) / (plus - minus));
      x.values[i] = v;
      got.push(dvalues[i]!);
    }
    expectClose(t, 'dvalues vs finite differences', got, want, { atol: 1e-4, rtol: 1e-3 });
  });
});

t.test('float64 reference gradients match its own finite differences (the reference is right)', async (t) => {
  const rng = new Rng(8);
  const n = 40;
  const h = 1e-6;
  for (const klMode of ['k1', 'k3'] as KlMode[]) {
    const x = randomPolicy(rng, n, 'padded', true);
    const o = { clipEps: 0.2, klCoef: 0.3, klMode };
    const { dlogp } = policyReference(x, o);
    // Perturb a float64 copy: the reference reads logp through Math.fround for
    // d only, so step in double on logp and oldLogp together for the ratio.
    const got: number[] = [];
    const want: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = Math.exp(x.logp[i]! - x.oldLogp[i]!);
      if (Math.abs(r - 0.8) < 1e-3 || Math.abs(r - 1.2) < 1e-3) continue;
      const f = (delta: number) => {
        const xs = { ...x, logp: Float64Array.from(x.logp) as unknown as Float32Array };
        xs.logp[i] = x.logp[i]! + delta;
        return policyReferenceExact(xs, o);
      };
      want.push((f(h) - f(-h)) / (2 * h));
      got.push(dlogp[i]!);
    }
    // float64 central differences at h = 1e-6: error ~1e-10 (curvature) + 1e-10 (rounding).
    expectClose(t, `reference dlogp vs FD (${klMode})`, got, want, { atol: 1e-8, rtol: 1e-6 });
  }
});

/** The reference loss with d taken in double (no float32 rounding), for its FD check. */
function policyReferenceExact(x: PolicyInputs, o: PolicyOpts): number {
  let den = 0;
  let loss = 0;
  for (let i = 0; i < x.logp.length; i++) den += x.mask[i]!;
  for (let i = 0; i < x.logp.length; i++) {
    const m = x.mask[i]!;
    if (m === 0) continue;
    const r = Math.exp(x.logp[i]! - x.oldLogp[i]!);
    const a = x.advantages[i]!;
    const pol = Math.max(-a * r, -a * Math.min(Math.max(r, 1 - o.clipEps), 1 + o.clipEps));
    const diff = x.refLogp![i]! - x.logp[i]!;
    const k = o.klMode === 'k3' ? Math.exp(diff) - 1 - diff : -diff;
    loss += (m * (pol + o.klCoef * k)) / den;
  }
  return loss;
}

t.test('ties follow torch: half gradient at an out-of-range tie, full inside the range', async (t) => {
  await forEachIsa(t, (t) => {
    // value: v = 1 clips to 0.5 (c = 0.5); R = 0.75 is midway: l1 = l2 = 1/16.
    // token 2: v on the upper bound (clamp passes the gradient): full.
    const dvalues = new Float32Array(3);
    const s = valueLoss(
      new Float32Array([1, 0.5, 3]), new Float32Array([0, 0, 3]), new Float32Array([0.75, 0.25, 2]),
      new Float32Array([1, 1, 0]), dvalues, { rows: 1, cols: 3, clipRange: 0.5 },
    );
    // ∂/∂v of ½·max: ½·(½·2(v−R)) + ½·0 = (v−R)/2 at the tie, over Σmask = 2.
    t.same(Array.from(dvalues), [0.25 / 2 / 2, 0.25 / 2, 0], 'dvalues: half at the out-of-range tie, full on the bound, 0 masked');
    t.equal(s.clipFrac, 0, 'a tie is not counted as clipped');
    t.equal(s.loss, 0.5 * (1 / 16 + 1 / 16) / 2, 'loss');
    // policy: r = 1 (tie inside the range) gets the full −A·r; A = 0 gets 0.
    const dlogp = new Float32Array(2);
    const p = ppoLoss(new Float32Array([-1, -0.5]), new Float32Array([-1, -2]), null, new Float32Array([2, 0]),
      new Float32Array([1, 1]), dlogp, { rows: 1, cols: 2 });
    t.same(Array.from(dlogp), [-2 / 2, 0], 'dlogp at r = 1 and at A = 0');
    t.equal(p.clipFrac, 0, 'no token counted as clipped');
  });
});

t.test('empty mask gives zero stats and zero gradients; masked tokens never poison the loss', async (t) => {
  await forEachIsa(t, (t) => {
    const n = 37;
    const rng = new Rng(3);
    const x = randomPolicy(rng, n, 'empty', true);
    const dlogp = new Float32Array(n).fill(NaN);
    const s = ppoLoss(x.logp, x.oldLogp, x.refLogp, x.advantages, x.mask, dlogp, { rows: 1, cols: n, klCoef: 0.1, klMode: 'k3' });
    t.same(statsArray(s), [0, 0, 0, 0, 0], 'stats all 0');
    t.ok(dlogp.every((v) => v === 0), 'dlogp all 0');
    const dvalues = new Float32Array(n).fill(NaN);
    const v = valueLoss(x.logp, x.oldLogp, x.advantages, x.mask, dvalues, { rows: 1, cols: n });
    t.same([v.loss, v.clipFrac], [0, 0], 'value stats 0');
    t.ok(dvalues.every((d) => d === 0), 'dvalues all 0');
    // rows = 0: nothing to do.
    t.same(statsArray(ppoLoss(new Float32Array(0), new Float32Array(0), null, new Float32Array(0), new Float32Array(0), new Float32Array(0), { rows: 0, cols: 5 })), [0, 0, 0, 0, 0], 'rows = 0');
    // NaN/Inf at masked tokens are skipped; at a counted token they reach the loss.
    const y = randomPolicy(rng, n, 'ones', true);
    y.mask[5] = 0;
    y.logp[5] = NaN;
    y.advantages[5] = Infinity;
    const d2 = new Float32Array(n);
    const s2 = ppoLoss(y.logp, y.oldLogp, y.refLogp, y.advantages, y.mask, d2, { rows: 1, cols: n, klCoef: 0.1 });
    t.ok(Number.isFinite(s2.loss) && d2.every(Number.isFinite) && d2[5] === 0, 'NaN at a masked token is ignored');
    y.mask[5] = 1;
    const s3 = ppoLoss(y.logp, y.oldLogp, y.refLogp, y.advantages, y.mask, d2, { rows: 1, cols: n, klCoef: 0.1 });
    t.ok(Number.isNaN(s3.loss) && Number.isNaN(d2[5]!), 'NaN at a counted token propagates to loss and dlogp');
    // exp overflow where the clipped term is active: finite loss, zero gradient (exact).
    const d4 = new Float32Array(1);
    const s4 = ppoLoss(new Float32Array([100]), new Float32Array([0]), null, new Float32Array([1]), new Float32Array([1]), d4, { rows: 1, cols: 1 });
    t.same([s4.policyLoss, d4[0]], [-Math.fround(1.2), 0], 'r = inf with A > 0: policy −(1+ε)·A, gradient 0');
    const s5 = ppoLoss(new Float32Array([100]), new Float32Array([0]), null, new Float32Array([-1]), new Float32Array([1]), d4, { rows: 1, cols: 1 });
    t.ok(s5.loss === Infinity && d4[0] === Infinity, 'r = inf with A < 0: loss and gradient +inf');
  });
});

t.test('vectorised exp: within 2 ulp of exp over [-87.3, 88.7], correct special values', async (t) => {
  // With one counted token, Σmask = 1 and |A| = 1 so dlogp = ±r exactly:
  // A = +1 keeps the unclipped term for r < 1+ε, A = −1 for r > 1−ε (ε = 0.999).
  const ulp = (y: number) => Math.pow(2, Math.floor(Math.log2(Math.abs(y))) - 23);
  const one = new Float32Array([1]);
  const zero = new Float32Array([0]);
  const d = new Float32Array(1);
  const rOf = (x: number): number => {
    const a = x < 0 ? 1 : -1;
    ppoLoss(new Float32Array([x]), zero, null, new Float32Array([a]), one, d, { rows: 1, cols: 1, clipEps: 0.999 });
    return a > 0 ? -d[0]! : d[0]!;
  };
  await forEachIsa(t, (t, isa) => {
    let worst = 0;
    let worstX = 0;
    const xs: number[] = [];
    for (let i = 0; i <= 6000; i++) xs.push(Math.fround(-87.3 + (176 * i) / 6000));
    for (const x of [-1e-6, 1e-6, 0.5 * Math.LN2, -0.5 * Math.LN2, 88.72, -87.33]) xs.push(Math.fround(x));
    for (const x of xs) {
      const want = Math.exp(x);
      const e = Math.abs(rOf(x) - want) / ulp(want);
      if (e > worst) {
        worst = e;
        worstX = x;
      }
    }
    t.ok(worst <= 2, `${isa}: max error ${worst.toFixed(3)} ulp (at x = ${worstX})`);
    t.equal(rOf(0), 1, 'exp(0) = 1 exactly');
    t.equal(rOf(89), Infinity, 'overflow to +inf');
    t.equal(rOf(Infinity), Infinity, 'exp(+inf)');
    t.equal(rOf(-Infinity), 0, 'exp(−inf)');
    t.ok(Math.abs(rOf(-100) - Math.exp(-100)) < 1.2e-38, 'underflow region within 1.2e-38');
    t.ok(Number.isNaN(rOf(NaN)), 'NaN stays NaN');
  });
});

t.test('ppoLoss and valueLoss do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(31);
  const [rows, cols] = [37, 1111]; // 41107 tokens: 6 chunks, the last partial
  const x = randomPolicy(rng, rows * cols, 'padded', true);
  const initial = numThreads();
  const grads: Float32Array[] = [];
  const stats: number[][] = [];
  const vgrads: Float32Array[] = [];
  const vstats: number[][] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const dlogp = new Float32Array(rows * cols);
    stats.push(statsArray(ppoLoss(x.logp, x.oldLogp, x.refLogp, x.advantages, x.mask, dlogp, { rows, cols, klCoef: 0.1, klMode: 'k3' })));
    grads.push(dlogp);
    const dvalues = new Float32Array(rows * cols);
    const v = valueLoss(x.logp, x.oldLogp, x.refLogp!, x.mask, dvalues, { rows, cols });
    vstats.push([v.loss, v.clipFrac]);
    vgrads.push(dvalues);
  }
  setNumThreads(initial);
  for (const i of [1, 2]) {
    expectBitwise(t, `dlogp ${i + 1} threads vs 1`, grads[i]!, grads[0]!);
    t.same(stats[i], stats[0], `policy stats ${i + 1} threads vs 1`);
    expectBitwise(t, `dvalues ${i + 1} threads vs 1`, vgrads[i]!, vgrads[0]!);
    t.same(vstats[i], vstats[0], `value stats ${i + 1} threads vs 1`);
  }
});

t.test('ppoLoss and valueLoss reject bad arguments with named errors', async (t) => {
  const f = (n: number) => new Float32Array(n);
  const ok = { rows: 2, cols: 3 };
  const call = (over: Partial<Record<'logp' | 'oldLogp' | 'refLogp' | 'advantages' | 'mask' | 'dlogp', unknown>>, opts: unknown = ok) =>
    () => ppoLoss(
      (over.logp ?? f(6)) as Float32Array, (over.oldLogp ?? f(6)) as Float32Array,
      ('refLogp' in over ? over.refLogp : f(6)) as Float32Array | null, (over.advantages ?? f(6)) as Float32Array,
      (over.mask ?? f(6)) as Float32Array, (over.dlogp ?? f(6)) as Float32Array, opts as never,
    );
  t.throws(call({ logp: new Int32Array(6) }), { name: 'TypeError', message: /ppoLoss: expected a Float32Array for logp but received Int32Array/ });
  t.throws(call({ advantages: [1, 2] }), { name: 'TypeError', message: /for advantages but received Array/ });
  t.throws(call({ mask: f(5) }), { name: 'RangeError', message: /ppoLoss: mask has 5 elements, expected rows\*cols = 6/ });
  t.throws(call({ refLogp: f(7) }), { name: 'RangeError', message: /refLogp has 7 elements/ });
  t.throws(call({}, { rows: 2.5, cols: 3 }), { name: 'RangeError', message: /integer for rows but received number 2.5/ });
  t.throws(call({}, { rows: 2, cols: -3 }), { name: 'RangeError', message: /integer for cols but received number -3/ });
  t.throws(call({}, { rows: 2 }), { name: 'TypeError', message: /for cols but received undefined/ });
  t.throws(call({}, { ...ok, clipEps: NaN }), { name: 'RangeError', message: /finite number for clipEps but received NaN/ });
  t.throws(call({}, { ...ok, clipEps: 1 }), { name: 'RangeError', message: /number in \(0, 1\) for clipEps but received 1/ });
  t.throws(call({}, { ...ok, clipEps: 0 }), { name: 'RangeError', message: /for clipEps/ });
  t.throws(call({}, { ...ok, klCoef: -0.1 }), { name: 'RangeError', message: /non-negative number for klCoef/ });
  t.throws(call({}, { ...ok, klMode: 'k2' }), { name: 'RangeError', message: /one of 'k1', 'k3' for klMode/ });
  t.throws(call({ refLogp: null }, { ...ok, klCoef: 0.1 }), { name: 'TypeError', message: /ppoLoss: refLogp is null but klCoef = 0.1/ });
  t.doesNotThrow(call({ refLogp: null }, ok), 'refLogp null with klCoef 0');
  const buf = f(12);
  t.throws(call({ logp: buf.subarray(0, 6), dlogp: buf.subarray(3, 9) }), { name: 'RangeError', message: /ppoLoss: dlogp overlaps logp/ });
  t.throws(call({ mask: buf.subarray(0, 6), dlogp: buf.subarray(5, 11) }), { name: 'RangeError', message: /dlogp overlaps mask/ });
  t.throws(() => (ppoLoss as (...a: unknown[]) => unknown)(f(6)), { name: 'TypeError', message: /ppoLoss: expected a Float32Array for oldLogp but received undefined/ });

  const vcall = (over: Partial<Record<'values' | 'oldValues' | 'returns' | 'mask' | 'dvalues', unknown>>, opts: unknown = ok) =>
    () => valueLoss(
      (over.values ?? f(6)) as Float32Array, (over.oldValues ?? f(6)) as Float32Array, (over.returns ?? f(6)) as Float32Array,
      (over.mask ?? f(6)) as Float32Array, (over.dvalues ?? f(6)) as Float32Array, opts as never,
    );
  t.throws(vcall({ returns: new Float64Array(6) }), { name: 'TypeError', message: /valueLoss: expected a Float32Array for returns but received Float64Array/ });
  t.throws(vcall({ dvalues: f(7) }), { name: 'RangeError', message: /valueLoss: dvalues has 7 elements, expected rows\*cols = 6/ });
  t.throws(vcall({}, { ...ok, clipRange: -1 }), { name: 'RangeError', message: /non-negative number for clipRange/ });
  t.throws(vcall({}, { ...ok, clipRange: Infinity }), { name: 'RangeError', message: /finite number for clipRange/ });
  t.throws(vcall({}, { rows: NaN, cols: 3 }), { name: 'RangeError', message: /integer for rows/ });
  t.throws(vcall({ values: buf.subarray(0, 6), dvalues: buf.subarray(0, 6) }), { name: 'RangeError', message: /valueLoss: dvalues overlaps values/ });
});

// Softmax cross-entropy and token log-probs against PyTorch fixtures, a
// float64 reference, finite differences, across ISAs and thread counts.
import t from 'tap';
import {
  softmaxCrossEntropy, tokenLogProbs, tokenLogProbsBackward,
} from '../../lib/kernels/cross_entropy.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn, randint } from '../helpers/random.js';

/** float64 log-softmax of one row. */
function logSoftmax(x: ArrayLike<number>, o: number, V: number): Float64Array {
  let m = -Infinity;
  for (let j = 0; j < V; j++) m = Math.max(m, x[o + j]!);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(x[o + j]! - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(V);
  for (let j = 0; j < V; j++) out[j] = x[o + j]! - lse;
  return out;
}

/** float64 reference for PyTorch's cross_entropy(mean, ignore_index, label_smoothing). */
function ceReference(x: Float32Array, targets: Int32Array, rows: number, V: number, ignore: number, eps: number) {
  const losses = new Float64Array(rows);
  const dlogits = new Float64Array(rows * V);
  let count = 0;
  for (let r = 0; r < rows; r++) if (targets[r] !== ignore) count++;
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const tr = targets[r]!;
    if (tr === ignore) continue;
    const lp = logSoftmax(x, r * V, V);
    let meanNeg = 0;
    for (let j = 0; j < V; j++) meanNeg -= lp[j]! / V;
    losses[r] = (1 - eps) * -lp[tr]! + eps * meanNeg;
    sum += losses[r]!;
    for (let j = 0; j < V; j++)
      dlogits[r * V + j] = (Math.exp(lp[j]!) - eps / V - (j === tr ? 1 - eps : 0)) / count;
  }
  return { loss: count ? sum / count : 0, count, losses, dlogits };
}

function logProbReference(x: Float32Array, targets: Int32Array, rows: number, V: number, dlogp: ArrayLike<number>, dH: ArrayLike<number> | null) {
  const logp = new Float64Array(rows);
  const entropy = new Float64Array(rows);
  const dlogits = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const lp = logSoftmax(x, r * V, V);
    logp[r] = lp[targets[r]!]!;
    let H = 0;
    for (let j = 0; j < V; j++) H -= Math.exp(lp[j]!) * lp[j]!;
    entropy[r] = H;
    for (let j = 0; j < V; j++) {
      const p = Math.exp(lp[j]!);
      dlogits[r * V + j] = dlogp[r]! * ((j === targets[r] ? 1 : 0) - p) - (dH ? dH[r]! : 0) * p * (lp[j]! + H);
    }
  }
  return { logp, entropy, dlogits };
}

// Tolerances. The loss is a mean of lse − x_t terms of size ≲ 20 (≤ 2e4 for
// the ±1e4 rows), computed from float32 sums of ≤ 50257 exps (each with the
// polynomial's ≤ 1.2e-7 relative error): 1e-6 relative + 2e-6 absolute.
// Gradients are p_j/count in [0, 1]: a few ulp of 1 ⇒ 1e-6 absolute.
// logp/entropy: 2e-6 absolute + 2e-6 relative (the same float32 row sums).
const tolLoss = { atol: 2e-6, rtol: 1e-6 };
const tolGrad = { atol: 1e-6, rtol: 1e-5 };
const tolLogp = { atol: 2e-6, rtol: 2e-6 };

t.test('softmaxCrossEntropy and tokenLogProbs match PyTorch (float64)', async (t) => {
  const cases = loadFixtures('cross_entropy');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const o = c.opts as { kind: string; rows: number; vocab: number; labelSmoothing: number; loss: number; count: number };
      const { rows, vocab } = o;
      const logits = f32(c, 'logits');
      const targets = i32(c, 'targets');
      if (o.kind === 'ce') {
        const dlogits = new Float32Array(rows * vocab).fill(NaN); // every element must be written
        const losses = new Float32Array(rows).fill(NaN);
        const r = softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab, labelSmoothing: o.labelSmoothing, losses });
        expectClose(t, `${c.name} loss`, [r.loss], [o.loss], tolLoss);
        t.equal(r.count, o.count, `${c.name} count`);
        expectClose(t, `${c.name} dlogits`, dlogits, f32(c, 'dlogits'), tolGrad);
        expectClose(t, `${c.name} losses`, losses, f32(c, 'losses'), tolLoss);
        const noGrad = softmaxCrossEntropy(logits, targets, null, { rows, vocab, labelSmoothing: o.labelSmoothing });
        t.equal(noGrad.loss, r.loss, `${c.name} loss without dlogits is the same`);
      } else {
        const logp = new Float32Array(rows);
        const entropy = new Float32Array(rows);
        tokenLogProbs(logits, targets, logp, entropy, { rows, vocab });
        expectClose(t, `${c.name} logp`, logp, f32(c, 'logp'), tolLogp);
        expectClose(t, `${c.name} entropy`, entropy, f32(c, 'entropy'), tolLogp);
        const dlogits = new Float32Array(rows * vocab).fill(NaN);
        tokenLogProbsBackward(logits, targets, f32(c, 'dlogp'), f32(c, 'dentropy'), dlogits, { rows, vocab });
        // dlogits has |dlogp|·|1 − p| + |dH|·p·|log p + H| ≲ 5 ⇒ a bit looser.
        expectClose(t, `${c.name} dlogits`, dlogits, f32(c, 'dlogits'), { atol: 4e-6, rtol: 1e-5 });
        tokenLogProbsBackward(logits, targets, f32(c, 'dlogp'), null, dlogits, { rows, vocab });
        expectClose(t, `${c.name} dlogits (no dentropy)`, dlogits, f32(c, 'dlogitsLogpOnly'), tolGrad);
      }
    }
  });
});

t.test('softmaxCrossEntropy matches a float64 reference (odd vocab, 50257, ignore, smoothing)', async (t) => {
  const shapes: [number, number][] = [[1, 1], [7, 33], [33, 1000], [3, 50257], [5, 17]];
  await forEachIsa(t, (t) => {
    const rng = new Rng(1);
    for (const [rows, vocab] of shapes) {
      const logits = randn(rng, rows * vocab, 4);
      const targets = randint(rng, rows, 0, vocab);
      for (const [ignore, eps] of [[-100, 0], [-100, 0.3], [0, 0.1], [-1, 1]] as const) {
        if (rows > 2) targets[rows - 2] = ignore;
        const dlogits = new Float32Array(rows * vocab);
        const losses = new Float32Array(rows);
        const r = softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab, ignoreIndex: ignore, labelSmoothing: eps, losses });
        const ref = ceReference(logits, targets, rows, vocab, ignore, eps);
        const name = `${rows}x${vocab} ignore=${ignore} eps=${eps}`;
        t.equal(r.count, ref.count, `${name} count`);
        expectClose(t, `${name} loss`, [r.loss], [ref.loss], tolLoss);
        expectClose(t, `${name} losses`, losses, ref.losses, tolLoss);
        expectClose(t, `${name} dlogits`, dlogits, ref.dlogits, tolGrad);
      }
    }
  });
});

t.test('softmaxCrossEntropy: an all-ignored batch gives loss 0, count 0, zero gradients', async (t) => {
  await forEachIsa(t, (t) => {
    const [rows, vocab] = [4, 9];
    const logits = randn(new Rng(2), rows * vocab);
    const targets = new Int32Array(rows).fill(-100);
    const dlogits = new Float32Array(rows * vocab).fill(NaN);
    const losses = new Float32Array(rows).fill(NaN);
    const r = softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab, labelSmoothing: 0.1, losses });
    t.same(r, { loss: 0, count: 0 });
    t.ok(dlogits.every((v) => v === 0), 'dlogits all zero');
    t.ok(losses.every((v) => v === 0), 'losses all zero');
    t.same(softmaxCrossEntropy(new Float32Array(0), new Int32Array(0), null, { rows: 0, vocab }), { loss: 0, count: 0 }, 'rows = 0');
  });
});

t.test('extreme logits (±1e4) stay finite and match the float64 reference', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(3);
    const [rows, vocab] = [6, 1000];
    const logits = randn(rng, rows * vocab);
    for (let i = 0; i < logits.length; i++) if (rng.next() < 0.1) logits[i] = rng.next() < 0.5 ? 1e4 : -1e4;
    logits.fill(-1e4, vocab, 2 * vocab); // row 1: all −1e4 but one +1e4
    logits[vocab + 5] = 1e4;
    logits.fill(1e4, 2 * vocab, 3 * vocab); // row 2: uniform at +1e4
    const targets = randint(rng, rows, 0, vocab);
    targets[1] = 6; // loss 2e4 on row 1
    const dlogits = new Float32Array(rows * vocab);
    const losses = new Float32Array(rows);
    const r = softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab, labelSmoothing: 0.1, losses });
    t.ok(Number.isFinite(r.loss) && dlogits.every(Number.isFinite), 'loss and dlogits finite');
    const ref = ceReference(logits, targets, rows, vocab, -100, 0.1);
    // Row losses reach 2e4: float32 sums of 1000 logits of ±1e4 (for the
    // smoothing term) carry ≈ 1e4·1000·6e-8/√… ⇒ 1e-3 absolute on 2e4, 1e-6 relative.
    expectClose(t, 'losses', losses, ref.losses, { atol: 1e-3, rtol: 1e-6 });
    expectClose(t, 'loss', [r.loss], [ref.loss], { atol: 1e-3, rtol: 1e-6 });
    expectClose(t, 'dlogits', dlogits, ref.dlogits, tolGrad);
    const logp = new Float32Array(rows);
    const entropy = new Float32Array(rows);
    tokenLogProbs(logits, targets, logp, entropy, { rows, vocab });
    const lref = logProbReference(logits, targets, rows, vocab, new Float64Array(rows), null);
    expectClose(t, 'logp', logp, lref.logp, { atol: 2e-6, rtol: 2e-6 });
    expectClose(t, 'entropy', entropy, lref.entropy, tolLogp);
  });
});

t.test('softmaxCrossEntropy gradient matches central differences of its own loss', async (t) => {
  // h = 1e-2 on O(1) logits: truncation h²/6·|∂³loss| ≲ 2e-6; the loss has
  // float32-sum rounding ≈ 1e-6 absolute, divided by 2h ⇒ ≲ 5e-5. atol 1e-4.
  await forEachIsa(t, (t) => {
    const rng = new Rng(4);
    const [rows, vocab] = [3, 7];
    const logits = randn(rng, rows * vocab);
    const targets = Int32Array.from([2, -100, 6]);
    const dlogits = new Float32Array(rows * vocab);
    softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab, labelSmoothing: 0.2 });
    const numeric = new Float64Array(rows * vocab);
    const h = 1e-2;
    for (let i = 0; i < logits.length; i++) {
      const keep = logits[i]!;
      logits[i] = keep + h;
      const up = softmaxCrossEntropy(logits, targets, null, { rows, vocab, labelSmoothing: 0.2 }).loss;
      logits[i] = keep - h;
      const down = softmaxCrossEntropy(logits, targets, null, { rows, vocab, labelSmoothing: 0.2 }).loss;
      logits[i] = keep;
      numeric[i] = (up - down) / (2 * h);
    }
    expectClose(t, 'dlogits vs finite diff', dlogits, numeric, { atol: 1e-4 });
  });
});

t.test('tokenLogProbsBackward matches central differences of tokenLogProbs', async (t) => {
  // L = Σ dlogp·logp + dH·H on float32 outputs (|value| ≲ 5, rounding 5e-7
  // per row, 3 rows) over 2h = 2e-2 ⇒ ≲ 1e-4; truncation h²/6·O(1) ≈ 2e-5.
  await forEachIsa(t, (t) => {
    const rng = new Rng(6);
    const [rows, vocab] = [3, 11];
    const logits = randn(rng, rows * vocab, 2);
    const targets = randint(rng, rows, 0, vocab);
    const dlogp = randn(rng, rows);
    const dH = randn(rng, rows);
    const lossAt = () => {
      const logp = new Float32Array(rows);
      const H = new Float32Array(rows);
      tokenLogProbs(logits, targets, logp, H, { rows, vocab });
      let l = 0;
      for (let r = 0; r < rows; r++) l += dlogp[r]! * logp[r]! + dH[r]! * H[r]!;
      return l;
    };
    const dlogits = new Float32Array(rows * vocab);
    tokenLogProbsBackward(logits, targets, dlogp, dH, dlogits, { rows, vocab });
    const numeric = new Float64Array(rows * vocab);
    const h = 1e-2;
    for (let i = 0; i < logits.length; i++) {
      const keep = logits[i]!;
      logits[i] = keep + h;
      const up = lossAt();
      logits[i] = keep - h;
      const down = lossAt();
      logits[i] = keep;
      numeric[i] = (up - down) / (2 * h);
    }
    expectClose(t, 'dlogits vs finite diff', dlogits, numeric, { atol: 2e-4 });
    const ref = logProbReference(logits, targets, rows, vocab, dlogp, dH);
    expectClose(t, 'dlogits vs float64 reference', dlogits, ref.dlogits, { atol: 4e-6, rtol: 1e-5 });
  });
});

t.test('tokenLogProbs matches a float64 reference (vocab 1, 33, 1000, 50257)', async (t) => {
  await forEachIsa(t, (t) => {
    const rng = new Rng(12);
    for (const [rows, vocab] of [[2, 1], [7, 33], [5, 1000], [2, 50257]] as const) {
      const logits = randn(rng, rows * vocab, 3);
      const targets = randint(rng, rows, 0, vocab);
      const logp = new Float32Array(rows);
      const entropy = new Float32Array(rows);
      tokenLogProbs(logits, targets, logp, entropy, { rows, vocab });
      const onlyLogp = new Float32Array(rows);
      tokenLogProbs(logits, targets, onlyLogp, null, { rows, vocab });
      const ref = logProbReference(logits, targets, rows, vocab, new Float64Array(rows), null);
      expectClose(t, `${rows}x${vocab} logp`, logp, ref.logp, tolLogp);
      expectClose(t, `${rows}x${vocab} logp (no entropy)`, onlyLogp, ref.logp, tolLogp);
      expectClose(t, `${rows}x${vocab} entropy`, entropy, ref.entropy, tolLogp);
    }
  });
});

t.test('cross-entropy and log-prob results do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(9);
  const [rows, vocab] = [67, 1001];
  const logits = randn(rng, rows * vocab, 3);
  const targets = randint(rng, rows, 0, vocab);
  targets[5] = -100;
  const dlogp = randn(rng, rows);
  const dH = randn(rng, rows);
  const initial = numThreads();
  const runs: { loss: number; arrays: Float32Array[] }[] = [];
  for (const threads of [1, 2, 3]) {
    setNumThreads(threads);
    const dlogits = new Float32Array(rows * vocab);
    const losses = new Float32Array(rows);
    const r = softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab, labelSmoothing: 0.1, losses });
    const lpTargets = targets.map((v) => (v < 0 ? 0 : v));
    const logp = new Float32Array(rows);
    const H = new Float32Array(rows);
    tokenLogProbs(logits, lpTargets, logp, H, { rows, vocab });
    const dl2 = new Float32Array(rows * vocab);
    tokenLogProbsBackward(logits, lpTargets, dlogp, dH, dl2, { rows, vocab });
    runs.push({ loss: r.loss, arrays: [dlogits, losses, logp, H, dl2] });
  }
  setNumThreads(initial);
  const names = ['dlogits', 'losses', 'logp', 'entropy', 'logprob dlogits'];
  for (const k of [1, 2]) {
    t.ok(Object.is(runs[k]!.loss, runs[0]!.loss), `loss: ${k + 1} threads vs 1 identical`);
    names.forEach((n, i) => expectBitwise(t, `${n}: ${k + 1} threads vs 1`, runs[k]!.arrays[i]!, runs[0]!.arrays[i]!));
  }
});

t.test('cross-entropy entry points reject bad arguments, naming them', async (t) => {
  const [rows, vocab] = [6, 5];
  const logits = new Float32Array(rows * vocab);
  const targets = new Int32Array(rows);
  const dlogits = new Float32Array(rows * vocab);
  const ce = (o: Record<string, unknown>, a: Record<string, unknown> = {}) => () =>
    softmaxCrossEntropy(
      (a.logits ?? logits) as Float32Array, (a.targets ?? targets) as Int32Array,
      (a.dlogits === undefined ? dlogits : a.dlogits) as Float32Array | null, { rows, vocab, ...o } as never,
    );
  const bad = targets.slice();
  bad[5] = 70000;
  t.throws(ce({}, { targets: bad }), {
    name: 'RangeError',
    message: 'softmaxCrossEntropy: targets[5] = 70000 is outside [0, vocab=5) and is not ignoreIndex (-100)',
  });
  const neg = targets.slice();
  neg[2] = -100;
  t.doesNotThrow(ce({}, { targets: neg }), 'ignoreIndex is accepted');
  t.throws(ce({ ignoreIndex: -1 }, { targets: neg }), { message: /targets\[2\] = -100 is outside \[0, vocab=5\) and is not ignoreIndex \(-1\)/ });
  t.throws(ce({}, { targets: new Float32Array(rows) }), { name: 'TypeError', message: /expected an Int32Array for targets but received Float32Array/ });
  t.throws(ce({}, { targets: new Int32Array(5) }), { name: 'RangeError', message: /targets has 5 elements, expected rows = 6/ });
  t.throws(ce({}, { logits: new Float32Array(29) }), { name: 'RangeError', message: /logits has 29 elements, expected rows\*vocab = 30/ });
  t.throws(ce({}, { dlogits: new Float32Array(0) }), { name: 'RangeError', message: /dlogits has 0 elements/ });
  t.throws(ce({}, { dlogits: logits }), { name: 'RangeError', message: /dlogits overlaps logits/ });
  t.throws(ce({ labelSmoothing: 1.5 }), { name: 'RangeError', message: /number in \[0, 1\] for labelSmoothing but received 1.5/ });
  t.throws(ce({ labelSmoothing: NaN }), { name: 'RangeError', message: /finite number for labelSmoothing/ });
  t.throws(ce({ ignoreIndex: 2.5 }), { name: 'RangeError', message: /int32 integer for ignoreIndex but received number 2.5/ });
  t.throws(ce({ vocab: 0 }), { name: 'RangeError', message: /positive integer for vocab/ });
  t.throws(ce({ rows: -1 }), { name: 'RangeError', message: /non-negative integer for rows/ });
  t.throws(ce({ losses: new Float32Array(3) }), { name: 'RangeError', message: /losses has 3 elements, expected rows = 6/ });
  t.throws(ce({ losses: dlogits.subarray(0, rows) }), { name: 'RangeError', message: /dlogits overlaps losses/ });
  t.throws(ce({ losses: [0, 0, 0, 0, 0, 0] }), { name: 'TypeError', message: /Float32Array for losses but received Array/ });

  const outOfRange = Int32Array.from([0, 1, 2, 3, 4, 5]);
  t.throws(() => tokenLogProbs(logits, outOfRange, new Float32Array(rows), null, { rows, vocab }),
    { name: 'RangeError', message: 'tokenLogProbs: targets[5] = 5 is outside [0, vocab=5)' });
  t.throws(() => tokenLogProbs(logits, targets, new Float32Array(rows), new Float32Array(2), { rows, vocab }),
    { name: 'RangeError', message: /tokenLogProbs: entropy has 2 elements, expected rows = 6/ });
  const shared = new Float32Array(rows * vocab + rows);
  t.throws(() => tokenLogProbs(shared.subarray(0, rows * vocab), targets, shared.subarray(rows * vocab - 1, rows * vocab - 1 + rows), null, { rows, vocab }),
    { name: 'RangeError', message: /tokenLogProbs: logp overlaps logits/ });
  t.throws(() => tokenLogProbsBackward(logits, targets, new Float32Array(rows), null, logits, { rows, vocab }),
    { name: 'RangeError', message: /tokenLogProbsBackward: dlogits overlaps logits/ });
  t.throws(() => tokenLogProbsBackward(logits, targets, new Float32Array(rows), null, dlogits, { rows, vocab: 1.5 }),
    { name: 'RangeError', message: /tokenLogProbsBackward: expected a positive integer for vocab but received number 1.5/ });
  t.throws(() => tokenLogProbsBackward(logits, targets, new Float32Array(rows - 1), null, dlogits, { rows, vocab }),
    { name: 'RangeError', message: /dlogp has 5 elements, expected rows = 6/ });
});

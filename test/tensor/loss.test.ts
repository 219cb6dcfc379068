// targetLogProbs (the differentiable per-token log-prob used by sequence and
// cloze scores): values against a float64 log-softmax, ignored rows give 0 and
// no gradient, the gradient against finite differences, bad targets.
import t from 'tap';
import { targetLogProbs } from '../../lib/tensor/ops/loss.js';
import { backward } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { Rng, randn } from '../helpers/random.js';

const B = 3, T = 4, V = 7;
const targets = Int32Array.from([2, 6, -100, 0, 5, -100, -100, 1, 3, 3, 4, -100]); // (B, T)

t.test('values equal a float64 log-softmax gather; ignored rows are 0', async (t) => {
  const logits = new Tensor(randn(new Rng(1), B * T * V, 3), [B, T, V]);
  const out = targetLogProbs(logits, new Tensor(targets, [B, T]));
  t.same(out.shape, [B, T]);
  const d = logits.f32();
  targets.forEach((y, r) => {
    if (y === -100) return void t.equal(out.f32()[r], 0, `row ${r} ignored`);
    const row = [...d.subarray(r * V, (r + 1) * V)];
    const m = Math.max(...row);
    const want = row[y]! - m - Math.log(row.reduce((a, x) => a + Math.exp(x - m), 0));
    t.ok(Math.abs(out.f32()[r]! - want) < 1e-5, `row ${r}: ${out.f32()[r]} vs ${want}`);
  });
});

t.test('gradient: finite differences, and nothing flows into ignored rows', async (t) => {
  const logits = new Tensor(randn(new Rng(2), B * T * V, 2), [B, T, V], true);
  const r = gradcheck((x) => targetLogProbs(x!, new Tensor(targets, [B, T])), [logits], { maxElements: 84 });
  t.ok(r.ok, `worst |analytic − numeric| ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
  logits.grad = null;
  backward(targetLogProbs(logits, new Tensor(targets, [B, T])), new Float32Array(B * T).fill(1));
  targets.forEach((y, row) => {
    const g = logits.grad!.subarray(row * V, (row + 1) * V);
    if (y === -100) t.ok(g.every((v) => v === 0), `row ${row}: zero gradient`);
    else t.ok(Math.abs(g.reduce((a, v) => a + v, 0)) < 1e-6 && g[y]! > 0, `row ${row}: onehot − softmax sums to 0`);
  });
});

t.test('bad input: target outside the vocabulary, wrong count', async (t) => {
  const logits = new Tensor(new Float32Array(2 * V), [2, V]);
  t.throws(() => targetLogProbs(logits, new Tensor(Int32Array.of(1, 7), [2])), /target 7 at row 1 is outside the vocabulary \[0, 7\)/);
  t.throws(() => targetLogProbs(logits, new Tensor(Int32Array.of(1), [1])), /2 rows of logits \[2,7\] but 1 targets/);
});

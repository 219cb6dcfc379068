// The tokenLogProbs op (log-prob of chosen tokens, with entropy) and the
// indexSelect row gather: forward against float64 references, backward
// against finite differences, alone and composed as the PPO trainer uses them.
import t from 'tap';
import { ShapeError } from '../../lib/errors.js';
import { backward } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { mul, scale } from '../../lib/tensor/ops/elementwise.js';
import { tokenLogProbs } from '../../lib/tensor/ops/log_probs.js';
import { indexSelect, reshape } from '../../lib/tensor/ops/shape.js';
import { Tensor, intTensor } from '../../lib/tensor/tensor.js';
import { expectClose } from '../helpers/compare.js';
import { Rng, randn } from '../helpers/random.js';

const rng = new Rng(606);
const param = (shape: number[], s = 1) => new Tensor(randn(rng, shape.reduce((a, b) => a * b, 1), s), shape, true);

/** float64 log_softmax(row)[target] and −Σ p log p. */
function reference(logits: Float32Array, targets: Int32Array, V: number): { logp: number[]; entropy: number[] } {
  const logp: number[] = [], entropy: number[] = [];
  targets.forEach((tgt, r) => {
    const row = Array.from(logits.subarray(r * V, (r + 1) * V));
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    logp.push(row[tgt]! - lse);
    entropy.push(-row.reduce((s, x) => s + Math.exp(x - lse) * (x - lse), 0));
  });
  return { logp, entropy };
}

t.test('tokenLogProbs: log-probs and entropies match a float64 log-softmax (vocab 1, 7, 33)', async (t) => {
  for (const V of [1, 7, 33]) {
    const logits = param([2, 3, V], 3);
    const ids = Int32Array.from({ length: 6 }, () => rng.int(0, V));
    const { logp, entropy } = tokenLogProbs(logits, new Tensor(ids, [2, 3]));
    t.same(logp.shape, [2, 3], 'shaped like the targets');
    const ref = reference(logits.f32(), ids, V);
    // float32 log-softmax of logits ~N(0, 9): a few ulps of values up to ~10.
    expectClose(t, `V=${V} logp`, logp.f32(), ref.logp, { atol: 1e-5, rtol: 1e-6 });
    expectClose(t, `V=${V} entropy`, entropy, ref.entropy, { atol: 1e-5, rtol: 1e-6 });
  }
});

t.test('tokenLogProbs backward matches finite differences; ∂/∂logits = onehot − softmax', async (t) => {
  const logits = param([5, 9]);
  const ids = intTensor([0, 8, 3, 3, 5]);
  const r = gradcheck((x) => tokenLogProbs(x!, ids).logp, [logits], { eps: 1e-3 });
  t.ok(r.ok, `max |analytic − numeric| ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
  // Closed form for row 0 with gradOut 1 on row 0 only.
  logits.grad = null;
  const { logp } = tokenLogProbs(logits, ids);
  backward(logp, Float32Array.from([1, 0, 0, 0, 0]));
  const row = Array.from(logits.f32().subarray(0, 9));
  const z = row.reduce((s, x) => s + Math.exp(x), 0);
  const want = row.map((x, j) => (j === 0 ? 1 : 0) - Math.exp(x) / z);
  expectClose(t, 'd logp[0] / d logits[0]', logits.grad!.subarray(0, 9), want, { atol: 1e-6 });
  t.ok(logits.grad!.subarray(9).every((g) => g === 0), 'other rows get no gradient');
});

t.test('indexSelect gathers rows; repeated rows accumulate their gradients', async (t) => {
  const a = param([4, 2, 3]);
  const index = Int32Array.from([3, 0, 3, 1]);
  const out = indexSelect(a, index);
  t.same(out.shape, [4, 2, 3]);
  index.forEach((src, i) => t.same(Array.from(out.f32().subarray(i * 6, i * 6 + 6)), Array.from(a.f32().subarray(src * 6, src * 6 + 6)), `row ${i} = a[${src}]`));
  const r = gradcheck((x) => mul(indexSelect(x!, index), indexSelect(x!, index)), [a], { eps: 1e-3 });
  t.ok(r.ok, `gradcheck with a repeated index: max diff ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
  a.grad = null;
  backward(indexSelect(a, index), new Float32Array(24).fill(1));
  t.same(Array.from(a.grad!).filter((_, i) => i % 6 === 0), [1, 1, 0, 2], 'gradient counts: row 3 twice, row 2 never');
  t.same(indexSelect(a, new Int32Array(0)).shape, [0, 2, 3], 'an empty index gives an empty tensor');
});

t.test('composed as the trainer does: logits [B,T,V] → rows at chosen positions → /temperature → log-probs', async (t) => {
  const [B, T, V] = [2, 4, 6];
  const logits = param([B, T, V]);
  const positions = Int32Array.from([1, 2, 0, 5, 6, 4]); // b·T + P_b + j − 1 for prompts of length 2 and 3, padding at b·T
  const targets = new Tensor(Int32Array.from([4, 1, 0, 2, 5, 0]), [B, 3]);
  const f = (x: Tensor) => tokenLogProbs(scale(indexSelect(reshape(x, [B * T, V]), positions), 1 / 0.7), targets).logp;
  const r = gradcheck(f, [logits], { eps: 1e-3 });
  t.ok(r.ok, `max |analytic − numeric| ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
  const gathered = Float32Array.from(Array.from(positions).flatMap((p) => Array.from(logits.f32().subarray(p * V, (p + 1) * V)).map((x) => x / 0.7)));
  expectClose(t, 'logp at the gathered rows', f(logits).f32(), reference(gathered, targets.i32(), V).logp, { atol: 1e-5 });
});

t.test('bad input: target count, target range, index range', async (t) => {
  const logits = param([3, 4]);
  t.throws(() => tokenLogProbs(logits, intTensor([0, 1])), ShapeError, 'two targets for three rows');
  t.throws(() => tokenLogProbs(logits, intTensor([0, 1, 4])), /outside|vocab/, 'target 4 with vocab 4');
  t.throws(() => tokenLogProbs(logits, new Tensor(Float32Array.from([0, 1, 2]), [3])), ShapeError, 'float targets');
  t.throws(() => indexSelect(logits, Int32Array.from([0, 3])), { message: /index\[1\] = 3 is outside/ }, 'index past the first axis');
  t.throws(() => indexSelect(logits, Int32Array.from([-1])), ShapeError, 'negative index');
});

// The autograd ops over the fused PPO kernels: the loss they return against
// a float64 re-implementation of the clipped objectives, their gradients
// against finite differences (alone and behind log-probs / a linear value
// head), gradient scaling, and shape checks.
import t from 'tap';
import { ShapeError } from '../../lib/errors.js';
import { backward } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { add, scale } from '../../lib/tensor/ops/elementwise.js';
import { linear } from '../../lib/tensor/ops/linear.js';
import { tokenLogProbs } from '../../lib/tensor/ops/log_probs.js';
import { ppoPolicyLoss, ppoValueLoss } from '../../lib/tensor/ops/ppo_loss.js';
import { reshape } from '../../lib/tensor/ops/shape.js';
import { Tensor, intTensor } from '../../lib/tensor/tensor.js';
import { Rng, randn } from '../helpers/random.js';

const rng = new Rng(1234);
const [rows, cols] = [3, 5];
const n = rows * cols;
const grid = (a: ArrayLike<number>, requiresGrad = false) => new Tensor(Float32Array.from(a), [rows, cols], requiresGrad);
const EPS = 0.2, CLIP_V = 0.3;
const mask = grid([1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0]);

/** A value at least `gap` away from every kink in `kinks` (finite differences straddle none). */
function awayFrom(x: number, kinks: number[], gap: number): number {
  for (const k of kinks) if (Math.abs(x - k) < gap) x = k + (x >= k ? gap : -gap);
  return x;
}

// log-ratios d = logp − oldLogp clear of the clip edges log(1 ± ε); half the tokens clipped.
const oldLogp = grid(Array.from({ length: n }, () => -0.5 - 2 * rng.next()));
const d = Array.from({ length: n }, () => awayFrom(0.5 * rng.normal(), [Math.log(1 - EPS), Math.log(1 + EPS)], 0.03));
const logpInit = Array.from({ length: n }, (_, i) => oldLogp.f32()[i]! + d[i]!);
const advantages = grid(randn(rng, n));
const oldValues = grid(randn(rng, n));
const returns = grid(randn(rng, n, 2));
// values clear of the clip edges old ± c and of the point where the two squared errors tie.
const valuesInit = Array.from({ length: n }, (_, i) => {
  const o = oldValues.f32()[i]!, R = returns.f32()[i]!;
  return awayFrom(o + 0.6 * rng.normal(), [o - CLIP_V, o + CLIP_V, 2 * R - (o - CLIP_V), 2 * R - (o + CLIP_V)], 0.03);
});

function policyReference(logp: ArrayLike<number>): { loss: number; clipFrac: number } {
  let sum = 0, clipped = 0, count = 0;
  for (let i = 0; i < n; i++) {
    if (mask.f32()[i] === 0) continue;
    const r = Math.exp(logp[i]! - oldLogp.f32()[i]!), A = advantages.f32()[i]!;
    const p1 = -A * r, p2 = -A * Math.min(Math.max(r, 1 - EPS), 1 + EPS);
    sum += Math.max(p1, p2);
    clipped += p2 > p1 ? 1 : 0;
    count++;
  }
  return { loss: sum / count, clipFrac: clipped / count };
}

function valueReference(values: ArrayLike<number>): { loss: number; clipFrac: number } {
  let sum = 0, clipped = 0, count = 0;
  for (let i = 0; i < n; i++) {
    if (mask.f32()[i] === 0) continue;
    const v = values[i]!, o = oldValues.f32()[i]!, R = returns.f32()[i]!;
    const vc = Math.min(Math.max(v, o - CLIP_V), o + CLIP_V);
    const l1 = (v - R) ** 2, l2 = (vc - R) ** 2;
    sum += 0.5 * Math.max(l1, l2);
    clipped += l2 > l1 ? 1 : 0;
    count++;
  }
  return { loss: sum / count, clipFrac: clipped / count };
}

t.test('ppoPolicyLoss: loss and clip fraction equal a float64 clipped surrogate; finite-difference gradient', async (t) => {
  const logp = grid(logpInit, true);
  const { loss, stats } = ppoPolicyLoss(logp, oldLogp, null, advantages, mask, { clipEps: EPS });
  const ref = policyReference(logpInit);
  t.ok(Math.abs(loss.item() - ref.loss) < 1e-6, `loss ${loss.item()} vs float64 ${ref.loss}`);
  t.equal(stats.clipFrac, ref.clipFrac, `clip fraction ${stats.clipFrac}`);
  t.ok(ref.clipFrac > 0.15 && ref.clipFrac < 0.85, 'the inputs exercise both the clipped and the unclipped branch');
  const r = gradcheck((x) => ppoPolicyLoss(x!, oldLogp, null, advantages, mask, { clipEps: EPS }).loss, [logp], { eps: 1e-3, atol: 1e-4 });
  t.ok(r.ok, `d loss / d logp: max |analytic − numeric| ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
  logp.grad = null;
  backward(ppoPolicyLoss(logp, oldLogp, null, advantages, mask, { clipEps: EPS }).loss);
  t.ok([8, 9, 14].every((i) => logp.grad![i] === 0), 'padding gets no gradient');
});

t.test('ppoPolicyLoss with a k3 KL penalty: gradient through the penalty too', async (t) => {
  const logp = grid(logpInit, true);
  const ref = grid(oldLogp.f32().map((x) => x + 0.3 * rng.normal()));
  const r = gradcheck((x) => ppoPolicyLoss(x!, oldLogp, ref, advantages, mask, { clipEps: EPS, klCoef: 0.5, klMode: 'k3' }).loss, [logp], { eps: 1e-3, atol: 1e-4 });
  t.ok(r.ok, `max |analytic − numeric| ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
});

t.test('ppoValueLoss: loss and clip fraction equal a float64 clipped value loss; finite-difference gradient', async (t) => {
  const values = grid(valuesInit, true);
  const { loss, stats } = ppoValueLoss(values, oldValues, returns, mask, { clipRange: CLIP_V });
  const ref = valueReference(valuesInit);
  t.ok(Math.abs(loss.item() - ref.loss) < 1e-5, `loss ${loss.item()} vs float64 ${ref.loss}`);
  t.equal(stats.clipFrac, ref.clipFrac, `clip fraction ${stats.clipFrac}`);
  t.ok(ref.clipFrac > 0.1 && ref.clipFrac < 0.9, 'both branches exercised');
  const r = gradcheck((x) => ppoValueLoss(x!, oldValues, returns, mask, { clipRange: CLIP_V }).loss, [values], { eps: 1e-3, atol: 1e-4 });
  t.ok(r.ok, `d loss / d values: max |analytic − numeric| ${r.inputs[0]!.maxAbsDiff.toExponential(2)}`);
});

t.test('end to end: policy logits and a linear value head both receive gradients of pg + c·vf', async (t) => {
  const V = 6;
  const logits = new Tensor(randn(rng, n * V), [rows, cols, V], true);
  const targets = new Tensor(Int32Array.from({ length: n }, () => rng.int(0, V)), [rows, cols]);
  const old = grid(tokenLogProbs(logits, targets).logp.f32().map((x, i) => x - d[i]!)); // so the ratios are exp(d)
  const hidden = new Tensor(randn(rng, n * 4), [n, 4]);
  const head = new Tensor(randn(rng, 4, 0.5), [1, 4], true);
  const oldV = grid(reshape(linear(hidden, head), [rows, cols]).f32().map((x) => x + 0.5 * rng.normal()));
  const total = (lg: Tensor, w: Tensor): Tensor => {
    const pg = ppoPolicyLoss(tokenLogProbs(lg, targets).logp, old, null, advantages, mask, { clipEps: EPS }).loss;
    const vf = ppoValueLoss(reshape(linear(hidden, w), [rows, cols]), oldV, returns, mask, { clipRange: 10 }).loss;
    return add(pg, scale(vf, 0.1));
  };
  const r = gradcheck(total, [logits, head], { eps: 1e-3, atol: 1e-4 });
  t.ok(r.ok, `logits: ${r.inputs[0]!.maxAbsDiff.toExponential(2)}, value head: ${r.inputs[1]!.maxAbsDiff.toExponential(2)}`);
  logits.grad = null;
  head.grad = null;
  backward(total(logits, head));
  t.ok(logits.grad!.some((g) => g !== 0) && head.grad!.some((g) => g !== 0), 'both models get a gradient');
});

t.test('the stored gradient is scaled by the incoming one (loss · 3 → gradient · 3)', async (t) => {
  const logp = grid(logpInit, true);
  backward(ppoPolicyLoss(logp, oldLogp, null, advantages, mask).loss);
  const once = Float32Array.from(logp.grad!);
  logp.grad = null;
  backward(scale(ppoPolicyLoss(logp, oldLogp, null, advantages, mask).loss, 3));
  t.ok(once.every((g, i) => Math.abs(3 * g - logp.grad![i]!) <= 1e-6 * Math.abs(g) + 1e-9), '×3');
  t.ok(once.some((g) => g !== 0), 'gradient is not all zero');
});

t.test('bad input: shapes that differ, a scalar, klCoef without a reference', async (t) => {
  const logp = grid(logpInit, true);
  const short = new Tensor(new Float32Array(n - 1), [n - 1]);
  t.throws(() => ppoPolicyLoss(logp, short, null, advantages, mask), ShapeError, 'oldLogp shape');
  t.throws(() => ppoValueLoss(grid(valuesInit), oldValues, short, mask), ShapeError, 'returns shape');
  t.throws(() => ppoPolicyLoss(new Tensor(Float32Array.of(0), []), new Tensor(Float32Array.of(0), []), null, new Tensor(Float32Array.of(0), []), new Tensor(Float32Array.of(1), [])), ShapeError, 'scalars');
  t.throws(() => ppoPolicyLoss(logp, oldLogp, null, advantages, mask, { klCoef: 0.1 }), /refLogp/, 'klCoef > 0 needs refLogp');
  t.throws(() => ppoPolicyLoss(logp, oldLogp, null, advantages, mask, { clipEps: 1.5 }), /clipEps/, 'clipEps out of range');
  t.throws(() => tokenLogProbs(logp, intTensor([1])), ShapeError);
});

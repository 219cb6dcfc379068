// Autograd: gradients of the tensor ops against finite differences and
// closed forms; graph bookkeeping (accumulation, noGrad, freeing).
import t, { type Test } from 'tap';
import { Tensor, tensor } from '../../lib/tensor/tensor.js';
import { backward, noGrad, record } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { add, mul, sub, scale, sum, mean } from '../../lib/tensor/ops/elementwise.js';
import { reshape, transpose, permute } from '../../lib/tensor/ops/shape.js';
import { linear, matmul } from '../../lib/tensor/ops/linear.js';
import { Rng, randn } from '../helpers/random.js';

const rng = new Rng(17);
const param = (shape: number[]) => new Tensor(randn(rng, shape.reduce((a, b) => a * b, 1)), shape, true);

function check(t: Test, name: string, fn: (...x: Tensor[]) => Tensor, inputs: Tensor[]): void {
  const r = gradcheck(fn, inputs);
  const worst = Math.max(...r.inputs.map((i) => i.maxAbsDiff));
  t.ok(r.ok, `${name}: max |analytic − numeric| ${worst.toExponential(2)}`);
}

t.test('elementwise and shape ops pass the finite-difference check', async (t) => {
  const a = param([3, 4]), b = param([3, 4]);
  check(t, 'add', add, [a, b]);
  check(t, 'sub', sub, [a, b]);
  check(t, 'mul', mul, [a, b]);
  check(t, 'scale', (x) => scale(x, -2.5), [a]);
  check(t, 'mean', (x) => mean(mul(x, x)), [a]);
  check(t, 'reshape', (x) => mul(reshape(x, [2, -1]), reshape(x, [2, 6])), [a]);
  const c = param([2, 3, 5, 4]);
  check(t, 'transpose', (x) => mul(transpose(x, 1, 2), transpose(x, 1, 2)), [c]);
  check(t, 'permute', (x) => mul(permute(x, [0, 2, 1, 3]), permute(x, [0, 2, 1, 3])), [c]);
});

t.test('gradcheck catches a wrong backward', async (t) => {
  const wrongSquare = (x: Tensor) => {
    const out = new Tensor(x.f32().map((v) => v * v), x.shape);
    return record(out, 'wrongSquare', [x], (g) => [(g as Float32Array).map((v, i) => v * x.f32()[i]!)]); // should be 2x (a CPU op: g is a Float32Array)
  };
  const r = gradcheck(wrongSquare, [param([5])]);
  t.notOk(r.ok, `off by a factor 2 is caught (max diff ${r.inputs[0]!.maxAbsDiff.toExponential(2)})`);
});

t.test('permute moves elements to the right places', async (t) => {
  const x = tensor([...Array(24).keys()], [2, 3, 4]);
  const y = permute(x, [2, 0, 1]); // (4, 2, 3)
  t.same(y.shape, [4, 2, 3]);
  // y[k, i, j] = x[i, j, k]
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++)
    if (y.data[k * 6 + i * 3 + j] !== x.data[i * 12 + j * 4 + k]) t.fail(`y[${k},${i},${j}]`);
  t.pass('all 24 elements checked');
});

t.test('linear and matmul gradients match finite differences', async (t) => {
  const x = param([2, 3, 7]), w = param([5, 7]), b = param([5]);
  check(t, 'linear', (x, w, b) => linear(x, w, b), [x, w, b]);
  check(t, 'linear no bias', (x, w) => linear(x, w), [x, w]);
  const p = param([2, 3, 4]), q = param([2, 4, 6]);
  check(t, 'matmul', matmul, [p, q]);
});

t.test('gradients accumulate across uses and across backward calls; noGrad records nothing', async (t) => {
  const x = tensor([1, 2, 3], [3], true);
  backward(sum(add(mul(x, x), x))); // d/dx (x² + x) = 2x + 1
  t.same([...x.grad!], [3, 5, 7]);
  backward(sum(x));
  t.same([...x.grad!], [4, 6, 8], 'second backward accumulates');
  const y = noGrad(() => mul(x, x));
  t.equal(y.gradFn, null);
  const z = mul(x, x);
  const s = sum(z);
  backward(s);
  t.equal(z.gradFn, null, 'graph freed after backward');
  t.throws(() => backward(mul(x, x)), /root has shape \[3\]/);
});

t.test('gradient buffers handed on without a copy are never shared between tensors', async (t) => {
  // add() passes one gradOut to both inputs and reshape() passes it through:
  // the walk must copy where two holders would otherwise share a buffer and
  // a later accumulation into one would leak into the other. Which tensor
  // receives its gradient first depends on the graph order, so try both.
  const n = 5000; // above the native-add threshold
  const leaf = (f: (i: number) => number) => new Tensor(Float32Array.from({ length: n }, (_, i) => f(i)), [n], true);
  const variants: [string, (x: Tensor, y: Tensor, w: Tensor) => Tensor][] = [
    ['w·(x + y) then w·x', (x, y, w) => add(sum(mul(w, add(x, y))), sum(mul(w, reshape(reshape(x, [50, 100]), [n]))))],
    ['w·x then w·(x + y)', (x, y, w) => add(sum(mul(w, reshape(reshape(x, [50, 100]), [n]))), sum(mul(w, add(x, y))))],
    ['w·(y + x) then w·x', (x, y, w) => add(sum(mul(w, add(y, x))), sum(mul(w, x)))],
    ['w·x then w·(y + x)', (x, y, w) => add(sum(mul(w, x)), sum(mul(w, add(y, x))))],
  ];
  for (const [name, f] of variants) {
    const x = leaf((i) => (i % 7) - 3), y = leaf((i) => (i % 5) * 0.5), w = leaf((i) => (i % 3) + 1);
    const gradOut = new Float32Array([1]);
    backward(f(x, y, w), gradOut);
    t.same([...gradOut], [1], `${name}: the caller's gradOut is not written`);
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const wi = w.data[i]!;
      if (x.grad![i] !== 2 * wi || y.grad![i] !== wi || w.grad![i] !== 2 * x.data[i]! + y.data[i]!) bad++;
    }
    t.equal(bad, 0, `${name}: dx = 2w, dy = w, dw = 2x + y everywhere`);
    t.ok(x.grad!.buffer !== y.grad!.buffer && x.grad!.buffer !== w.grad!.buffer && y.grad!.buffer !== w.grad!.buffer,
      `${name}: x, y and w have their own gradient buffers`);
  }
  // add(x, x) hands the same buffer to one tensor twice: it must double, not alias.
  const x = leaf((i) => i);
  backward(sum(mul(x, add(x, x)))); // d/dx 2x² = 4x
  t.equal(x.grad!.every((v, i) => v === 4 * i), true, 'add(x, x): dx = 4x');
});

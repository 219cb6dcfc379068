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
    return record(out, 'wrongSquare', [x], (g) => [g.map((v, i) => v * x.f32()[i]!)]); // should be 2x
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

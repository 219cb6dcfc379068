// Elementwise ops with autograd: add, sub, mul, scale, sum, mean.
// Shapes must match exactly (broadcasting a bias over rows is ./linear.ts's job).
import { needsGrad, record } from '../autograd.js';
import { Tensor, expectSameShape } from '../tensor.js';
import { addInto, mulInto } from '../vec.js';

export function add(a: Tensor, b: Tensor): Tensor {
  expectSameShape(a, b, 'add');
  const x = a.f32('add'), y = b.f32('add');
  const out = new Float32Array(x.length);
  addInto(out, x, y);
  const t = new Tensor(out, a.shape);
  if (needsGrad(a, b)) record(t, 'add', [a, b], (g) => [g, g]);
  return t;
}

export function sub(a: Tensor, b: Tensor): Tensor {
  expectSameShape(a, b, 'sub');
  const x = a.f32('sub'), y = b.f32('sub');
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! - y[i]!;
  const t = new Tensor(out, a.shape);
  if (needsGrad(a, b)) record(t, 'sub', [a, b], (g) => [g, g.map((v) => -v)]);
  return t;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  expectSameShape(a, b, 'mul');
  const x = a.f32('mul'), y = b.f32('mul');
  const out = new Float32Array(x.length);
  mulInto(out, x, y);
  const t = new Tensor(out, a.shape);
  if (needsGrad(a, b))
    record(t, 'mul', [a, b], (g) => {
      const ga = new Float32Array(g.length), gb = new Float32Array(g.length);
      mulInto(ga, g, y);
      mulInto(gb, g, x);
      return [ga, gb];
    });
  return t;
}

/** a · s for a constant s. */
export function scale(a: Tensor, s: number): Tensor {
  const x = a.f32('scale');
  const out = new Float32Array(x.length);
  for (let i = 0; i < out.length; i++) out[i] = x[i]! * s;
  const t = new Tensor(out, a.shape);
  if (needsGrad(a)) record(t, 'scale', [a], (g) => [g.map((v) => v * s)]);
  return t;
}

/** Sum of all elements, as a scalar tensor. */
export function sum(a: Tensor): Tensor {
  const x = a.f32('sum');
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i]!;
  const t = new Tensor(new Float32Array([acc]), []);
  if (needsGrad(a)) record(t, 'sum', [a], (g) => [new Float32Array(x.length).fill(g[0]!)]);
  return t;
}

/** Mean of all elements, as a scalar tensor. */
export function mean(a: Tensor): Tensor {
  return scale(sum(a), 1 / Math.max(a.size, 1));
}

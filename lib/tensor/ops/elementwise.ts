// Elementwise ops with autograd: add, sub, mul, scale, sum, mean.
// Shapes must match exactly (broadcasting a bias over rows is ./linear.ts's job).
// Every op runs on the device of its inputs.
import { needsGrad, record } from '../autograd.js';
import { cloneF32, fullF32, scaleInto, toHostF32, zerosLike, type F32Buffer } from '../device.js';
import { Tensor, expectSameShape, sameDevice } from '../tensor.js';
import { addInto, mulInto } from '../vec.js';

function negated(g: F32Buffer): F32Buffer {
  if (g instanceof Float32Array) return g.map((v) => -v);
  const out = cloneF32(g);
  scaleInto(out, out, -1);
  return out;
}

export function add(a: Tensor, b: Tensor): Tensor {
  expectSameShape(a, b, 'add');
  sameDevice('add', a, b);
  const x = a.f32Buffer('add'), y = b.f32Buffer('add');
  const out = zerosLike(x);
  addInto(out, x, y);
  const t = new Tensor(out, a.shape);
  if (needsGrad(a, b)) record(t, 'add', [a, b], (g) => [g, g]);
  return t;
}

export function sub(a: Tensor, b: Tensor): Tensor {
  expectSameShape(a, b, 'sub');
  sameDevice('sub', a, b);
  const x = a.f32Buffer('sub'), y = b.f32Buffer('sub');
  let out: F32Buffer;
  if (x instanceof Float32Array && y instanceof Float32Array) {
    out = new Float32Array(x.length);
    for (let i = 0; i < out.length; i++) out[i] = x[i]! - y[i]!;
  } else {
    out = negated(y); // x + (−y) rounds exactly as x − y
    addInto(out, x, out);
  }
  const t = new Tensor(out, a.shape);
  if (needsGrad(a, b)) record(t, 'sub', [a, b], (g) => [g, negated(g)]);
  return t;
}

export function mul(a: Tensor, b: Tensor): Tensor {
  expectSameShape(a, b, 'mul');
  sameDevice('mul', a, b);
  const x = a.f32Buffer('mul'), y = b.f32Buffer('mul');
  const out = zerosLike(x);
  mulInto(out, x, y);
  const t = new Tensor(out, a.shape);
  if (needsGrad(a, b))
    record(t, 'mul', [a, b], (g) => {
      const ga = zerosLike(g), gb = zerosLike(g);
      mulInto(ga, g, y);
      mulInto(gb, g, x);
      return [ga, gb];
    });
  return t;
}

/** a · s for a constant s. */
export function scale(a: Tensor, s: number): Tensor {
  const x = a.f32Buffer('scale');
  const out = zerosLike(x);
  scaleInto(out, x, s);
  const t = new Tensor(out, a.shape);
  if (needsGrad(a))
    record(t, 'scale', [a], (g) => {
      const ga = zerosLike(g);
      scaleInto(ga, g, s);
      return [ga];
    });
  return t;
}

/** Sum of all elements, as a scalar tensor on the host (summed in double, in order, on every device). */
export function sum(a: Tensor): Tensor {
  const x = toHostF32(a.f32Buffer('sum'));
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i]!;
  const t = new Tensor(new Float32Array([acc]), []);
  const device = a.device, n = x.length;
  if (needsGrad(a)) record(t, 'sum', [a], (g) => [fullF32(device, n, toHostF32(g)[0]!)]);
  return t;
}

/** Mean of all elements, as a scalar tensor. */
export function mean(a: Tensor): Tensor {
  return scale(sum(a), 1 / Math.max(a.size, 1));
}

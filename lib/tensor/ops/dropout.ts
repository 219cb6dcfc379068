// Inverted dropout (Srivastava et al. 2014): zero each element with
// probability p and scale survivors by 1/(1−p), so evaluation needs no change.
import { needsGrad, record } from '../autograd.js';
import type { Random } from '../random.js';
import { Tensor } from '../tensor.js';

export function dropout(x: Tensor, p: number, rng: Random): Tensor {
  if (p <= 0) return x;
  if (p >= 1) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  const xd = x.f32('dropout');
  const keep = 1 / (1 - p);
  const mask = new Float32Array(xd.length);
  const out = new Float32Array(xd.length);
  for (let i = 0; i < xd.length; i++) {
    mask[i] = rng.uniform() < p ? 0 : keep;
    out[i] = xd[i]! * mask[i]!;
  }
  const y = new Tensor(out, x.shape);
  if (needsGrad(x)) record(y, 'dropout', [x], (g) => [g.map((v, i) => v * mask[i]!)]);
  return y;
}

// Inverted dropout (Srivastava et al. 2014): zero each element with
// probability p and scale survivors by 1/(1−p), so evaluation needs no change.
// The mask is drawn on the host from the model's RNG on every device, so a
// run on 'cuda' draws exactly the numbers a run on 'cpu' draws.
import { needsGrad, record } from '../autograd.js';
import { f32On, zerosLike } from '../device.js';
import type { Random } from '../random.js';
import { Tensor } from '../tensor.js';
import { mulInto } from '../vec.js';

export function dropout(x: Tensor, p: number, rng: Random): Tensor {
  if (p <= 0) return x;
  if (p >= 1) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  const keep = 1 / (1 - p);
  const hostMask = new Float32Array(x.size);
  if (x.device === 'cpu') {
    const xd = x.f32('dropout');
    const out = new Float32Array(xd.length);
    for (let i = 0; i < xd.length; i++) {
      hostMask[i] = rng.uniform() < p ? 0 : keep;
      out[i] = xd[i]! * hostMask[i]!;
    }
    const y = new Tensor(out, x.shape);
    if (needsGrad(x)) record(y, 'dropout', [x], (g) => [(g as Float32Array).map((v, i) => v * hostMask[i]!)]);
    return y;
  }
  for (let i = 0; i < hostMask.length; i++) hostMask[i] = rng.uniform() < p ? 0 : keep;
  const mask = f32On(hostMask, x.device);
  const xd = x.f32Buffer('dropout');
  const out = zerosLike(xd);
  mulInto(out, xd, mask);
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'dropout', [x], (g) => {
      const gx = zerosLike(g);
      mulInto(gx, g, mask);
      return [gx];
    });
  return y;
}

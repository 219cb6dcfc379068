// Activations with autograd: GELU (Hendrycks & Gimpel 2016; exact or GPT-2's
// tanh approximation) and SiLU (x·σ(x), used by SwiGLU).
import { geluBackward, geluForward, siluBackward, siluForward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { Tensor } from '../tensor.js';

export type GeluApproximation = 'none' | 'tanh';

export function gelu(x: Tensor, approximate: GeluApproximation = 'none'): Tensor {
  const xd = x.f32('gelu');
  const out = new Float32Array(xd.length);
  geluForward(xd, out, { approximate });
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'gelu', [x], (g) => {
      const dx = new Float32Array(xd.length);
      geluBackward(g, xd, dx, { approximate });
      return [dx];
    });
  return y;
}

export function silu(x: Tensor): Tensor {
  const xd = x.f32('silu');
  const out = new Float32Array(xd.length);
  siluForward(xd, out);
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'silu', [x], (g) => {
      const dx = new Float32Array(xd.length);
      siluBackward(g, xd, dx);
      return [dx];
    });
  return y;
}

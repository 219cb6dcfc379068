// Activations with autograd: GELU (Hendrycks & Gimpel 2016; exact or GPT-2's
// tanh approximation), SiLU (x·σ(x), used by SwiGLU) and tanh (BERT pooler).
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

/** tanh (BERT's pooler); elementwise in JS: it runs on [batch, hidden] only, too small for a kernel. */
export function tanh(x: Tensor): Tensor {
  const xd = x.f32('tanh');
  const out = new Float32Array(xd.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.tanh(xd[i]!);
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'tanh', [x], (g) => {
      const dx = new Float32Array(xd.length);
      for (let i = 0; i < dx.length; i++) dx[i] = g[i]! * (1 - out[i]! * out[i]!);
      return [dx];
    });
  return y;
}

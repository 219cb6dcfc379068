// Activations with autograd: GELU (Hendrycks & Gimpel 2016; exact or GPT-2's
// tanh approximation), SiLU (x·σ(x), used by SwiGLU) and tanh (BERT pooler).
import { geluBackward, geluForward, siluBackward, siluForward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { viaHost, zerosLike } from '../device.js';
import { Tensor } from '../tensor.js';

export type GeluApproximation = 'none' | 'tanh';

export function gelu(x: Tensor, approximate: GeluApproximation = 'none'): Tensor {
  const xd = x.f32Buffer('gelu');
  const out = zerosLike(xd);
  geluForward(xd, out, { approximate });
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'gelu', [x], (g) => {
      const dx = zerosLike(xd);
      geluBackward(g, xd, dx, { approximate });
      return [dx];
    });
  return y;
}

export function silu(x: Tensor): Tensor {
  const xd = x.f32Buffer('silu');
  const out = zerosLike(xd);
  siluForward(xd, out);
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'silu', [x], (g) => {
      const dx = zerosLike(xd);
      siluBackward(g, xd, dx);
      return [dx];
    });
  return y;
}

/**
 * tanh (BERT's pooler); elementwise in JS: it runs on [batch, hidden] only,
 * too small for a kernel (on 'cuda' through a host round trip).
 */
export function tanh(x: Tensor): Tensor {
  let hostOut = new Float32Array(0);
  const out = viaHost(x.f32Buffer('tanh'), (xd) => {
    hostOut = new Float32Array(xd.length);
    for (let i = 0; i < hostOut.length; i++) hostOut[i] = Math.tanh(xd[i]!);
    return hostOut;
  });
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'tanh', [x], (g) => [
      viaHost(g, (gd) => {
        const dx = new Float32Array(gd.length);
        for (let i = 0; i < dx.length; i++) dx[i] = gd[i]! * (1 - hostOut[i]! * hostOut[i]!);
        return dx;
      }),
    ]);
  return y;
}

// Normalisation ops with autograd over the fused native kernels:
// LayerNorm (Ba et al. 2016) and RMSNorm (Zhang & Sennrich 2019), both over
// the last dimension.
import { ShapeError } from '../../errors.js';
import { layerNormBackward, layerNormForward, rmsNormBackward, rmsNormForward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { zerosLike } from '../device.js';
import { Tensor, sameDevice } from '../tensor.js';

function checkParam(x: Tensor, p: Tensor, what: string, op: string): void {
  if (p.ndim !== 1 || p.shape[0] !== x.lastDim)
    throw new ShapeError('SHAPE_MISMATCH', `${op}: ${what} [${p.shape.join(', ')}] does not fit input [${x.shape.join(', ')}] (expected [${x.lastDim}])`);
}

/** y = (x − mean)/sqrt(var + eps)·weight + bias over the last dim. */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  checkParam(x, weight, 'weight', 'layerNorm');
  checkParam(x, bias, 'bias', 'layerNorm');
  const rows = x.rows, cols = x.lastDim;
  sameDevice('layerNorm', x, weight, bias);
  const xd = x.f32Buffer('layerNorm'), w = weight.f32Buffer('layerNorm');
  const out = zerosLike(xd);
  const mean = zerosLike(xd, rows), rstd = zerosLike(xd, rows);
  layerNormForward(xd, w, bias.f32Buffer('layerNorm'), out, mean, rstd, { rows, cols, eps });
  const y = new Tensor(out, x.shape);
  if (needsGrad(x, weight, bias))
    record(y, 'layerNorm', [x, weight, bias], (g) => {
      const dx = zerosLike(xd), dw = zerosLike(xd, cols), db = zerosLike(xd, cols);
      layerNormBackward(g, xd, w, mean, rstd, dx, dw, db, { rows, cols });
      return [dx, dw, db];
    });
  return y;
}

/** y = x / sqrt(mean(x²) + eps)·weight over the last dim. */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-6): Tensor {
  checkParam(x, weight, 'weight', 'rmsNorm');
  const rows = x.rows, cols = x.lastDim;
  sameDevice('rmsNorm', x, weight);
  const xd = x.f32Buffer('rmsNorm'), w = weight.f32Buffer('rmsNorm');
  const out = zerosLike(xd);
  const rstd = zerosLike(xd, rows);
  rmsNormForward(xd, w, out, rstd, { rows, cols, eps });
  const y = new Tensor(out, x.shape);
  if (needsGrad(x, weight))
    record(y, 'rmsNorm', [x, weight], (g) => {
      const dx = zerosLike(xd), dw = zerosLike(xd, cols);
      rmsNormBackward(g, xd, w, rstd, dx, dw, { rows, cols });
      return [dx, dw];
    });
  return y;
}

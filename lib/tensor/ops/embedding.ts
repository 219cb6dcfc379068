// Embedding lookup with autograd: gather rows of the table; the backward
// scatter-adds into the table's gradient (repeated ids accumulate).
import { ShapeError } from '../../errors.js';
import { embeddingBackward, embeddingForward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { Tensor } from '../tensor.js';

/** out[..., :] = weight[ids[...], :]; weight is [vocab, dim]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.ndim !== 2) throw new ShapeError('SHAPE_MISMATCH', `embedding: weight must be [vocab, dim], got [${weight.shape}]`);
  const dim = weight.shape[1]!;
  const idx = ids.i32('embedding');
  const w = weight.f32('embedding');
  const out = new Float32Array(idx.length * dim);
  embeddingForward(idx, w, out, { dim });
  const y = new Tensor(out, [...ids.shape, dim]);
  if (needsGrad(weight))
    record(y, 'embedding', [weight], (g) => {
      const dw = new Float32Array(w.length);
      embeddingBackward(idx, g, dw, { dim });
      return [dw];
    });
  return y;
}

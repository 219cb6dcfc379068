// Embedding lookup with autograd: gather rows of the table; the backward
// scatter-adds into the table's gradient (repeated ids accumulate).
import { ShapeError } from '../../errors.js';
import { embeddingBackward, embeddingForward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { indicesOn, zerosLike } from '../device.js';
import { Tensor } from '../tensor.js';

/** out[..., :] = weight[ids[...], :]; weight is [vocab, dim]. */
export function embedding(ids: Tensor, weight: Tensor): Tensor {
  if (weight.ndim !== 2) throw new ShapeError('SHAPE_MISMATCH', `embedding: weight must be [vocab, dim], got [${weight.shape}]`);
  const dim = weight.shape[1]!;
  // Token ids may come from the host for a table on 'cuda' (copied over once).
  const w = weight.f32Buffer('embedding');
  const idx = indicesOn(ids.i32Buffer('embedding'), weight.device);
  const out = zerosLike(w, idx.length * dim);
  embeddingForward(idx, w, out, { dim });
  const y = new Tensor(out, [...ids.shape, dim]);
  if (needsGrad(weight))
    record(y, 'embedding', [weight], (g) => {
      const dw = zerosLike(w);
      embeddingBackward(idx, g, dw, { dim });
      return [dw];
    });
  return y;
}

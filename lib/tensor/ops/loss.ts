// Losses with autograd over fused native kernels: cross-entropy over logits
// (log-softmax + NLL in one pass; ignore index −100 as in PyTorch).
import { ShapeError } from '../../errors.js';
import { softmaxCrossEntropy } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { Tensor } from '../tensor.js';

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Mean cross-entropy of logits [..., V] against int targets [...]. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const vocab = logits.lastDim;
  const rows = logits.rows;
  const ids = targets.i32('crossEntropy');
  if (ids.length !== rows)
    throw new ShapeError('SHAPE_MISMATCH', `crossEntropy: ${rows} rows of logits [${logits.shape}] but ${ids.length} targets`);
  const ld = logits.f32('crossEntropy');
  const grad = needsGrad(logits);
  const dlogits = grad ? new Float32Array(ld.length) : null;
  const { loss } = softmaxCrossEntropy(ld, ids, dlogits, {
    rows, vocab, ignoreIndex: opts.ignoreIndex ?? -100, labelSmoothing: opts.labelSmoothing ?? 0,
  });
  const out = new Tensor(new Float32Array([loss]), []);
  if (dlogits)
    record(out, 'crossEntropy', [logits], (g) => {
      const s = g[0]!;
      if (s !== 1) for (let i = 0; i < dlogits.length; i++) dlogits[i]! *= s;
      return [dlogits];
    });
  return out;
}

// Losses with autograd over fused native kernels: cross-entropy over logits
// (log-softmax + NLL in one pass; ignore index −100 as in PyTorch), and the
// per-token log-probs of given targets (sequence scores, cloze verbalizers).
import { ShapeError } from '../../errors.js';
import { softmaxCrossEntropy, tokenLogProbs, tokenLogProbsBackward } from '../../kernels/index.js';
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

/**
 * log softmax(logits)[target] per row: logits [..., V], targets [...] (int)
 * → the targets' shape. Rows whose target is ignoreIndex (−100) give 0 and
 * pass no gradient, so padding and context rows can share one batch.
 */
export function targetLogProbs(logits: Tensor, targets: Tensor, opts: { ignoreIndex?: number } = {}): Tensor {
  const vocab = logits.lastDim;
  const rows = logits.rows;
  const ids = targets.i32('targetLogProbs');
  if (ids.length !== rows)
    throw new ShapeError('SHAPE_MISMATCH', `targetLogProbs: ${rows} rows of logits [${logits.shape}] but ${ids.length} targets`);
  const ignore = opts.ignoreIndex ?? -100;
  // The kernel needs a valid id on every row: ignored rows read id 0 and are zeroed after.
  const safe = ids.map((id) => (id === ignore ? 0 : id));
  for (let r = 0; r < rows; r++)
    if (ids[r] !== ignore && !(ids[r]! >= 0 && ids[r]! < vocab))
      throw new ShapeError('SHAPE_INVALID', `targetLogProbs: target ${ids[r]} at row ${r} is outside the vocabulary [0, ${vocab}) and is not ignoreIndex ${ignore}`);
  const ld = logits.f32('targetLogProbs');
  const logp = new Float32Array(rows);
  tokenLogProbs(ld, safe, logp, null, { rows, vocab });
  for (let r = 0; r < rows; r++) if (ids[r] === ignore) logp[r] = 0;
  const out = new Tensor(logp, targets.shape);
  if (needsGrad(logits))
    record(out, 'targetLogProbs', [logits], (g) => {
      const dlogp = Float32Array.from(g, (v, r) => (ids[r] === ignore ? 0 : v));
      const dlogits = new Float32Array(ld.length);
      tokenLogProbsBackward(ld, safe, dlogp, null, dlogits, { rows, vocab });
      return [dlogits];
    });
  return out;
}

// Per-token log-probabilities of chosen tokens, with autograd: the quantity
// policy-gradient methods differentiate (log π(a_t | s_t) in PPO), by the
// fused native gather-of-log-softmax kernel.
import { ShapeError } from '../../errors.js';
import { tokenLogProbs as tokenLogProbsKernel, tokenLogProbsBackward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { indicesOn, toHostF32, zerosLike } from '../device.js';
import { Tensor } from '../tensor.js';

export interface TokenLogProbs {
  /** log softmax(logits)[target] per row, shaped like the targets; differentiable w.r.t. the logits. */
  logp: Tensor;
  /** −Σ p·log p of each row (a statistic: not differentiated). */
  entropy: Float32Array;
}

/**
 * logits [..., V] and int targets [...] (one per row of logits) → the log-prob
 * of each target and each row's entropy. Every target must be in [0, V).
 */
export function tokenLogProbs(logits: Tensor, targets: Tensor): TokenLogProbs {
  const vocab = logits.lastDim;
  const rows = logits.rows;
  const ids = indicesOn(targets.i32Buffer('tokenLogProbs'), logits.device);
  if (logits.ndim === 0 || ids.length !== rows)
    throw new ShapeError('SHAPE_MISMATCH', `tokenLogProbs: ${rows} rows of logits [${logits.shape.join(', ')}] but ${ids.length} targets [${targets.shape.join(', ')}]; pass one target per row`);
  const ld = logits.f32Buffer('tokenLogProbs');
  const logp = zerosLike(ld, rows);
  const entropyOnDevice = zerosLike(ld, rows);
  tokenLogProbsKernel(ld, ids, logp, entropyOnDevice, { rows, vocab });
  const entropy = toHostF32(entropyOnDevice);
  const out = new Tensor(logp, targets.shape);
  if (needsGrad(logits))
    record(out, 'tokenLogProbs', [logits], (g) => {
      const dlogits = zerosLike(ld);
      tokenLogProbsBackward(ld, ids, g, null, dlogits, { rows, vocab });
      return [dlogits];
    });
  return { logp: out, entropy };
}

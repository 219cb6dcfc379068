// Losses with autograd over fused native kernels: cross-entropy over logits
// (log-softmax + NLL in one pass; ignore index −100 as in PyTorch), and the
// per-token log-probs of given targets (sequence scores, cloze verbalizers).
// Targets may stay on the host when the logits are on 'cuda' (they are
// copied over); the loss itself comes back as a host scalar.
import { ShapeError } from '../../errors.js';
import { softmaxCrossEntropy, tokenLogProbs, tokenLogProbsBackward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { indicesOn, scaleInto, toHost, viaHost, zerosLike } from '../device.js';
import { Tensor } from '../tensor.js';

export interface CrossEntropyOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Mean cross-entropy of logits [..., V] against int targets [...]. */
export function crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const vocab = logits.lastDim;
  const rows = logits.rows;
  const ids = indicesOn(targets.i32Buffer('crossEntropy'), logits.device);
  if (ids.length !== rows)
    throw new ShapeError('SHAPE_MISMATCH', `crossEntropy: ${rows} rows of logits [${logits.shape}] but ${ids.length} targets`);
  const ld = logits.f32Buffer('crossEntropy');
  const grad = needsGrad(logits);
  const dlogits = grad ? zerosLike(ld) : null;
  const { loss } = softmaxCrossEntropy(ld, ids, dlogits, {
    rows, vocab, ignoreIndex: opts.ignoreIndex ?? -100, labelSmoothing: opts.labelSmoothing ?? 0,
  });
  const out = new Tensor(new Float32Array([loss]), []);
  if (dlogits)
    record(out, 'crossEntropy', [logits], (g) => {
      const s = (toHost(g) as Float32Array)[0]!;
      if (s !== 1) scaleInto(dlogits, dlogits, s);
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
  const ids = toHost(targets.i32Buffer('targetLogProbs')) as Int32Array;
  if (ids.length !== rows)
    throw new ShapeError('SHAPE_MISMATCH', `targetLogProbs: ${rows} rows of logits [${logits.shape}] but ${ids.length} targets`);
  const ignore = opts.ignoreIndex ?? -100;
  // The kernel needs a valid id on every row: ignored rows read id 0 and are zeroed after.
  const safe = ids.map((id) => (id === ignore ? 0 : id));
  for (let r = 0; r < rows; r++)
    if (ids[r] !== ignore && !(ids[r]! >= 0 && ids[r]! < vocab))
      throw new ShapeError('SHAPE_INVALID', `targetLogProbs: target ${ids[r]} at row ${r} is outside the vocabulary [0, ${vocab}) and is not ignoreIndex ${ignore}`);
  const ld = logits.f32Buffer('targetLogProbs');
  const safeIds = indicesOn(safe, logits.device);
  const raw = zerosLike(ld, rows);
  tokenLogProbs(ld, safeIds, raw, null, { rows, vocab });
  const logp = viaHost(raw, (lp) => {
    for (let r = 0; r < rows; r++) if (ids[r] === ignore) lp[r] = 0;
    return lp;
  });
  const out = new Tensor(logp, targets.shape);
  if (needsGrad(logits))
    record(out, 'targetLogProbs', [logits], (g) => {
      const dlogp = viaHost(g, (gh) => Float32Array.from(gh, (v, r) => (ids[r] === ignore ? 0 : v)));
      const dlogits = zerosLike(ld);
      tokenLogProbsBackward(ld, safeIds, dlogp, null, dlogits, { rows, vocab });
      return [dlogits];
    });
  return out;
}

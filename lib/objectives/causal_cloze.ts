// Cloze classification for a decoder LM, differentiable (the training form of
// lib/generate/scoring.ts's clozeClassify, and the decoder's counterpart of
// glm_cloze.ts): each label y has a verbalizer v(y) of one or more tokens,
// scored as the continuation of the pattern c(x) by teacher forcing,
//   ℓ_y = log p(v(y) | c(x)) = Σ_j log p(v_j | c(x), v_<j)
//   p(y | x) = exp ℓ_y / Σ_y' exp ℓ_y',   loss = −log p(y* | x)
// (PET, Schick & Schütze 2021; GPT-3's multiple-choice scoring).
import { DataError } from '../errors.js';
import type { DecoderLM } from '../models/decoder.js';
import { linear } from '../tensor/ops/linear.js';
import { crossEntropy, targetLogProbs } from '../tensor/ops/loss.js';
import { reshape } from '../tensor/ops/shape.js';
import { Tensor } from '../tensor/tensor.js';

const IGNORE_INDEX = -100;

/** ℓ[n, y] = log p(v(y) | contexts[n]) as a differentiable [N, L] tensor; one forward over all N·L rows. */
export function causalVerbalizerScores(model: DecoderLM, contexts: readonly (readonly number[])[], verbalizers: readonly (readonly number[])[]): Tensor {
  if (contexts.length === 0) throw new DataError('DATA_EMPTY', 'causal cloze: no examples');
  if (verbalizers.length === 0 || verbalizers.some((v) => v.length === 0))
    throw new DataError('DATA_INVALID', 'causal cloze: every label needs a verbalizer of at least one token');
  const { n_positions: P, vocab_size: V } = model.config;
  const longest = Math.max(...verbalizers.map((v) => v.length));
  contexts.forEach((c, n) => {
    if (c.length === 0) throw new DataError('DATA_EMPTY', `causal cloze: example ${n} has an empty context; the first verbalizer token needs a predecessor`);
    if (c.length + longest - 1 > P)
      throw new DataError('DATA_INVALID', `causal cloze: example ${n}'s context (${c.length} tokens) + the longest verbalizer (${longest}) need ${c.length + longest - 1} positions, over n_positions ${P}; shorten the text`);
  });
  for (const v of verbalizers) for (const id of v) if (!(id >= 0 && id < V)) throw new DataError('DATA_INVALID', `causal cloze: verbalizer token ${id} outside the vocabulary [0, ${V})`);
  const L = verbalizers.length;
  const T = Math.max(...contexts.map((c) => c.length)) + longest - 1;
  const R = contexts.length * L;
  const ids = new Int32Array(R * T); // (R, T), right-padded with id 0: causal attention never looks ahead
  const targets = new Int32Array(R * T).fill(IGNORE_INDEX);
  contexts.forEach((c, n) => verbalizers.forEach((v, y) => {
    const row = (n * L + y) * T;
    ids.set(c, row);
    ids.set(v.slice(0, -1), row + c.length);
    // Position c.length − 1 + j predicts v_j.
    v.forEach((id, j) => (targets[row + c.length - 1 + j] = id));
  }));
  const logp = targetLogProbs(model.forward(new Tensor(ids, [R, T])), new Tensor(targets, [R, T])); // (R, T), 0 off the verbalizers
  const sums = linear(logp, new Tensor(new Float32Array(T).fill(1), [1, T])); // (R, 1)
  return reshape(sums, [contexts.length, L]); // (N, L)
}

/** Mean over the examples of −log p(y* | x): cross-entropy over the label set. */
export function causalClozeLoss(model: DecoderLM, contexts: readonly (readonly number[])[], labels: readonly number[], verbalizers: readonly (readonly number[])[]): Tensor {
  labels.forEach((y, n) => {
    if (!Number.isInteger(y) || y < 0 || y >= verbalizers.length)
      throw new DataError('DATA_INVALID', `causal cloze: example ${n} has label ${y}; labels index the ${verbalizers.length} verbalizers`);
  });
  if (labels.length !== contexts.length) throw new DataError('DATA_INVALID', `causal cloze: ${labels.length} labels for ${contexts.length} contexts`);
  return crossEntropy(causalVerbalizerScores(model, contexts, verbalizers), new Tensor(Int32Array.from(labels), [labels.length]));
}

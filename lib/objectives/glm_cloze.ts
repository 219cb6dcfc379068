// GLM cloze classification (Du et al. 2022, §2.3; PET, Schick & Schütze 2021):
// an input x becomes a pattern c(x) with one [MASK] (Part A); each label y has
// a verbalizer v(y) of one or more tokens, scored as the Part B span at that
// [MASK] by teacher forcing ([S] v_1 … v_{m−1} in, v_1 … v_m out):
//   ℓ_y = log p(v(y) | c(x)) = Σ_j log p(v_j | c(x), [S], v_<j)
//   p(y | x) = exp ℓ_y / Σ_y' exp ℓ_y',   loss = −log p(y* | x)
// Everything here is differentiable: GLM's cloze fine-tuning trains on it.
import { DataError } from '../errors.js';
import type { GLM } from '../models/glm.js';
import { linear } from '../tensor/ops/linear.js';
import { crossEntropy, targetLogProbs } from '../tensor/ops/loss.js';
import { reshape } from '../tensor/ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { collateGlm, IGNORE_INDEX, type GlmExample, type GlmSpecialTokens } from './blank_infilling.js';

export interface ClozeExample {
  /** The pattern c(x) as token ids, with exactly one [MASK] where the verbalizer goes. */
  context: readonly number[];
  /** Index of the gold label in the verbalizer list. */
  label: number;
}

function checkVerbalizers(verbalizers: readonly (readonly number[])[], vocab: number): void {
  if (verbalizers.length === 0) throw new DataError('DATA_INVALID', 'GLM cloze: no labels; give each label a verbalizer (its token ids)');
  verbalizers.forEach((v, y) => {
    if (v.length === 0) throw new DataError('DATA_INVALID', `GLM cloze: the verbalizer of label ${y} is empty; give it at least one token id`);
    for (const id of v)
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new DataError('DATA_INVALID', `GLM cloze: the verbalizer of label ${y} has token id ${id}, outside the vocabulary [0, ${vocab})`);
  });
}

/** Where the verbalizer goes: the context's one [MASK]. */
function clozeBlank(context: readonly number[], specials: GlmSpecialTokens, where: string): number {
  const blanks = context.flatMap((id, i) => (id === specials.mask || id === specials.gmask ? [i] : []));
  if (blanks.length !== 1)
    throw new DataError('DATA_INVALID', `${where}: the pattern needs exactly one [MASK] (id ${specials.mask}) for the verbalizer, found ${blanks.length}; write the pattern as e.g. "<text> It was [MASK]."`);
  return blanks[0]!;
}

/**
 * One GLM sequence per label: Part A = context, Part B = [S] v_1 … v_{m−1}
 * at the [MASK]'s position (block positions 1..m), targets v_1 … v_m.
 */
export function glmClozeRows(context: readonly number[], verbalizers: readonly (readonly number[])[], specials: GlmSpecialTokens, where = 'glmClozeRows'): GlmExample[] {
  if (context.length === 0) throw new DataError('DATA_EMPTY', `${where}: the pattern is empty; it needs at least its [MASK]`);
  const blank = clozeBlank(context, specials, where);
  const A = context.length;
  return verbalizers.map((v) => {
    const m = v.length, n = A + m;
    const ex: GlmExample = {
      input: new Int32Array(n), target: new Int32Array(n).fill(IGNORE_INDEX),
      positions: new Int32Array(n), blockPositions: new Int32Array(n), prefixLen: A,
    };
    ex.input.set(context);
    for (let i = 0; i < A; i++) ex.positions[i] = i;
    for (let j = 0; j < m; j++) {
      ex.input[A + j] = j === 0 ? specials.start : v[j - 1]!;
      ex.target[A + j] = v[j]!;
      ex.positions[A + j] = blank;
      ex.blockPositions[A + j] = j + 1;
    }
    return ex;
  });
}

/**
 * Per-token log p(v_j | …) of every (context, label) pair: [N·L, T], row
 * n·L + y, zeros off the verbalizer tokens. One forward over all pairs.
 */
export function glmVerbalizerTokenLogProbs(model: GLM, contexts: readonly (readonly number[])[], verbalizers: readonly (readonly number[])[], specials: GlmSpecialTokens): Tensor {
  if (contexts.length === 0) throw new DataError('DATA_EMPTY', 'GLM cloze: no examples');
  checkVerbalizers(verbalizers, model.config.vocab_size);
  const P = model.config.n_positions;
  const longest = Math.max(...verbalizers.map((v) => v.length));
  const rows = contexts.flatMap((c, n) => {
    if (c.length + longest > P)
      throw new DataError('DATA_INVALID', `GLM cloze: example ${n}'s pattern (${c.length} tokens) + the longest verbalizer (${longest}) exceed n_positions ${P}; shorten the text`);
    return glmClozeRows(c, verbalizers, specials, `GLM cloze: example ${n}`);
  });
  const batch = collateGlm(rows, 0);
  const logits = model.forward(batch.input, batch.positions, batch.blockPositions, batch.prefixLen, batch.kvLen); // (N·L, T, V)
  return targetLogProbs(logits, batch.target); // (N·L, T)
}

/** ℓ[n, y] = log p(v(y) | c(x_n)) as a differentiable [N, L] tensor. */
export function glmVerbalizerScores(model: GLM, contexts: readonly (readonly number[])[], verbalizers: readonly (readonly number[])[], specials: GlmSpecialTokens): Tensor {
  const logp = glmVerbalizerTokenLogProbs(model, contexts, verbalizers, specials); // (N·L, T)
  const T = logp.shape[1]!;
  // Row sums as a product with a ones vector: (N·L, T) · (T) → (N·L, 1).
  const sums = linear(logp, new Tensor(new Float32Array(T).fill(1), [1, T]));
  return reshape(sums, [contexts.length, verbalizers.length]); // (N, L)
}

/** Mean over the examples of −log p(y* | x): cross-entropy over the label set. */
export function glmClozeLoss(model: GLM, examples: readonly ClozeExample[], verbalizers: readonly (readonly number[])[], specials: GlmSpecialTokens): Tensor {
  checkVerbalizers(verbalizers, model.config.vocab_size);
  examples.forEach((e, n) => {
    if (!Number.isInteger(e.label) || e.label < 0 || e.label >= verbalizers.length)
      throw new DataError('DATA_INVALID', `glmClozeLoss: example ${n} has label ${e.label}; labels index the ${verbalizers.length} verbalizers`);
  });
  const scores = glmVerbalizerScores(model, examples.map((e) => e.context), verbalizers, specials); // (N, L)
  return crossEntropy(scores, new Tensor(Int32Array.from(examples, (e) => e.label), [examples.length]));
}

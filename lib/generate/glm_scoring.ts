// Cloze classification with GLM, the shape of scoring.ts's clozeClassify for
// decoders: the pattern c(x) holds one [MASK], each label's verbalizer v(y) is
// scored as the Part B span filling it, and
//   p(y|x) = p(v(y)|c(x)) / Σ_y' p(v(y')|c(x)),
// normalised in log space; multi-token verbalizers sum their log-probs.
// The differentiable form (for fine-tuning) is objectives/glm_cloze.ts.
import { ConfigError } from '../errors.js';
import type { GLM } from '../models/glm.js';
import type { GlmSpecialTokens } from '../objectives/blank_infilling.js';
import { glmVerbalizerTokenLogProbs } from '../objectives/glm_cloze.js';
import { glmSpecialTokens } from '../objectives/glm_specials.js';
import { noGrad } from '../tensor/autograd.js';
import { logSumExp, type ClozeResult } from './scoring.js';

/** Cloze classification of one pattern (token ids with one [MASK]) over labelled verbalizers. */
export function glmClozeClassify<L extends string>(
  model: GLM,
  context: readonly number[],
  verbalizers: Readonly<Record<L, readonly number[]>>,
  specials: GlmSpecialTokens,
): ClozeResult<L> {
  const labels = Object.keys(verbalizers) as L[];
  if (labels.length === 0) throw new ConfigError('CONFIG_INVALID', 'glmClozeClassify: no labels; give each label its verbalizer token ids, e.g. { positive: [id of "good"], negative: [id of "bad"] }');
  const wasTraining = model.training;
  model.eval();
  try {
    const logp = noGrad(() => glmVerbalizerTokenLogProbs(model, [context], labels.map((l) => verbalizers[l]), specials)).f32(); // (L, T)
    const T = logp.length / labels.length;
    // Off-verbalizer entries are exactly 0, so a plain row sum (in float64) is Σ_j log p(v_j | …).
    const logLikelihoods = Float64Array.from(labels, (_, y) => logp.subarray(y * T, (y + 1) * T).reduce((a, v) => a + v, 0));
    const lse = logSumExp(logLikelihoods);
    const probs = logLikelihoods.map((ll) => Math.exp(ll - lse));
    let best = 0;
    for (let i = 1; i < labels.length; i++) if (logLikelihoods[i]! > logLikelihoods[best]!) best = i;
    return { labels, logLikelihoods, probs, label: labels[best]! };
  } finally {
    model.train(wasTraining);
  }
}

/** A pattern with "[MASK]" in its text and verbalizer words, tokenized with `tokenizer` (which must know the GLM specials). */
export function glmClozeClassifyText<L extends string>(
  model: GLM,
  tokenizer: { encode(text: string): number[]; tokenToId(token: string): number | undefined },
  pattern: string,
  verbalizers: Readonly<Record<L, string>>,
  specials: GlmSpecialTokens = glmSpecialTokens(tokenizer),
): ClozeResult<L> {
  const ids = {} as Record<L, number[]>;
  for (const l of Object.keys(verbalizers) as L[]) ids[l] = tokenizer.encode(verbalizers[l]);
  return glmClozeClassify(model, tokenizer.encode(pattern), ids, specials);
}

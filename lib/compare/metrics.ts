// The evaluation metrics of `lmkit compare`, on plain predictions so they can
// be checked by hand:
//   accuracy      fraction of predicted labels equal to the gold ones
//   exact match   fraction of generations equal to the reference (whitespace at the ends ignored)
//   char F1       SQuAD's F1 over characters instead of words: the harmonic mean of
//                 precision |P ∩ G| / |P| and recall |P ∩ G| / |G|, with P and G the
//                 multisets of non-space characters of prediction and reference
//   per-char ppl  exp(total NLL in nats / characters scored): a tokenizer's
//                 granularity cancels out, so families with different vocabularies compare
// and the spread of a metric over seeds (mean, min, max).
import { ConfigError } from '../errors.js';

function checkPairs(predictions: readonly string[], references: readonly string[], what: string): void {
  if (predictions.length !== references.length)
    throw new ConfigError('CONFIG_INVALID', `${what}: ${predictions.length} predictions for ${references.length} references; pass one prediction per reference`);
  if (predictions.length === 0) throw new ConfigError('CONFIG_INVALID', `${what}: no predictions to score`);
}

/** Fraction of predictions equal to their gold label. */
export function accuracy(predictions: readonly string[], gold: readonly string[]): number {
  checkPairs(predictions, gold, 'accuracy');
  let right = 0;
  predictions.forEach((p, i) => {
    if (p === gold[i]) right++;
  });
  return right / predictions.length;
}

/** 1 when the prediction is the reference, whitespace at either end aside; else 0. */
export function exactMatchOne(prediction: string, reference: string): number {
  return prediction.trim() === reference.trim() ? 1 : 0;
}

export function exactMatch(predictions: readonly string[], references: readonly string[]): number {
  checkPairs(predictions, references, 'exactMatch');
  return predictions.reduce((s, p, i) => s + exactMatchOne(p, references[i]!), 0) / predictions.length;
}

/** Character counts of the non-whitespace code points of `text`. */
function charCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ch of text) if (!/\s/u.test(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  return counts;
}

/**
 * Character-level F1 of one prediction: 1 when both are empty (nothing to
 * get wrong), 0 when exactly one is or when they share no character.
 */
export function charF1One(prediction: string, reference: string): number {
  const p = charCounts(prediction), g = charCounts(reference);
  const size = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const np = size(p), ng = size(g);
  if (np === 0 && ng === 0) return 1;
  if (np === 0 || ng === 0) return 0;
  let common = 0;
  for (const [ch, n] of p) common += Math.min(n, g.get(ch) ?? 0);
  if (common === 0) return 0;
  const precision = common / np, recall = common / ng;
  return (2 * precision * recall) / (precision + recall);
}

/** Mean character F1 over the pairs. */
export function charF1(predictions: readonly string[], references: readonly string[]): number {
  checkPairs(predictions, references, 'charF1');
  return predictions.reduce((s, p, i) => s + charF1One(p, references[i]!), 0) / predictions.length;
}

/** Negative log-likelihood summed over a text, and how many characters it covered. */
export interface TextNll {
  /** −Σ log p over the scored tokens, in nats. */
  nll: number;
  /** Characters those tokens spell (code points). */
  chars: number;
}

/** Adds up per-segment NLLs. */
export function sumNll(parts: readonly TextNll[]): TextNll {
  return parts.reduce((a, b) => ({ nll: a.nll + b.nll, chars: a.chars + b.chars }), { nll: 0, chars: 0 });
}

/** exp(nll / chars): the per-character perplexity. */
export function perCharPerplexity(total: TextNll): number {
  if (!(total.chars > 0)) throw new ConfigError('CONFIG_INVALID', `perCharPerplexity: no characters were scored (chars = ${total.chars})`);
  if (!Number.isFinite(total.nll) || total.nll < 0)
    throw new ConfigError('CONFIG_INVALID', `perCharPerplexity: the summed NLL is ${total.nll}; a negative log-likelihood is finite and ≥ 0 (a model produced NaN/Inf log-probs)`);
  return Math.exp(total.nll / total.chars);
}

/** Bits per character: nll / chars / ln 2. */
export function bitsPerChar(total: TextNll): number {
  return Math.log2(perCharPerplexity(total));
}

/** A metric over seeds. */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  /** One value per seed, in seed order. */
  values: number[];
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new ConfigError('CONFIG_INVALID', 'spread: no values (run at least one seed)');
  return {
    mean: values.reduce((a, b) => a + b, 0) / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    values: [...values],
  };
}

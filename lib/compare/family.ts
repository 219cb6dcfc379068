// What `lmkit compare` asks of each model family, and the family's answer
// when it cannot do a thing at all (an encoder has no decoder to generate
// with): the reason, shown in the table instead of a number.
import type { Arch } from '../models/arch.js';
import type { FineTuneSettings, FineTuneStats } from './finetune.js';
import type { NluItem, Seq2SeqItem } from './formats.js';

/** A task a family cannot do, and why. */
export interface Unsupported {
  unsupported: string;
}

export function isUnsupported(x: unknown): x is Unsupported {
  return typeof x === 'object' && x !== null && 'unsupported' in x;
}

/** Predictions of a fine-tuned copy of the model, and how its training went. */
export interface FineTuned {
  predictions: string[];
  stats: FineTuneStats;
}

/**
 * −log p of held-out text under the family, summed in nats over the same
 * tokens for every family: `likelihood` is a true (chain-rule) likelihood;
 * `pseudo` is the masked-LM pseudo-log-likelihood Σ_i log p(x_i | x_≠i)
 * (Salazar et al. 2020), which sees both sides of each token and so is not
 * comparable with a likelihood.
 */
export type TextScore =
  | { kind: 'likelihood' | 'pseudo'; nll: number; how: string }
  | ({ kind: 'none' } & Unsupported);

/** Demonstrations per query, in query order. */
export type Demos<T> = readonly (readonly T[])[];

/** One pre-trained model bound to the compare tasks. */
export interface FamilyAdapter {
  readonly arch: Arch;
  /** How this family classifies, in a few words (for the table). */
  readonly nluMethod: { prompted: string; fineTuned: string };
  readonly seq2seqMethod: { prompted: string; fineTuned: string } | null;
  /** Labels predicted for the queries, query i with demos[i] solved in context (none: zero-shot); no weights change. */
  promptNlu(task: string, queries: readonly NluItem[], demos: Demos<NluItem>): string[] | Unsupported;
  /** Fine-tunes a copy on `train`, then predicts the queries' labels (zero-shot form). */
  fineTuneNlu(task: string, train: readonly NluItem[], queries: readonly NluItem[], settings: FineTuneSettings): FineTuned;
  /** Targets generated for the sources, source i with demos[i] in context. */
  promptSeq2Seq(sources: readonly string[], demos: Demos<Seq2SeqItem>, maxNewTokens: number): string[] | Unsupported;
  /** Fine-tunes a copy on `train`, then generates the sources' targets. */
  fineTuneSeq2Seq(train: readonly Seq2SeqItem[], sources: readonly string[], settings: FineTuneSettings, maxNewTokens: number): FineTuned | Unsupported;
  /** −log p(segment[1..] | segment[0]) summed over the segments (token ids, each ≥ 2 long). */
  textNll(segments: readonly (readonly number[])[]): TextScore;
}

/** Rows at a time for no-grad scoring and generation: bounds the [B, T, V] logits held at once. */
export const EVAL_BATCH = 32;

/** Index of the largest entry (the first on ties). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/** Runs `f` on consecutive slices of at most `size` items and concatenates the results. */
export function inBatches<T, R>(items: readonly T[], size: number, f: (batch: readonly T[]) => R[]): R[] {
  const out: R[] = [];
  for (let s = 0; s < items.length; s += size) out.push(...f(items.slice(s, s + size)));
  return out;
}

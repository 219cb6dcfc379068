// Logits processors and the next-token pick, with Hugging Face `generate`
// semantics: processors (repetition penalty, no-repeat n-grams, min new
// tokens) run first, then warpers (temperature, top-k, top-p), then either
// argmax (greedy) or one seeded draw from the softmax.
import type { Random } from '../tensor/random.js';

/** What the processors need to know about one row. */
export interface RowContext {
  /** The row's tokens so far: prompt then generated (HF's input_ids). */
  tokens: readonly number[];
  /** Tokens generated so far (excludes the prompt). */
  newTokens: number;
}

export interface ProcessorOptions {
  /** HF repetition_penalty: >1 discourages tokens already in the row; 1 = off. */
  repetitionPenalty: number;
  /** Bans any token that would repeat an n-gram of this size already in the row; 0 = off. */
  noRepeatNgramSize: number;
  /** The end-of-sequence tokens are masked until this many tokens are generated. */
  minNewTokens: number;
  /** Tokens that end a sequence. */
  eosTokenIds: readonly number[];
}

export interface WarperOptions {
  /** Divides the logits; 0 means greedy (argmax, no draw). */
  temperature: number;
  /** Keep the k most likely tokens (ties with the k-th kept, as HF); 0 = all. */
  topK: number;
  /** Keep the smallest set whose probability reaches topP (at least one token); 1 = all. */
  topP: number;
}

/** HF RepetitionPenaltyLogitsProcessor: divide positive / multiply negative logits of seen tokens. */
export function applyRepetitionPenalty(logits: Float32Array, tokens: readonly number[], penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(tokens)) {
    const x = logits[id]!;
    logits[id] = x < 0 ? x * penalty : x / penalty;
  }
}

/** HF NoRepeatNGramLogitsProcessor: the last n−1 tokens may not be followed by a token that completes a seen n-gram. */
export function applyNoRepeatNgram(logits: Float32Array, tokens: readonly number[], n: number): void {
  if (n <= 0 || tokens.length + 1 < n) return;
  const start = tokens.length - (n - 1); // the prefix the next token would extend
  for (let i = 0; i + n <= tokens.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = tokens[i + j] === tokens[start + j];
    if (same) logits[tokens[i + n - 1]!] = -Infinity;
  }
}

/** Processors, in HF's order, applied in place. */
export function processLogits(logits: Float32Array, row: RowContext, o: ProcessorOptions): void {
  applyRepetitionPenalty(logits, row.tokens, o.repetitionPenalty);
  applyNoRepeatNgram(logits, row.tokens, o.noRepeatNgramSize);
  if (row.newTokens < o.minNewTokens) for (const eos of o.eosTokenIds) logits[eos] = -Infinity;
}

/** HF TopKLogitsWarper: everything below the k-th largest logit becomes −∞. */
export function applyTopK(logits: Float32Array, k: number): void {
  if (k <= 0 || k >= logits.length) return;
  const kth = Float32Array.from(logits).sort()[logits.length - k]!;
  for (let i = 0; i < logits.length; i++) if (logits[i]! < kth) logits[i] = -Infinity;
}

/**
 * HF TopPLogitsWarper: sort ascending, drop tokens whose cumulative
 * probability is ≤ 1 − p, always keep the most likely one.
 */
export function applyTopP(logits: Float32Array, p: number): void {
  if (p >= 1) return;
  const probs = softmax(logits);
  const order = Array.from(logits.keys()).sort((a, b) => probs[a]! - probs[b]! || b - a); // ascending; among ties the higher id goes first
  let cum = 0;
  for (let r = 0; r < order.length - 1; r++) {
    cum += probs[order[r]!]!;
    if (cum <= 1 - p) logits[order[r]!] = -Infinity;
  }
}

/** Temperature, top-k, top-p in place (temperature 0 leaves the logits for argmax). */
export function warpLogits(logits: Float32Array, o: WarperOptions): void {
  if (o.temperature > 0 && o.temperature !== 1) for (let i = 0; i < logits.length; i++) logits[i]! /= o.temperature;
  applyTopK(logits, o.topK);
  applyTopP(logits, o.topP);
}

/** Numerically stable softmax (float64 sums). */
export function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i]! - max);
  for (let i = 0; i < p.length; i++) p[i]! /= sum;
  return p;
}

/** log softmax in float64 (beam scores add these up). */
export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(logits, (x) => x - lse);
}

/** Index of the largest value; the first one on ties (as torch.argmax). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** One draw from softmax(logits) with a single uniform number (inverse CDF). */
export function sampleToken(logits: Float32Array, rng: Random): number {
  const p = softmax(logits);
  let r = rng.uniform();
  for (let i = 0; i < p.length; i++) {
    r -= p[i]!;
    if (r < 0) return i;
  }
  return argmax(p); // rounding left r ≥ 0: take the likeliest
}

/** Warps a copy of one row's logits and picks: argmax when temperature is 0, else one seeded draw. */
export function pickToken(logits: Float32Array, o: Omit<WarperOptions, 'topP'> & { topP?: number; rng: Random }): number {
  if (o.temperature === 0) return argmax(logits);
  const warped = Float32Array.from(logits);
  warpLogits(warped, { temperature: o.temperature, topK: o.topK, topP: o.topP ?? 1 });
  return sampleToken(warped, o.rng);
}

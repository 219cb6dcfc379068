// T5 span corruption (Raffel et al. 2020, §3.1.4): about 15% of the tokens,
// in spans of mean length 3, are dropped from the input; each span is
// replaced by one sentinel (<extra_id_0>, <extra_id_1>, ... in order), and the
// target lists the sentinels each followed by the span it stands for:
//   original  x1 x2 x3 x4 x5 x6 x7 x8     spans [x3] and [x6 x7]
//   input     x1 x2 <X0> x4 x5 <X1> x8 [eos]
//   target    <X0> x3 <X1> x6 x7 [eos]
// The mask follows T5's random_spans_noise_mask (t5/data/preprocessors.py):
// noise tokens = round(len·density) clamped to [1, len−1]; spans =
// max(1, round(noise/meanSpan)); the noise and non-noise token counts are each
// split into that many non-empty segments by a random partition (a shuffled
// set of segment starts), and the segments interleave non-noise first, so a
// sequence never starts with noise. The target ends with eos after the last
// span, as T5's implementation does (the paper's figure shows a final
// sentinel instead); with eosId null neither side gets one.
// Deterministic: the same Random state gives the same mask (two shuffles of
// len−2 items each per sequence).
import { ConfigError, DataError } from '../errors.js';
import type { Random } from '../tensor/random.js';

export interface SpanCorruptionConfig {
  /** Fraction of tokens dropped into spans (T5: 0.15). */
  noiseDensity: number;
  /** Mean span length in tokens (T5: 3). */
  meanSpanLength: number;
  /** Token ids of <extra_id_0>, <extra_id_1>, ... in order (T5: vocab_size−1 downwards); one per span is needed. */
  sentinelIds: readonly number[];
  /** Appended to input and target (T5: 1), or null for none. */
  eosId: number | null;
}

export const T5_SPAN_CORRUPTION = { noiseDensity: 0.15, meanSpanLength: 3 } as const;

export interface SpanCorrupted {
  input: Int32Array;
  target: Int32Array;
}

/** Splits numItems into numSegments non-empty runs at random (T5's _random_segmentation). */
function randomSegmentation(numItems: number, numSegments: number, rng: Random): number[] {
  const firstInSegment = Array.from({ length: numItems - 1 }, (_, i) => i < numSegments - 1);
  rng.shuffle(firstInSegment);
  const lengths = [1];
  for (const first of firstInSegment) {
    if (first) lengths.push(1);
    else lengths[lengths.length - 1]! += 1;
  }
  return lengths;
}

/**
 * How many tokens a sequence of `length` (≥ 2) loses to noise and in how many
 * spans: fixed by the length, so a fixed-length window always needs the same
 * number of sentinels.
 */
export function noiseSpanCounts(length: number, noiseDensity = 0.15, meanSpanLength = 3): { numNoise: number; numSpans: number } {
  checkRates(noiseDensity, meanSpanLength);
  const numNoise = Math.min(Math.max(Math.round(length * noiseDensity), 1), length - 1);
  // Every span needs a non-noise segment before it, so spans ≤ non-noise tokens.
  const numSpans = Math.min(Math.max(Math.round(numNoise / meanSpanLength), 1), length - numNoise);
  return { numNoise, numSpans };
}

/** T5's random_spans_noise_mask: true marks a noise token. length ≥ 2 (a 1-token sequence cannot keep and drop). */
export function randomSpansNoiseMask(length: number, rng: Random, noiseDensity = 0.15, meanSpanLength = 3): boolean[] {
  if (!Number.isSafeInteger(length) || length < 2)
    throw new DataError('DATA_TOO_SHORT', `span corruption: a sequence of ${length} tokens is too short; at least 2 are needed (one kept, one dropped)`);
  const { numNoise, numSpans } = noiseSpanCounts(length, noiseDensity, meanSpanLength);
  const numNonNoise = length - numNoise;
  const noise = randomSegmentation(numNoise, numSpans, rng);
  const kept = randomSegmentation(numNonNoise, numSpans, rng);
  const mask: boolean[] = [];
  for (let s = 0; s < numSpans; s++) {
    for (let i = 0; i < kept[s]!; i++) mask.push(false);
    for (let i = 0; i < noise[s]!; i++) mask.push(true);
  }
  return mask;
}

/** Applies a noise mask: each maximal noise run becomes the next sentinel in the input and is spelled out after it in the target. */
export function corruptSpans(tokens: ArrayLike<number>, mask: readonly boolean[], sentinelIds: readonly number[], eosId: number | null = null): SpanCorrupted {
  if (mask.length !== tokens.length) throw new DataError('DATA_INVALID', `span corruption: mask of ${mask.length} for ${tokens.length} tokens`);
  const input: number[] = [], target: number[] = [];
  let span = -1;
  for (let i = 0; i < tokens.length; i++) {
    if (!mask[i]) {
      input.push(tokens[i]!);
      continue;
    }
    if (i === 0 || !mask[i - 1]) {
      span++;
      const sentinel = sentinelIds[span];
      if (sentinel === undefined)
        throw new ConfigError('CONFIG_INVALID', `span corruption: span ${span} needs <extra_id_${span}> but only ${sentinelIds.length} sentinel ids were given; pass more sentinelIds`);
      input.push(sentinel);
      target.push(sentinel);
    }
    target.push(tokens[i]!);
  }
  if (eosId !== null) {
    input.push(eosId);
    target.push(eosId);
  }
  return { input: Int32Array.from(input), target: Int32Array.from(target) };
}

/** One T5 span-corruption example: a fresh mask from rng, then corruptSpans. */
export function spanCorrupt(tokens: ArrayLike<number>, config: SpanCorruptionConfig, rng: Random): SpanCorrupted {
  const sentinels = new Set(config.sentinelIds);
  if (sentinels.size !== config.sentinelIds.length) throw new ConfigError('CONFIG_INVALID', 'span corruption: sentinelIds must be distinct');
  for (let i = 0; i < tokens.length; i++)
    if (sentinels.has(tokens[i]!) || tokens[i] === config.eosId)
      throw new DataError('DATA_INVALID', `span corruption: token ${i} is ${tokens[i]}, a sentinel or eos id; the source text must not contain them (it could not be reconstructed)`);
  const mask = randomSpansNoiseMask(tokens.length, rng, config.noiseDensity, config.meanSpanLength);
  return corruptSpans(tokens, mask, config.sentinelIds, config.eosId);
}

/** Inverse of corruptSpans: puts each sentinel's span back into the input. */
export function reconstructSpans(input: ArrayLike<number>, target: ArrayLike<number>, sentinelIds: readonly number[], eosId: number | null = null): Int32Array {
  const strip = (a: ArrayLike<number>): number[] => {
    const out = Array.from(a);
    if (eosId !== null && out[out.length - 1] === eosId) out.pop();
    return out;
  };
  const inp = strip(input), tgt = strip(target);
  const index = new Map(sentinelIds.map((id, k) => [id, k]));
  const spans: number[][] = [];
  for (const id of tgt) {
    const k = index.get(id);
    if (k !== undefined) spans[k] = [];
    else if (spans.length === 0) throw new DataError('DATA_INVALID', 'span corruption: the target must start with a sentinel');
    else spans[spans.length - 1]!.push(id);
  }
  const out: number[] = [];
  for (const id of inp) {
    const k = index.get(id);
    if (k === undefined) out.push(id);
    else if (spans[k] === undefined) throw new DataError('DATA_INVALID', `span corruption: <extra_id_${k}> is in the input but not in the target`);
    else out.push(...spans[k]!);
  }
  return Int32Array.from(out);
}

function checkRates(noiseDensity: number, meanSpanLength: number): void {
  if (!(noiseDensity > 0 && noiseDensity < 1)) throw new ConfigError('CONFIG_INVALID', `span corruption: noiseDensity must be in (0, 1), got ${noiseDensity}`);
  if (!(meanSpanLength >= 1)) throw new ConfigError('CONFIG_INVALID', `span corruption: meanSpanLength must be ≥ 1, got ${meanSpanLength}`);
}

// GLM's autoregressive blank infilling (Du et al. 2022, §2.1–2.2): spans of the
// text are blanked out; Part A is the corrupted text (one [MASK] per span),
// Part B the spans in a shuffled order, each read as [S] span and predicted as
// span [E]. Positions are 2D: which [MASK] a token fills, and where in its span.
import { DataError } from '../errors.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

/** Special token ids; they must not occur in the text itself. */
export interface GlmSpecialTokens {
  /** [MASK]: stands for one blanked span in Part A. */
  mask: number;
  /** [gMASK]: one span at the end of Part A, for left-to-right generation. */
  gmask: number;
  /** [S]: first input token of every Part B span. */
  start: number;
  /** [E]: last target token of every Part B span. */
  end: number;
}

export interface BlankInfillingConfig {
  /** Fraction of tokens to blank (GLM: 15%, as BERT). At most 0.5 so spans with gaps always fit. */
  maskRatio: number;
  /** Mean of the Poisson span lengths (GLM and BART: λ = 3). */
  poissonLambda: number;
}

export const DEFAULT_BLANK_INFILLING: BlankInfillingConfig = { maskRatio: 0.15, poissonLambda: 3 };

/** A blanked span of the original text: tokens [start, start + length). */
export interface Span {
  start: number;
  length: number;
}

/** One training example, Part A then Part B, all arrays of the same length. */
export interface GlmExample {
  input: Int32Array;
  /** Next tokens of Part B; −100 (ignored) on Part A. */
  target: Int32Array;
  /** Inter-span positions: i in Part A; the span's [MASK] position in Part B. */
  positions: Int32Array;
  /** Intra-span positions: 0 in Part A; 1..n+1 along each Part B span. */
  blockPositions: Int32Array;
  /** |Part A|: keys below it are visible to every query. */
  prefixLen: number;
}

export const IGNORE_INDEX = -100;

function checkTokens(tokens: ArrayLike<number>, specials: GlmSpecialTokens, where: string): void {
  if (tokens.length === 0) throw new DataError('DATA_EMPTY', `${where}: the token sequence is empty; pass at least one token`);
  const reserved = new Set([specials.mask, specials.gmask, specials.start, specials.end]);
  if (reserved.size !== 4) throw new DataError('DATA_INVALID', `${where}: special tokens must be four distinct ids, got ${JSON.stringify(specials)}`);
  for (let i = 0; i < tokens.length; i++)
    if (reserved.has(tokens[i]!))
      throw new DataError('DATA_INVALID', `${where}: token ${i} is the special id ${tokens[i]}; specials must not occur in the text (encode without them)`);
}

/**
 * Poisson(λ) draw by inversion (Knuth); λ is small so the loop is short.
 * Zero is redrawn: a blank must cover at least one token, so lengths follow
 * the zero-truncated Poisson, mean λ/(1 − e^−λ) (3.157 for λ = 3).
 */
export function poissonSpanLength(rng: Random, lambda: number): number {
  const limit = Math.exp(-lambda);
  for (;;) {
    let k = 0;
    let p = rng.uniform();
    while (p > limit) {
      k++;
      p *= rng.uniform();
    }
    if (k > 0) return k;
  }
}

/**
 * Samples non-overlapping spans covering round(maskRatio·n) tokens (at least 1):
 * lengths are drawn from Poisson(λ) until they reach the budget, the last one
 * cut to land on it exactly; the spans are then placed left to right in their
 * drawn order at uniformly random gaps of ≥ 1 token (GLM's sample_spans), so
 * no two blanks touch and each [MASK] stands for exactly one span.
 */
export function sampleSpans(n: number, rng: Random, config: BlankInfillingConfig = DEFAULT_BLANK_INFILLING): Span[] {
  checkConfig(config);
  if (!Number.isSafeInteger(n) || n < 1) throw new DataError('DATA_EMPTY', `sampleSpans: need at least one token, got length ${n}`);
  const budget = Math.max(1, Math.round(config.maskRatio * n));
  const lengths: number[] = [];
  let total = 0;
  while (total < budget) {
    const length = Math.min(poissonSpanLength(rng, config.poissonLambda), budget - total);
    lengths.push(length);
    total += length;
  }
  // Free tokens beyond the mandatory 1-token gaps, spread by sorted uniform cut points.
  const free = n - total - (lengths.length - 1);
  const cuts = lengths.map(() => rng.int(free + 1)).sort((a, b) => a - b);
  const spans: Span[] = [];
  let offset = 0;
  lengths.forEach((length, i) => {
    const start = offset + cuts[i]!;
    spans.push({ start, length });
    offset += length + 1;
  });
  return spans;
}

function checkConfig(c: BlankInfillingConfig): void {
  if (!(c.maskRatio > 0 && c.maskRatio <= 0.5))
    throw new DataError('DATA_INVALID', `blank infilling: maskRatio must be in (0, 0.5], got ${c.maskRatio}; more would leave no room between spans`);
  if (!(c.poissonLambda > 0 && c.poissonLambda <= 50))
    throw new DataError('DATA_INVALID', `blank infilling: poissonLambda must be in (0, 50], got ${c.poissonLambda}`);
}

/**
 * Builds Part A and Part B from given spans; `order` lists span indices (into
 * `spans` sorted by start) in the order Part B presents them.
 */
export function buildGlmExample(tokens: ArrayLike<number>, spans: readonly Span[], order: readonly number[], specials: GlmSpecialTokens): GlmExample {
  checkTokens(tokens, specials, 'buildGlmExample');
  const n = tokens.length;
  if (spans.length === 0) throw new DataError('DATA_INVALID', 'buildGlmExample: no spans; blank at least one span (or use gMaskExample)');
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  sorted.forEach((s, i) => {
    if (!Number.isSafeInteger(s.length) || s.length < 1) throw new DataError('DATA_INVALID', `buildGlmExample: span ${i} at ${s.start} is empty; spans cover at least one token`);
    if (!Number.isSafeInteger(s.start) || s.start < 0 || s.start + s.length > n)
      throw new DataError('DATA_INVALID', `buildGlmExample: span [${s.start}, ${s.start + s.length}) lies outside the ${n} tokens`);
    const prev = sorted[i - 1];
    if (prev && prev.start + prev.length > s.start)
      throw new DataError('DATA_INVALID', `buildGlmExample: spans at ${prev.start} and ${s.start} overlap`);
  });
  if (order.length !== sorted.length || [...order].sort((a, b) => a - b).some((v, i) => v !== i))
    throw new DataError('DATA_INVALID', `buildGlmExample: order [${order}] must be a permutation of 0..${sorted.length - 1}`);

  // Part A: the text with each span replaced by one [MASK]; remember where each [MASK] went.
  const partA: number[] = [];
  const maskAt: number[] = [];
  let i = 0;
  for (const s of sorted) {
    for (; i < s.start; i++) partA.push(tokens[i]!);
    maskAt.push(partA.length);
    partA.push(specials.mask);
    i = s.start + s.length;
  }
  for (; i < n; i++) partA.push(tokens[i]!);

  const total = partA.length + sorted.reduce((a, s) => a + s.length + 1, 0);
  const ex = emptyExample(total, partA);
  let at = partA.length;
  for (const k of order) {
    const s = sorted[k]!;
    at = writeSpan(ex, at, Array.from({ length: s.length }, (_, j) => tokens[s.start + j]!), maskAt[k]!, specials);
  }
  return ex;
}

function emptyExample(total: number, partA: readonly number[]): GlmExample {
  const ex: GlmExample = {
    input: new Int32Array(total),
    target: new Int32Array(total).fill(IGNORE_INDEX),
    positions: new Int32Array(total),
    blockPositions: new Int32Array(total),
    prefixLen: partA.length,
  };
  ex.input.set(partA);
  for (let i = 0; i < partA.length; i++) ex.positions[i] = i;
  return ex;
}

/** Part B span: input [S] x1..xn, target x1..xn [E]; all at its [MASK]'s position. */
function writeSpan(ex: GlmExample, at: number, span: readonly number[], maskPosition: number, specials: GlmSpecialTokens): number {
  for (let j = 0; j <= span.length; j++) {
    ex.input[at + j] = j === 0 ? specials.start : span[j - 1]!;
    ex.target[at + j] = j === span.length ? specials.end : span[j]!;
    ex.positions[at + j] = maskPosition;
    ex.blockPositions[at + j] = j + 1;
  }
  return at + span.length + 1;
}

/** Samples spans and a Part B order from `rng` (spans first, then one shuffle). */
export function blankInfillingExample(tokens: ArrayLike<number>, rng: Random, specials: GlmSpecialTokens, config: BlankInfillingConfig = DEFAULT_BLANK_INFILLING): GlmExample {
  checkTokens(tokens, specials, 'blankInfillingExample');
  const spans = sampleSpans(tokens.length, rng, config);
  const order = rng.shuffle(spans.map((_, i) => i));
  return buildGlmExample(tokens, spans, order, specials);
}

/**
 * The [gMASK] variant: Part A = tokens[0, split) [gMASK], Part B = [S]
 * tokens[split, n) predicting tokens[split, n) [E]. With split = n, Part B is
 * just [S] → [E]: the prompt for generating a continuation.
 */
export function gMaskExample(tokens: ArrayLike<number>, split: number, specials: GlmSpecialTokens): GlmExample {
  checkTokens(tokens, specials, 'gMaskExample');
  const n = tokens.length;
  if (!Number.isSafeInteger(split) || split < 0 || split > n)
    throw new DataError('DATA_INVALID', `gMaskExample: split must be an integer in [0, ${n}], got ${split}`);
  const partA = [...Array.from({ length: split }, (_, i) => tokens[i]!), specials.gmask];
  const ex = emptyExample(partA.length + n - split + 1, partA);
  writeSpan(ex, partA.length, Array.from({ length: n - split }, (_, j) => tokens[split + j]!), split, specials);
  return ex;
}

/**
 * GLM's document-level objective (Du et al. 2022, §2.3, GLM_Doc): one span
 * whose length is uniform over 50–100% of the text, here its end, blanked
 * by [gMASK]: Part A is the text before it, Part B generates the rest. It
 * trains the long left-to-right generation the short-span objective never
 * asks for. Draws one integer from rng.
 */
export function documentExample(tokens: ArrayLike<number>, rng: Random, specials: GlmSpecialTokens): GlmExample {
  checkTokens(tokens, specials, 'documentExample');
  const n = tokens.length;
  const shortest = Math.ceil(n / 2);
  const length = shortest + rng.int(n - shortest + 1); // uniform in [⌈n/2⌉, n]
  return gMaskExample(tokens, n - length, specials);
}

/** Examples collated to [B, T] with right padding. */
export interface GlmBatch {
  input: Tensor;
  target: Tensor;
  positions: Tensor;
  blockPositions: Tensor;
  /** Per row: |Part A|. */
  prefixLen: Int32Array;
  /** Per row: real tokens; keys at or after it are padding. */
  kvLen: Int32Array;
}

/** Right-pads rows to the longest: input padId, target −100, positions 0. */
export function collateGlm(examples: readonly GlmExample[], padId: number): GlmBatch {
  if (examples.length === 0) throw new DataError('DATA_EMPTY', 'collateGlm: no examples to collate');
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.input.length));
  const input = new Int32Array(B * T).fill(padId);
  const target = new Int32Array(B * T).fill(IGNORE_INDEX);
  const positions = new Int32Array(B * T);
  const blockPositions = new Int32Array(B * T);
  const prefixLen = new Int32Array(B);
  const kvLen = new Int32Array(B);
  examples.forEach((e, b) => {
    const len = e.input.length;
    if (e.target.length !== len || e.positions.length !== len || e.blockPositions.length !== len || !(e.prefixLen >= 1 && e.prefixLen <= len))
      throw new DataError('DATA_INVALID', `collateGlm: example ${b} is inconsistent (lengths ${len}/${e.target.length}/${e.positions.length}/${e.blockPositions.length}, prefixLen ${e.prefixLen})`);
    input.set(e.input, b * T);
    target.set(e.target, b * T);
    positions.set(e.positions, b * T);
    blockPositions.set(e.blockPositions, b * T);
    prefixLen[b] = e.prefixLen;
    kvLen[b] = len;
  });
  return {
    input: new Tensor(input, [B, T]), target: new Tensor(target, [B, T]),
    positions: new Tensor(positions, [B, T]), blockPositions: new Tensor(blockPositions, [B, T]),
    prefixLen, kvLen,
  };
}

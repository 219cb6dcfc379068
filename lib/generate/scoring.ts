// Scoring under a decoder LM: the log-likelihood of a continuation given a
// context, log p(y_1..y_m | x) = Σ_j log softmax(logits_{n+j-1})[y_j], and cloze
// classification with verbalizers (Schick & Schütze 2021; GLM, Du et al. 2022):
//   p(y|x) = p(v(y)|c(x)) / Σ_y' p(v(y')|c(x)),
// a multi-token verbalizer scoring the sum of its tokens' log-probs.
import { ConfigError, ShapeError } from '../errors.js';
import { tokenLogProbs } from '../kernels/cross_entropy.js';
import type { DecoderLM } from '../models/decoder.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';

export interface ScoreRequest {
  /** Conditioning ids (at least one: the first continuation token needs a predecessor; prepend bos if you have none). */
  context: readonly number[];
  /** Ids whose likelihood is wanted (at least one). */
  continuation: readonly number[];
}

export interface ScoreResult {
  /** Σ of tokenLogProbs, accumulated in float64. */
  logProb: number;
  /** log p(continuation[j] | context, continuation[<j]) per token. */
  tokenLogProbs: Float64Array;
}

export interface ScoreOptions {
  /** Sequences per forward pass (default 8): bounds the [B, T, vocab] logits held at once. */
  batchSize?: number;
}

function checkRequest(r: ScoreRequest, i: number, model: DecoderLM): void {
  const { vocab_size: V, n_positions: P } = model.config;
  if (r.context.length === 0)
    throw new ShapeError('SHAPE_INVALID', `scoreContinuations: request ${i} has an empty context; the first token has nothing to be predicted from; prepend the tokenizer's bos (or eos) id`);
  if (r.continuation.length === 0) throw new ShapeError('SHAPE_INVALID', `scoreContinuations: request ${i} has an empty continuation; there is nothing to score`);
  for (const [name, ids] of [['context', r.context], ['continuation', r.continuation]] as const)
    for (let j = 0; j < ids.length; j++)
      if (!Number.isInteger(ids[j]) || ids[j]! < 0 || ids[j]! >= V)
        throw new ShapeError('SHAPE_INVALID', `scoreContinuations: request ${i} ${name}[${j}] = ${ids[j]} is not a token id in [0, ${V})`);
  // The last token is only predicted, never fed.
  const fed = r.context.length + r.continuation.length - 1;
  if (fed > P)
    throw new ShapeError('SHAPE_INVALID', `scoreContinuations: request ${i} needs ${fed} positions (context ${r.context.length} + continuation ${r.continuation.length} − 1) but the model has n_positions ${P}; drop tokens from the start of the context`);
}

/**
 * Log-likelihood of each continuation given its context. Requests are batched
 * longest-first and right-padded (causal attention: padding after a token
 * never changes its logits); logits rows of the continuation are gathered and
 * scored with the native log-softmax gather. Runs under noGrad.
 */
export function scoreContinuations(model: DecoderLM, requests: readonly ScoreRequest[], options: ScoreOptions = {}): ScoreResult[] {
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new ConfigError('CONFIG_INVALID', `scoreContinuations: expected a positive integer for batchSize but received ${batchSize}`);
  requests.forEach((r, i) => checkRequest(r, i, model));
  const V = model.config.vocab_size;
  const fedLen = (r: ScoreRequest): number => r.context.length + r.continuation.length - 1;
  const order = requests.map((_, i) => i).sort((a, b) => fedLen(requests[b]!) - fedLen(requests[a]!));
  const results: ScoreResult[] = new Array(requests.length);

  for (let s = 0; s < order.length; s += batchSize) {
    const batch = order.slice(s, s + batchSize);
    const B = batch.length;
    const T = fedLen(requests[batch[0]!]!);
    const ids = new Int32Array(B * T); // (B, T), right-padded with id 0
    let rows = 0;
    batch.forEach((ri, b) => {
      const r = requests[ri]!;
      ids.set(r.context, b * T);
      ids.set(r.continuation.slice(0, -1), b * T + r.context.length);
      rows += r.continuation.length;
    });
    const logits = noGrad(() => model.forward(new Tensor(ids, [B, T]))).f32(); // (B, T, V)

    // Row t predicts token t+1: the continuation's tokens come from rows n−1 … n+m−2.
    const gathered = new Float32Array(rows * V);
    const targets = new Int32Array(rows);
    let row = 0;
    batch.forEach((ri, b) => {
      const r = requests[ri]!;
      const first = b * T + r.context.length - 1;
      gathered.set(logits.subarray(first * V, (first + r.continuation.length) * V), row * V);
      targets.set(r.continuation, row);
      row += r.continuation.length;
    });
    const logp = new Float32Array(rows);
    tokenLogProbs(gathered, targets, logp, null, { rows, vocab: V });

    row = 0;
    for (const ri of batch) {
      const m = requests[ri]!.continuation.length;
      const perToken = Float64Array.from(logp.subarray(row, row + m));
      let sum = 0;
      for (const lp of perToken) sum += lp;
      results[ri] = { logProb: sum, tokenLogProbs: perToken };
      row += m;
    }
  }
  return results;
}

/** log p(continuation | context) for one pair. */
export function sequenceLogLikelihood(model: DecoderLM, context: readonly number[], continuation: readonly number[]): ScoreResult {
  return scoreContinuations(model, [{ context, continuation }])[0]!;
}

/** log Σ exp(x), shifted by the max so large negative log-probs do not underflow to log 0. */
export function logSumExp(xs: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) max = Math.max(max, xs[i]!);
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i]! - max);
  return max + Math.log(s);
}

export interface ClozeResult<L extends string> {
  /** Labels in the order given. */
  labels: L[];
  /** log p(v(y) | c(x)) per label: the verbalizer's summed token log-probs. */
  logLikelihoods: Float64Array;
  /** p(y | x), normalised over the labels; sums to 1. */
  probs: Float64Array;
  /** The most probable label (first on ties). */
  label: L;
}

/**
 * Cloze classification: each label's verbalizer ids are scored as the
 * continuation of the pattern c(x), then normalised over the labels in log
 * space: log p(y|x) = ℓ_y − logsumexp_y' ℓ_y'.
 */
export function clozeClassify<L extends string>(
  model: DecoderLM,
  context: readonly number[],
  verbalizers: Readonly<Record<L, readonly number[]>>,
  options: ScoreOptions = {},
): ClozeResult<L> {
  const labels = Object.keys(verbalizers) as L[];
  if (labels.length === 0) throw new ConfigError('CONFIG_INVALID', 'clozeClassify: no labels; give each label its verbalizer token ids, e.g. { positive: [id of " good"], negative: [id of " bad"] }');
  for (const l of labels)
    if (verbalizers[l].length === 0) throw new ConfigError('CONFIG_INVALID', `clozeClassify: label "${l}" has an empty verbalizer; give it at least one token id`);
  const scores = scoreContinuations(model, labels.map((l) => ({ context, continuation: verbalizers[l] })), options);
  const logLikelihoods = Float64Array.from(scores, (s) => s.logProb);
  const lse = logSumExp(logLikelihoods);
  const probs = logLikelihoods.map((ll) => Math.exp(ll - lse));
  let best = 0;
  for (let i = 1; i < labels.length; i++) if (logLikelihoods[i]! > logLikelihoods[best]!) best = i;
  return { labels, logLikelihoods, probs, label: labels[best]! };
}

/** A pattern and verbalizer words as text, tokenized with `tokenizer`. */
export function clozeClassifyText<L extends string>(
  model: DecoderLM,
  tokenizer: { encode(text: string): number[] },
  pattern: string,
  verbalizers: Readonly<Record<L, string>>,
  options: ScoreOptions = {},
): ClozeResult<L> {
  const ids = {} as Record<L, number[]>;
  for (const l of Object.keys(verbalizers) as L[]) ids[l] = tokenizer.encode(verbalizers[l]);
  return clozeClassify(model, tokenizer.encode(pattern), ids, options);
}

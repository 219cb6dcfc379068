// PPO rollouts: sample a response to each prompt from the policy (seeded),
// then read every response token's log-prob under the policy (the "old"
// log-probs of the ratio) and under the frozen reference, the value model's
// estimate before each token, and one reward-model score per sequence.
// Sequences are prompt ++ response, right-padded: with causal attention the
// padding comes after every real token, so it changes none of their outputs.
import { ConfigError, DataError, ShapeError } from '../errors.js';
import { decodeRows, rowRandom, type DecodeRow } from '../generate/decode_loop.js';
import { decoderSession } from '../generate/kv_cache.js';
import type { DecoderLM } from '../models/decoder.js';
import { noGrad } from '../tensor/autograd.js';
import { scale } from '../tensor/ops/elementwise.js';
import { tokenLogProbs, type TokenLogProbs } from '../tensor/ops/log_probs.js';
import { indexSelect, reshape } from '../tensor/ops/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { TokenGrid } from './token_grid.js';

/** A value model: one scalar per position, V(s_t) after tokens[..t] (the RewardModel of sft/rm plugs in). */
export interface ValueModel {
  /** tokens int32 [B, T] → values [B, T] (differentiable). */
  values(tokens: Tensor): Tensor;
}

/** Scores whole sequences (prompt ++ response); one finite number per sequence. */
export type RewardFn = (sequences: readonly (readonly number[])[], promptLengths: readonly number[]) => Float32Array;

/** What RewardModel.scores offers: one scalar per row of right-padded tokens [B, T], read at position lengths[b] − 1. */
export interface SequenceScorer {
  scores(tokens: Tensor, lengths: Int32Array): Tensor;
}

/**
 * A RewardFn over a scoring model (the reward model): sequences are
 * right-padded with padId into one [B, T] batch and scored without gradients.
 */
export function rewardFnFromScorer(scorer: SequenceScorer, padId = 0): RewardFn {
  return (sequences) => {
    const B = sequences.length;
    const T = Math.max(1, ...sequences.map((s) => s.length));
    const ids = new Int32Array(B * T).fill(padId);
    sequences.forEach((s, b) => ids.set(s, b * T));
    const lengths = Int32Array.from(sequences, (s) => s.length);
    const scores = noGrad(() => scorer.scores(new Tensor(ids, [B, T]), lengths));
    if (scores.size !== B)
      throw new ShapeError('SHAPE_MISMATCH', `rewardFnFromScorer: the scorer returned [${scores.shape.join(', ')}] for ${B} sequences; scores(tokens, lengths) must return one value per sequence`);
    return Float32Array.from(scores.f32('rewardFnFromScorer'));
  };
}

export interface SamplingOptions {
  /** Response length cap (the end token, when generated, counts). */
  maxNewTokens: number;
  /** > 0: samples from softmax(logits / temperature). */
  temperature: number;
  /** Sample among the k likeliest tokens; 0 = all. */
  topK: number;
  /** Generation of a row stops after this token, which stays in its response; null = always maxNewTokens. */
  endTokenId: number | null;
  /** Row i draws from its own stream (seed, i): the same seed gives the same responses. */
  seed: number;
}

/** Throws a ConfigError unless prompts is a non-empty list of non-empty token-id lists that fit the model. */
export function checkPrompts(policy: DecoderLM, prompts: readonly (readonly number[])[], maxNewTokens: number, where: string): void {
  if (prompts.length === 0) throw new ConfigError('CONFIG_INVALID', `${where}: the prompt list is empty; give at least one prompt (token ids)`);
  const V = policy.config.vocab_size, context = policy.config.n_positions;
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ConfigError('CONFIG_INVALID', `${where}: prompt ${i} is empty; every prompt needs at least one token for the response to follow`);
    for (const id of p)
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new ConfigError('CONFIG_INVALID', `${where}: prompt ${i} has token id ${id}, outside the policy's vocabulary [0, ${V})`);
    if (p.length + maxNewTokens > context)
      throw new ConfigError('CONFIG_INVALID', `${where}: prompt ${i} (${p.length} tokens) + max_new_tokens ${maxNewTokens} exceed the policy's context of ${context} positions; lower max_new_tokens or shorten the prompt`);
  });
}

/** One sampled response per prompt (token ids, the end token included when generated). */
export function sampleResponses(policy: DecoderLM, prompts: readonly (readonly number[])[], o: SamplingOptions): number[][] {
  checkPrompts(policy, prompts, o.maxNewTokens, 'sampleResponses');
  if (!(o.temperature > 0)) throw new ConfigError('CONFIG_INVALID', `sampleResponses: temperature must be > 0 (PPO needs a stochastic policy), got ${o.temperature}`);
  const rows: DecodeRow[] = prompts.map((prompt, i) => ({ prompt, generated: [], finished: false, rng: rowRandom(o.seed, i) }));
  const longest = Math.max(...prompts.map((p) => p.length));
  const steps = decodeRows(decoderSession(policy, longest + o.maxNewTokens), rows, {
    maxNewTokens: o.maxNewTokens, temperature: o.temperature, topK: o.topK, topP: 1,
    eosTokenIds: o.endTokenId === null ? [] : [o.endTokenId], minNewTokens: 0, repetitionPenalty: 1, noRepeatNgramSize: 0,
  });
  for (const _ of steps) {
    // each step appends one token to every unfinished row's `generated`
  }
  return rows.map((r) => r.generated);
}

/** Prompt ++ response sequences laid out for one teacher-forced forward pass. */
export interface ResponseBatch extends TokenGrid {
  /** int32 [rows, T]: prompt ++ response, right-padded with token 0. */
  ids: Tensor;
  /**
   * [rows·cols] flat indices b·T + P_b + j − 1 into the [rows·T] outputs: the
   * position whose output predicts response token j (and whose value is
   * V(s) before it). Padding slots point at position b·T, and are masked.
   */
  positions: Int32Array;
  /** int32 [rows, cols]: response tokens, 0 on padding. */
  targets: Tensor;
  /** [rows, cols]: 1 on response tokens. */
  mask: Float32Array;
}

/** Lays out prompts and their responses; cols defaults to the longest response. */
export function responseBatch(prompts: readonly (readonly number[])[], responses: readonly (readonly number[])[], cols?: number): ResponseBatch {
  if (prompts.length !== responses.length)
    throw new ShapeError('SHAPE_MISMATCH', `responseBatch: ${prompts.length} prompts but ${responses.length} responses`);
  const rows = prompts.length;
  const R = cols ?? Math.max(0, ...responses.map((r) => r.length));
  const T = Math.max(1, ...prompts.map((p, b) => p.length + responses[b]!.length));
  const ids = new Int32Array(rows * T);
  const positions = new Int32Array(rows * R);
  const targets = new Int32Array(rows * R);
  const mask = new Float32Array(rows * R);
  for (let b = 0; b < rows; b++) {
    const prompt = prompts[b]!, response = responses[b]!;
    if (prompt.length === 0) throw new DataError('DATA_INVALID', `responseBatch: prompt ${b} is empty; a response must follow at least one token`);
    if (response.length > R) throw new ShapeError('SHAPE_MISMATCH', `responseBatch: response ${b} has ${response.length} tokens, more than cols = ${R}`);
    ids.set(prompt, b * T);
    ids.set(response, b * T + prompt.length);
    for (let j = 0; j < R; j++) positions[b * R + j] = b * T;
    response.forEach((tok, j) => {
      positions[b * R + j] = b * T + prompt.length + j - 1;
      targets[b * R + j] = tok;
      mask[b * R + j] = 1;
    });
  }
  return { rows, cols: R, ids: new Tensor(ids, [rows, T]), positions, targets: new Tensor(targets, [rows, R]), mask };
}

/**
 * log π(y_j | prompt, y_<j) of every response token, [rows, cols], from
 * logits / temperature (the distribution the tokens were sampled from, as
 * TRL does), differentiable w.r.t. the model's weights; with each token's
 * entropy. Padding slots hold finite values that the mask discards.
 */
export function responseLogProbs(model: DecoderLM, batch: ResponseBatch, temperature = 1): TokenLogProbs {
  const [rows, T] = batch.ids.shape as [number, number];
  const V = model.config.vocab_size;
  let logits = reshape(model.forward(batch.ids), [rows * T, V]); // (B·T, V)
  logits = indexSelect(logits, batch.positions); // (B·R, V)
  if (temperature !== 1) logits = scale(logits, 1 / temperature);
  return tokenLogProbs(logits, batch.targets);
}

/** The value model's V(s) before every response token, [rows, cols] (differentiable). */
export function responseValues(valueModel: ValueModel, batch: ResponseBatch): Tensor {
  const [rows, T] = batch.ids.shape as [number, number];
  const values = valueModel.values(batch.ids);
  if (values.ndim !== 2 || values.shape[0] !== rows || values.shape[1] !== T)
    throw new ShapeError('SHAPE_MISMATCH', `responseValues: the value model returned [${values.shape.join(', ')}] for tokens [${rows}, ${T}]; values(tokens) must return one scalar per position, [batch, time]`);
  return reshape(indexSelect(reshape(values, [rows * T, 1]), batch.positions), [rows, batch.cols]); // (B·T, 1) → (B·R, 1) → (B, R)
}

/** A rollout batch: per-token arrays are [rows, cols] (see token_grid.ts). */
export interface Rollout extends TokenGrid {
  prompts: (readonly number[])[];
  responses: number[][];
  mask: Float32Array;
  /** log π_old of each response token (the policy that sampled it). */
  logp: Float32Array;
  /** log π_ref of each response token. */
  refLogp: Float32Array;
  /** V(s) before each response token. */
  values: Float32Array;
  /** The policy's entropy at each response token (0 on padding). */
  entropy: Float32Array;
  /** The reward function's score per sequence, [rows]. */
  scores: Float32Array;
}

export interface CollectRolloutOptions {
  policy: DecoderLM;
  reference: DecoderLM;
  valueModel: ValueModel;
  rewardFn: RewardFn;
  prompts: readonly (readonly number[])[];
  responses: readonly (readonly number[])[];
  /** The sampling temperature, so log-probs describe the distribution sampled from. */
  temperature: number;
}

/** Scores sampled responses under the policy, the reference, the value model and the reward function (no gradients). */
export function collectRollout(o: CollectRolloutOptions): Rollout {
  if (o.reference.config.vocab_size !== o.policy.config.vocab_size)
    throw new ConfigError('CONFIG_INVALID', `collectRollout: the reference has ${o.reference.config.vocab_size} tokens but the policy ${o.policy.config.vocab_size}; both must start from the same SFT model`);
  o.responses.forEach((r, b) => {
    if (r.length === 0) throw new DataError('DATA_EMPTY_RESPONSE', `collectRollout: response ${b} has no tokens; every sample needs at least one generated token to carry its score (max_new_tokens ≥ 1)`);
  });
  const batch = responseBatch(o.prompts, o.responses);
  const { logp, entropy, refLogp, values } = noGrad(() => {
    const pol = responseLogProbs(o.policy, batch, o.temperature);
    const ref = responseLogProbs(o.reference, batch, o.temperature);
    return { logp: pol.logp.f32(), entropy: pol.entropy, refLogp: ref.logp.f32(), values: responseValues(o.valueModel, batch).f32() };
  });
  for (let i = 0; i < batch.mask.length; i++) if (batch.mask[i] === 0) entropy[i] = 0;
  const promptLengths = o.prompts.map((p) => p.length);
  const sequences = o.prompts.map((p, b) => [...p, ...o.responses[b]!]);
  const scores = o.rewardFn(sequences, promptLengths);
  if (!(scores instanceof Float32Array) || scores.length !== batch.rows)
    throw new DataError('DATA_INVALID', `collectRollout: the reward function returned ${scores instanceof Float32Array ? `${scores.length} scores` : 'something other than a Float32Array'} for ${batch.rows} sequences; return a Float32Array with one score per sequence`);
  scores.forEach((s, b) => {
    if (!Number.isFinite(s)) throw new DataError('DATA_INVALID', `collectRollout: the reward function scored sequence ${b} as ${s}; scores must be finite`);
  });
  return {
    rows: batch.rows, cols: batch.cols, prompts: [...o.prompts], responses: o.responses.map((r) => [...r]),
    mask: batch.mask, logp, refLogp, values, entropy, scores,
  };
}

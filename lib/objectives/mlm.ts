// Masked language modelling (BERT, Devlin et al. 2019, §3.1): each eligible
// position (not a special token, not padding) is chosen independently with
// probability maskProb = 0.15 (a Bernoulli draw per token, as Hugging Face's
// DataCollatorForLanguageModeling does, so the chosen count varies per
// sequence around 15%). A chosen token becomes [MASK] with probability 0.8, a
// random token with 0.1, and stays unchanged with 0.1; its label is the
// original id. Every other label is −100 (ignored by the loss), so the loss
// is over chosen positions only and no label is visible in the input except
// where BERT keeps the token on purpose (the 10% unchanged).
// Random replacements are drawn uniformly from the non-special ids (BERT draws
// from the whole vocabulary; excluding specials keeps [MASK]/[PAD]/[CLS] from
// appearing where the model should read a word).
// Deterministic: the same Random state gives the same masks, and the draws per
// row are a fixed sequence (one uniform per eligible token, then one more and,
// for random replacements, one int), so resumed runs reproduce batches.
import { ConfigError } from '../errors.js';
import type { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { padBatch } from './pad_batch.js';

export interface MlmConfig {
  /** Vocabulary size: random replacements are drawn from [0, vocabSize) minus specials. */
  vocabSize: number;
  /** The [MASK] id written over 80% of chosen tokens. */
  maskId: number;
  /** Padding id: never chosen, and the collated batch's filler. */
  padId: number;
  /** Ids never chosen nor drawn as replacements ([CLS], [SEP], [MASK], [PAD], ...). */
  specialIds: readonly number[];
  /** Probability a position is chosen (BERT: 0.15). */
  maskProb?: number;
  /** Of chosen positions, the share replaced by [MASK] (BERT: 0.8). */
  maskTokenRate?: number;
  /** Of chosen positions, the share replaced by a random token (BERT: 0.1); the rest stay unchanged. */
  randomTokenRate?: number;
}

export interface MlmExample {
  /** The corrupted input. */
  input: Int32Array;
  /** Original id at chosen positions, −100 elsewhere. */
  labels: Int32Array;
}

export interface MlmBatch {
  /** [B, T] corrupted ids, padded. */
  ids: Tensor;
  /** [B, T] labels, −100 on unchosen and padded positions. */
  labels: Tensor;
  lengths: Int32Array;
}

interface Resolved {
  vocabSize: number; maskId: number; padId: number; maskProb: number; maskTokenRate: number; randomTokenRate: number;
  special: Set<number>;
  /** Ids a random replacement may take. */
  ordinary: Int32Array;
}

function resolve(c: MlmConfig): Resolved {
  const maskProb = c.maskProb ?? 0.15, maskTokenRate = c.maskTokenRate ?? 0.8, randomTokenRate = c.randomTokenRate ?? 0.1;
  const inUnit = (v: number) => v >= 0 && v <= 1;
  if (!Number.isSafeInteger(c.vocabSize) || c.vocabSize < 1) throw new ConfigError('CONFIG_INVALID', `mlm: vocabSize must be a positive integer, got ${c.vocabSize}`);
  for (const [name, id] of [['maskId', c.maskId], ['padId', c.padId]] as const)
    if (!Number.isSafeInteger(id) || id < 0 || id >= c.vocabSize) throw new ConfigError('CONFIG_INVALID', `mlm: ${name} ${id} is outside the vocabulary [0, ${c.vocabSize})`);
  if (!inUnit(maskProb) || !inUnit(maskTokenRate) || !inUnit(randomTokenRate) || maskTokenRate + randomTokenRate > 1)
    throw new ConfigError('CONFIG_INVALID', `mlm: rates must lie in [0, 1] with maskTokenRate + randomTokenRate ≤ 1, got maskProb ${maskProb}, maskTokenRate ${maskTokenRate}, randomTokenRate ${randomTokenRate}`);
  const special = new Set<number>([...c.specialIds, c.maskId, c.padId]);
  const ordinary = Int32Array.from({ length: c.vocabSize }, (_, i) => i).filter((i) => !special.has(i));
  if (ordinary.length === 0 && randomTokenRate > 0) throw new ConfigError('CONFIG_INVALID', 'mlm: every id is special, so there is no random replacement to draw; set randomTokenRate 0');
  return { vocabSize: c.vocabSize, maskId: c.maskId, padId: c.padId, maskProb, maskTokenRate, randomTokenRate, special, ordinary };
}

function maskInto(ids: ArrayLike<number>, r: Resolved, rng: Random): MlmExample {
  const input = Int32Array.from(ids);
  const labels = new Int32Array(input.length).fill(-100);
  for (let i = 0; i < input.length; i++) {
    const id = input[i]!;
    if (r.special.has(id) || rng.uniform() >= r.maskProb) continue;
    labels[i] = id;
    const u = rng.uniform();
    if (u < r.maskTokenRate) input[i] = r.maskId;
    else if (u < r.maskTokenRate + r.randomTokenRate) input[i] = r.ordinary[rng.int(r.ordinary.length)]!;
    // else: kept unchanged, still predicted.
  }
  return { input, labels };
}

/** BERT masking of one sequence (no padding inside it). */
export function maskTokens(ids: ArrayLike<number>, config: MlmConfig, rng: Random): MlmExample {
  return maskInto(ids, resolve(config), rng);
}

/** Masks each sequence, then pads inputs with padId and labels with −100 to one [B, T] batch. */
export function mlmBatch(sequences: readonly ArrayLike<number>[], config: MlmConfig, rng: Random, width?: number): MlmBatch {
  const r = resolve(config);
  const examples = sequences.map((s) => maskInto(s, r, rng));
  const { ids, lengths } = padBatch(examples.map((e) => e.input), r.padId, width);
  const T = ids.shape[1]!;
  const labels = new Int32Array(examples.length * T).fill(-100);
  examples.forEach((e, b) => labels.set(e.labels, b * T));
  return { ids, labels: new Tensor(labels, [examples.length, T]), lengths };
}

// Configs of the fine-tuning stages (SFT, reward model, GLM cloze): the pre-training
// loop's knobs under the same names, in one flat JSON object. Unknown keys
// and wrong types are ConfigErrors naming the key. The model is not in these
// configs: a stage starts from a given (pre-trained or SFT) model.
import { ConfigError } from '../errors.js';
import type { MatmulPrecision } from '../tensor/ops/matmul_precision.js';
import type { LoopConfig } from './training_loop.js';

export interface StageConfig extends LoopConfig {
  /** Micro-batch size: examples (SFT), packed rows (SFT with packing) or prompts (reward model). */
  batch_size: number;
  /** Micro-batches per optimizer step: a larger batch in the same memory. */
  gradient_accumulation_steps: number;
  /** Decoupled AdamW decay on 2-D weights that are not embeddings (TRL's default is 0). */
  weight_decay: number;
  beta1: number;
  beta2: number;
  /** Seeds the data order and dropout: same seed and starting model, same run. */
  seed: number;
  /** "fp32", or "bf16": the Linear layers' GEMMs on bfloat16 inputs with fp32 sums (weights and AdamW stay fp32). */
  matmul_precision: MatmulPrecision;
}

export interface SftConfig extends StageConfig {
  /**
   * Concatenate whole examples into rows of up to n_positions + 1 tokens
   * instead of padding each example (fewer wasted positions; see sft_data.ts).
   */
  packing: boolean;
  /**
   * Without packing: batch examples of similar length together (HF's
   * group_by_length), so a batch pads to little more than its own examples
   * instead of to the longest of a random draw.
   */
  group_by_length: boolean;
}

export type RewardConfig = StageConfig;

/** GLM cloze fine-tuning: batch_size examples per micro-batch, each scored against every label. */
export type ClozeConfig = StageConfig;

const LOOP_DEFAULTS = {
  decay_lr: true,
  grad_clip: 1.0,
  gradient_accumulation_steps: 1,
  weight_decay: 0,
  beta1: 0.9,
  beta2: 0.99,
  log_interval: 10,
  checkpoint_interval: 0,
  seed: 1337,
  skip_nonfinite: false,
  matmul_precision: 'fp32' as MatmulPrecision,
};

/** Small-model fine-tuning defaults: a tenth of pre-training's peak rate is typical for SFT. */
export const DEFAULT_SFT: SftConfig = {
  ...LOOP_DEFAULTS,
  batch_size: 16,
  max_iters: 500,
  learning_rate: 3e-4,
  min_lr: 3e-5,
  warmup_iters: 20,
  lr_decay_iters: 500,
  eval_interval: 100,
  packing: false,
  group_by_length: false,
};

/** Reward-model defaults: batch_size prompts, each with all C(K,2) pairs of its K responses. */
export const DEFAULT_REWARD: RewardConfig = {
  ...LOOP_DEFAULTS,
  batch_size: 8,
  max_iters: 300,
  learning_rate: 1e-4,
  min_lr: 1e-5,
  warmup_iters: 20,
  lr_decay_iters: 300,
  eval_interval: 50,
};

/**
 * GLM cloze defaults: a small model learns a handful of labels in a few
 * hundred steps; the held-out accuracy is read every eval_interval.
 */
export const DEFAULT_CLOZE: ClozeConfig = {
  ...LOOP_DEFAULTS,
  batch_size: 16,
  max_iters: 200,
  learning_rate: 3e-4,
  min_lr: 3e-5,
  warmup_iters: 10,
  lr_decay_iters: 200,
  eval_interval: 50,
};

const POSITIVE_INTS = new Set(['batch_size', 'gradient_accumulation_steps', 'log_interval']);
const NON_NEGATIVE_INTS = new Set(['max_iters', 'warmup_iters', 'lr_decay_iters', 'eval_interval', 'checkpoint_interval', 'seed']);

/** Keys that fix the data order a resumed run replays: they must not change on resume. */
export const STAGE_IDENTITY_KEYS: readonly string[] = ['batch_size', 'gradient_accumulation_steps', 'seed'];

export function sftConfig(raw: unknown, source = 'sft config', base: SftConfig = DEFAULT_SFT): SftConfig {
  const c = stageConfig(raw, source, base);
  if (c.packing && c.group_by_length)
    throw new ConfigError('CONFIG_INVALID', `${source}: group_by_length groups unpacked examples; with packing the rows are already full. Set one of them to false`);
  return c;
}

export function rewardConfig(raw: unknown, source = 'reward config', base: RewardConfig = DEFAULT_REWARD): RewardConfig {
  return stageConfig(raw, source, base);
}

export function clozeConfig(raw: unknown, source = 'cloze config', base: ClozeConfig = DEFAULT_CLOZE): ClozeConfig {
  return stageConfig(raw, source, base);
}

/**
 * Validates a flat config object over `base`: each key must be one of base's
 * and of its type. lr_decay_iters follows max_iters unless given.
 */
function stageConfig<T extends StageConfig>(raw: unknown, source: string, base: T): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object of config keys`);
  const given = raw as Record<string, unknown>;
  const out = { ...base } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    if (!(key in base)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known keys: ${Object.keys(base).sort().join(', ')})`);
    out[key] = checkValue(key, value, base[key as keyof T], source);
  }
  const c = out as T;
  if (!('lr_decay_iters' in given) && 'max_iters' in given) c.lr_decay_iters = c.max_iters;
  if (c.min_lr > c.learning_rate) throw new ConfigError('CONFIG_INVALID', `${source}: min_lr ${c.min_lr} exceeds learning_rate ${c.learning_rate}`);
  if (!(c.beta1 < 1 && c.beta2 < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: beta1 and beta2 must be in [0, 1), got ${c.beta1}, ${c.beta2}`);
  return c;
}

function checkValue(key: string, value: unknown, fallback: unknown, source: string): unknown {
  const bad = (want: string): never => {
    throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be ${want}, got ${JSON.stringify(value)}`);
  };
  if (POSITIVE_INTS.has(key)) return Number.isSafeInteger(value) && (value as number) >= 1 ? value : bad('a positive integer');
  if (NON_NEGATIVE_INTS.has(key)) return Number.isSafeInteger(value) && (value as number) >= 0 ? value : bad('a non-negative integer');
  if (typeof fallback === 'number') return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : bad('a finite number ≥ 0');
  if (typeof fallback === 'boolean') return typeof value === 'boolean' ? value : bad('true or false');
  if (key === 'matmul_precision') return value === 'fp32' || value === 'bf16' ? value : bad('"fp32" or "bf16"');
  return bad(`of the type of its default (${JSON.stringify(fallback)})`);
}

// The pre-training config: nanoGPT's train.py knobs under nanoGPT's names,
// plus the model keys of DecoderConfig, in one flat JSON object (as nanoGPT's
// config/*.py files are). Unknown keys and wrong types are ConfigErrors that
// name the key, so a typo never silently trains the wrong model.
import { ConfigError } from '../errors.js';
import { decoderConfig, type DecoderConfig } from '../models/decoder_config.js';

/** DecoderConfig keys a pre-training config may set (vocab_size and n_positions are derived). */
export type ModelKeys = Partial<Omit<DecoderConfig, 'vocab_size' | 'n_positions'>>;

export interface PretrainConfig {
  /** Sequences per micro-batch (nanoGPT batch_size). */
  batch_size: number;
  /** Context length in tokens; becomes the model's n_positions. */
  block_size: number;
  /** Optimizer steps in the whole run. */
  max_iters: number;
  /** Peak learning rate, reached after warmup. */
  learning_rate: number;
  /** Floor of the cosine decay (nanoGPT: learning_rate / 10). */
  min_lr: number;
  /** Steps of linear warmup: early Adam steps are noisy. */
  warmup_iters: number;
  /** Step where the cosine reaches min_lr (nanoGPT: ≈ max_iters). */
  lr_decay_iters: number;
  /** Off: constant learning_rate (for debugging and short tests). */
  decay_lr: boolean;
  /** Decoupled AdamW decay on 2-D weights (never on norms and biases). */
  weight_decay: number;
  /** Decay the embedding tables too, as nanoGPT does (HF recipes exempt them). */
  decay_embeddings: boolean;
  beta1: number;
  /** 0.99 for small-batch char models (nanoGPT shakespeare), 0.95 for GPT-2. */
  beta2: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  grad_clip: number;
  /** Micro-batches per optimizer step: a larger batch in the same memory. */
  gradient_accumulation_steps: number;
  /** Estimate train/val loss every this many steps (0 = never). */
  eval_interval: number;
  /** Batches averaged per loss estimate: more is smoother and slower. */
  eval_iters: number;
  /** Write a metrics line every this many steps. */
  log_interval: number;
  /** Write a checkpoint every this many steps (0 = only at the end). */
  checkpoint_interval: number;
  /** Seeds initialisation, dropout and batch sampling: same seed, same run. */
  seed: number;
  /** Skip an update whose loss or gradient is NaN/Inf instead of stopping. */
  skip_nonfinite: boolean;
  /** "char" (vocab from the corpus), "bpe" (trained on the corpus) or a tokenizer.json path. */
  tokenizer: string;
  /** Vocabulary size when tokenizer is "bpe". */
  bpe_vocab_size: number;
  /** Fraction of the corpus (its tail) held out for validation. */
  val_fraction: number;
  /** The model: DecoderConfig keys (n_layer, n_head, n_embd, dropout, bias, ...). */
  model: ModelKeys;
}

export type TrainingKey = Exclude<keyof PretrainConfig, 'model'>;

/** nanoGPT train.py's defaults, scaled to what a CPU can finish. */
export const DEFAULT_PRETRAIN: Omit<PretrainConfig, 'model'> = {
  batch_size: 12,
  block_size: 64,
  max_iters: 2000,
  learning_rate: 6e-4,
  min_lr: 6e-5,
  warmup_iters: 100,
  lr_decay_iters: 2000,
  decay_lr: true,
  weight_decay: 0.1,
  decay_embeddings: false,
  beta1: 0.9,
  beta2: 0.95,
  grad_clip: 1.0,
  gradient_accumulation_steps: 1,
  eval_interval: 250,
  eval_iters: 20,
  log_interval: 10,
  checkpoint_interval: 250,
  seed: 1337,
  skip_nonfinite: false,
  tokenizer: 'char',
  bpe_vocab_size: 2048,
  val_fraction: 0.1,
};

/** nanoGPT train.py's model defaults (GPT-2 small shape, no biases, exact GELU). */
export const DEFAULT_MODEL: ModelKeys = { n_layer: 12, n_head: 12, n_embd: 768, dropout: 0, bias: false, activation_function: 'gelu' };

const POSITIVE_INTS = new Set<TrainingKey>(['batch_size', 'block_size', 'gradient_accumulation_steps', 'bpe_vocab_size']);
const NON_NEGATIVE_INTS = new Set<TrainingKey>(['max_iters', 'warmup_iters', 'lr_decay_iters', 'eval_interval', 'eval_iters', 'log_interval', 'checkpoint_interval', 'seed']);
const MODEL_KEYS = new Set(['n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function', 'position_embedding', 'norm', 'layer_norm_epsilon', 'rope_theta', 'bias', 'dropout', 'tie_word_embeddings', 'initializer_range']);

/** Keys that shape the model or its data: they must not change when a run is resumed. */
export const IDENTITY_KEYS: readonly string[] = ['block_size', 'tokenizer', 'bpe_vocab_size', 'val_fraction', ...MODEL_KEYS];

/**
 * Validates a flat config object (training keys + model keys) on top of
 * `base` (defaults or a preset). `source` names the config in errors.
 */
export function pretrainConfig(raw: unknown, source = 'config', base: PretrainConfig = { ...DEFAULT_PRETRAIN, model: DEFAULT_MODEL }): PretrainConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object of config keys`);
  const out: PretrainConfig = { ...base, model: { ...base.model } };
  const training = out as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (key === 'vocab_size') throw new ConfigError('CONFIG_INVALID', `${source}: vocab_size is set by the tokenizer; remove it (choose the size with tokenizer "bpe" and bpe_vocab_size)`);
    if (key === 'n_positions') throw new ConfigError('CONFIG_INVALID', `${source}: n_positions is block_size in a pre-training config; set block_size instead`);
    if (MODEL_KEYS.has(key)) {
      (out.model as Record<string, unknown>)[key] = value;
      continue;
    }
    if (!(key in DEFAULT_PRETRAIN)) {
      const known = [...Object.keys(DEFAULT_PRETRAIN), ...MODEL_KEYS].sort().join(', ');
      throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known keys: ${known})`);
    }
    training[key] = checkValue(key as TrainingKey, value, source);
  }
  // Let DecoderConfig check the model keys now, not after the data is tokenized.
  decoderConfig({ ...out.model, vocab_size: 1, n_positions: out.block_size }, source);
  if (out.min_lr > out.learning_rate) throw new ConfigError('CONFIG_INVALID', `${source}: min_lr ${out.min_lr} exceeds learning_rate ${out.learning_rate}`);
  if (!(out.val_fraction > 0 && out.val_fraction < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: val_fraction must be in (0, 1), got ${out.val_fraction}`);
  if (!(out.beta1 >= 0 && out.beta1 < 1 && out.beta2 >= 0 && out.beta2 < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: beta1 and beta2 must be in [0, 1), got ${out.beta1}, ${out.beta2}`);
  if (out.log_interval === 0) throw new ConfigError('CONFIG_INVALID', `${source}: log_interval must be at least 1`);
  return out;
}

function checkValue(key: TrainingKey, value: unknown, source: string): unknown {
  const fallback = DEFAULT_PRETRAIN[key];
  const bad = (want: string): never => {
    throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be ${want}, got ${JSON.stringify(value)}`);
  };
  if (POSITIVE_INTS.has(key)) return Number.isSafeInteger(value) && (value as number) >= 1 ? value : bad('a positive integer');
  if (NON_NEGATIVE_INTS.has(key)) return Number.isSafeInteger(value) && (value as number) >= 0 ? value : bad('a non-negative integer');
  if (typeof fallback === 'number') return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : bad('a finite number ≥ 0');
  if (typeof fallback === 'boolean') return typeof value === 'boolean' ? value : bad('true or false');
  return typeof value === 'string' && value !== '' ? value : bad('a non-empty string');
}

/** The config as one flat object (what config files and trainer_state.json hold). */
export function flattenConfig(c: PretrainConfig): Record<string, unknown> {
  const { model, ...training } = c;
  return { ...training, ...model };
}

/** Throws a ConfigError naming the first identity key that differs from the checkpoint's. */
export function checkResumable(saved: Record<string, unknown>, current: PretrainConfig, source: string): void {
  const now = flattenConfig(current);
  for (const key of IDENTITY_KEYS) {
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key]))
      throw new ConfigError('CONFIG_RESUME_MISMATCH', `${source}: the checkpoint was trained with ${key} = ${JSON.stringify(saved[key])} but the config now says ${JSON.stringify(now[key])}; resume with the original value or start a new run in another --out`);
  }
}

/** Parses `key=value` (value as JSON when it parses, else a string), for --set. */
export function parseOverride(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq < 1) throw new ConfigError('CONFIG_INVALID', `--set ${text}: expected key=value, e.g. --set learning_rate=3e-4`);
  const key = text.slice(0, eq), raw = text.slice(eq + 1);
  try {
    return [key, JSON.parse(raw) as unknown];
  } catch {
    return [key, raw];
  }
}

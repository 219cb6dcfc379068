// The pre-training config: nanoGPT's train.py knobs under nanoGPT's names,
// the architecture, the model keys (DecoderConfig's names, mapped onto each
// family's own) and the objective's rates, in one flat JSON object (as
// nanoGPT's config/*.py files are). Unknown keys, wrong types and keys of
// another architecture are ConfigErrors that name the key, so a typo never
// silently trains the wrong model.
import { ConfigError } from '../errors.js';
import { parseArch, type Arch } from '../models/arch.js';
import { decoderConfig, type DecoderConfig } from '../models/decoder_config.js';
import type { MatmulPrecision } from '../tensor/ops/matmul_precision.js';

/** DecoderConfig keys a pre-training config may set (vocab_size and n_positions are derived). */
export type ModelKeys = Partial<Omit<DecoderConfig, 'vocab_size' | 'n_positions'>>;

/** The objectives' rates; each belongs to one architecture and has the paper's value by default. */
export interface ObjectiveKeys {
  /** encoder (BERT MLM): probability a token is chosen for prediction (BERT: 0.15; HF's name). */
  mlm_probability?: number;
  /** encoder-decoder (T5): fraction of tokens dropped into spans (T5: 0.15). */
  noise_density?: number;
  /** encoder-decoder (T5): mean span length in tokens (T5: 3). */
  mean_noise_span_length?: number;
  /** glm: fraction of tokens blanked (GLM: 0.15). */
  mask_ratio?: number;
  /** glm: λ of the Poisson span lengths (GLM: 3). */
  poisson_lambda?: number;
  /** glm: share of windows trained with the document-level [gMASK] objective instead (GLM_Doc; 0 = blank infilling only). */
  gmask_probability?: number;
}

export interface PretrainConfig extends ObjectiveKeys {
  /** Model family and its objective: decoder (causal LM), encoder (MLM), encoder-decoder (T5 span corruption), glm (blank infilling). */
  arch: Arch;
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
  /**
   * "fp32", or "bf16": mixed precision, the Linear layers' GEMMs (forward and
   * backward) on bfloat16-rounded inputs with fp32 sums (2× the multiply
   * rate on CPUs with AVX512-BF16); weights, gradients and AdamW stay fp32.
   */
  matmul_precision: MatmulPrecision;
  /**
   * The model keys given (n_layer, n_head, n_embd, dropout, bias, ...), in
   * DecoderConfig's names; the arch's defaults fill the rest (resolvedModelKeys).
   */
  model: ModelKeys;
}

export type TrainingKey = Exclude<keyof PretrainConfig, 'model' | keyof ObjectiveKeys>;

/** nanoGPT train.py's defaults, scaled to what a CPU can finish. */
export const DEFAULT_PRETRAIN: Omit<PretrainConfig, 'model'> = {
  arch: 'decoder',
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
  matmul_precision: 'fp32',
};

/** nanoGPT train.py's model defaults (GPT-2 small shape, no biases, exact GELU). */
export const DEFAULT_MODEL: ModelKeys = { n_layer: 12, n_head: 12, n_embd: 768, dropout: 0, bias: false, activation_function: 'gelu' };

const POSITIVE_INTS = new Set<TrainingKey>(['batch_size', 'block_size', 'gradient_accumulation_steps', 'bpe_vocab_size']);
const NON_NEGATIVE_INTS = new Set<TrainingKey>(['max_iters', 'warmup_iters', 'lr_decay_iters', 'eval_interval', 'eval_iters', 'log_interval', 'checkpoint_interval', 'seed']);
/** Model keys every family has (mapped to BERT's, T5's or GLM's names). */
const COMMON_MODEL_KEYS = ['n_embd', 'n_layer', 'n_head', 'n_inner', 'activation_function', 'layer_norm_epsilon', 'dropout', 'initializer_range'] as const;
/** Switches only DecoderLM has (the others always use learned positions, LayerNorm with biases and a tied head). */
const DECODER_MODEL_KEYS = ['position_embedding', 'norm', 'rope_theta', 'bias', 'tie_word_embeddings'] as const;
const MODEL_KEYS = new Set<string>([...COMMON_MODEL_KEYS, ...DECODER_MODEL_KEYS]);

interface ObjectiveKeySpec {
  arch: Arch;
  fallback: number;
  /** The allowed range, in words and as a test. */
  range: string;
  ok: (v: number) => boolean;
}

/** Each objective key: its architecture, default (the paper's) and allowed range (what the objective accepts). */
export const OBJECTIVE_KEYS: Readonly<Record<keyof ObjectiveKeys, ObjectiveKeySpec>> = {
  mlm_probability: { arch: 'encoder', fallback: 0.15, range: 'in (0, 1]', ok: (v) => v > 0 && v <= 1 },
  noise_density: { arch: 'encoder-decoder', fallback: 0.15, range: 'in (0, 1)', ok: (v) => v > 0 && v < 1 },
  mean_noise_span_length: { arch: 'encoder-decoder', fallback: 3, range: '≥ 1', ok: (v) => v >= 1 },
  mask_ratio: { arch: 'glm', fallback: 0.15, range: 'in (0, 0.5]', ok: (v) => v > 0 && v <= 0.5 },
  poisson_lambda: { arch: 'glm', fallback: 3, range: 'in (0, 50]', ok: (v) => v > 0 && v <= 50 },
  gmask_probability: { arch: 'glm', fallback: 0, range: 'in [0, 1]', ok: (v) => v >= 0 && v <= 1 },
};
const isObjectiveKey = (key: string): key is keyof ObjectiveKeys => Object.hasOwn(OBJECTIVE_KEYS, key);

/** Keys that shape the model or its data: they must not change when a run is resumed. */
export const IDENTITY_KEYS: readonly string[] = ['arch', 'block_size', 'tokenizer', 'bpe_vocab_size', 'val_fraction', ...MODEL_KEYS, ...Object.keys(OBJECTIVE_KEYS)];

/** The model keys of `c` with its arch's defaults filled in (DEFAULT_MODEL, less the decoder-only bias for the others). */
export function resolvedModelKeys(c: PretrainConfig): ModelKeys {
  const { bias: _decoderOnly, ...common } = DEFAULT_MODEL;
  return { ...(c.arch === 'decoder' ? DEFAULT_MODEL : common), ...c.model };
}

/** The objective keys of c.arch with their defaults filled in. */
export function resolvedObjectiveKeys(c: PretrainConfig): ObjectiveKeys {
  const out: ObjectiveKeys = {};
  for (const [key, spec] of Object.entries(OBJECTIVE_KEYS) as [keyof ObjectiveKeys, ObjectiveKeySpec][])
    if (spec.arch === c.arch) out[key] = c[key] ?? spec.fallback;
  return out;
}

/**
 * Validates a flat config object (training keys + model keys + objective
 * keys) on top of `base` (defaults or a preset), then checks the merged
 * result: every model and objective key must belong to its arch. `source`
 * names the config in errors.
 */
export function pretrainConfig(raw: unknown, source = 'config', base: PretrainConfig = { ...DEFAULT_PRETRAIN, model: {} }): PretrainConfig {
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
    if (isObjectiveKey(key)) {
      const spec = OBJECTIVE_KEYS[key];
      if (typeof value !== 'number' || !spec.ok(value)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a number ${spec.range}, got ${JSON.stringify(value)}`);
      out[key] = value;
      continue;
    }
    if (!(key in DEFAULT_PRETRAIN)) {
      const known = [...Object.keys(DEFAULT_PRETRAIN), ...MODEL_KEYS, ...Object.keys(OBJECTIVE_KEYS)].sort().join(', ');
      throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known keys: ${known})`);
    }
    training[key] = key === 'arch' ? parseArch(value, `${source}: arch`) : checkValue(key as TrainingKey, value, source);
  }
  checkArchKeys(out, source);
  if (out.min_lr > out.learning_rate) throw new ConfigError('CONFIG_INVALID', `${source}: min_lr ${out.min_lr} exceeds learning_rate ${out.learning_rate}`);
  if (!(out.val_fraction > 0 && out.val_fraction < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: val_fraction must be in (0, 1), got ${out.val_fraction}`);
  if (!(out.beta1 >= 0 && out.beta1 < 1 && out.beta2 >= 0 && out.beta2 < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: beta1 and beta2 must be in [0, 1), got ${out.beta1}, ${out.beta2}`);
  if (out.log_interval === 0) throw new ConfigError('CONFIG_INVALID', `${source}: log_interval must be at least 1`);
  return out;
}

/** Keys of another family are errors (a preset for one arch does not silently train another). */
function checkArchKeys(c: PretrainConfig, source: string): void {
  for (const [key, spec] of Object.entries(OBJECTIVE_KEYS) as [keyof ObjectiveKeys, ObjectiveKeySpec][])
    if (c[key] !== undefined && spec.arch !== c.arch)
      throw new ConfigError('CONFIG_WRONG_ARCH', `${source}: ${key} belongs to arch ${spec.arch}, but arch is ${c.arch}; remove it or set arch ${spec.arch}`);
  if (c.arch === 'decoder') {
    // Let DecoderConfig check the model keys now, not after the data is tokenized.
    decoderConfig({ ...resolvedModelKeys(c), vocab_size: 1, n_positions: c.block_size }, source);
    return;
  }
  const m = resolvedModelKeys(c);
  for (const key of DECODER_MODEL_KEYS)
    if (m[key] !== undefined)
      throw new ConfigError('CONFIG_WRONG_ARCH', `${source}: ${key} is a decoder-only model key, but arch is ${c.arch}; remove it from the config, or start from a preset made for ${c.arch} (shakespeare-char-${c.arch}, tiny-${c.arch})`);
  // The other families share these rules; their own validators run again when the model is built.
  const sizes = ['n_embd', 'n_layer', 'n_head', 'n_inner'] as const;
  for (const key of sizes)
    if (m[key] !== undefined && !(Number.isSafeInteger(m[key]) && m[key] >= 1)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a positive integer, got ${JSON.stringify(m[key])}`);
  if (!['gelu', 'gelu_new'].includes(m.activation_function as string))
    throw new ConfigError('CONFIG_INVALID', `${source}: activation_function must be one of gelu, gelu_new for arch ${c.arch}, got ${JSON.stringify(m.activation_function)}`);
  if (!(typeof m.dropout === 'number' && m.dropout >= 0 && m.dropout < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: dropout must be in [0, 1), got ${JSON.stringify(m.dropout)}`);
  for (const key of ['layer_norm_epsilon', 'initializer_range'] as const)
    if (m[key] !== undefined && !(typeof m[key] === 'number' && m[key] > 0)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a number > 0, got ${JSON.stringify(m[key])}`);
  if (m.n_embd! % m.n_head! !== 0) throw new ConfigError('CONFIG_INVALID', `${source}: n_embd ${m.n_embd} must be divisible by n_head ${m.n_head}`);
  if (c.arch === 'encoder-decoder' && c.block_size < 2)
    throw new ConfigError('CONFIG_INVALID', `${source}: span corruption needs block_size ≥ 2 (one token kept, one dropped), got ${c.block_size}`);
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
  if (key === 'matmul_precision') return value === 'fp32' || value === 'bf16' ? value : bad('"fp32" or "bf16"');
  return typeof value === 'string' && value !== '' ? value : bad('a non-empty string');
}

/** The config as one flat object, defaults resolved (what config files and trainer_state.json hold). */
export function flattenConfig(c: PretrainConfig): Record<string, unknown> {
  const { model: _model, ...training } = c;
  for (const key of Object.keys(OBJECTIVE_KEYS)) delete (training as Record<string, unknown>)[key];
  return { ...training, ...resolvedModelKeys(c), ...resolvedObjectiveKeys(c) };
}

/** Throws a ConfigError naming the first identity key that differs from the checkpoint's. */
export function checkResumable(saved: Record<string, unknown>, current: PretrainConfig, source: string): void {
  const now = flattenConfig(current);
  // Checkpoints from before the arch key are decoder runs; objective keys added since then had their default.
  const then: Record<string, unknown> = { ...saved, arch: saved['arch'] ?? 'decoder' };
  for (const [key, spec] of Object.entries(OBJECTIVE_KEYS))
    if (spec.arch === then['arch'] && then[key] === undefined) then[key] = spec.fallback;
  for (const key of IDENTITY_KEYS) {
    if (JSON.stringify(then[key]) !== JSON.stringify(now[key]))
      throw new ConfigError('CONFIG_RESUME_MISMATCH', `${source}: the checkpoint was trained with ${key} = ${JSON.stringify(then[key])} but the config now says ${JSON.stringify(now[key])}; resume with the original value or start a new run in another --out`);
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

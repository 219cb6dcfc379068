// EncoderLM configuration, in Hugging Face BERT's key names (vocab_size,
// hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
// hidden_act, max_position_embeddings, type_vocab_size, layer_norm_eps,
// hidden_dropout_prob, initializer_range, pad_token_id, num_labels).
// Unknown keys are errors, not silently ignored.
import { ConfigError } from '../errors.js';

export interface EncoderConfig {
  /** Tokens in the vocabulary (also the MLM head's output size: it is tied to the embeddings). */
  vocab_size: number;
  /** Model width. */
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  /** MLP hidden width (default 4·hidden_size, as BERT-base's 3072 = 4·768). */
  intermediate_size: number;
  /** gelu (exact, BERT) or gelu_new (tanh approximation); used in the MLP and the MLM transform. */
  hidden_act: 'gelu' | 'gelu_new';
  /** Longest sequence (learned position table size). */
  max_position_embeddings: number;
  /** Segment (token-type) embeddings for sentence pairs; 0 = none. */
  type_vocab_size: number;
  /** BERT's 1e-12; the same eps in every LayerNorm. */
  layer_norm_eps: number;
  /** Dropout on embeddings and residual branches (BERT's 0.1). */
  hidden_dropout_prob: number;
  /** Std of the normal initialisation. */
  initializer_range: number;
  /** The id collation pads with; padded positions never reach a loss. */
  pad_token_id: number;
  /** Classes of the [CLS] classification head; 0 = no pooler/classifier (a pure MLM model). */
  num_labels: number;
}

const DEFAULTS: Omit<EncoderConfig, 'vocab_size' | 'hidden_size' | 'num_hidden_layers' | 'num_attention_heads' | 'max_position_embeddings' | 'intermediate_size'> = {
  hidden_act: 'gelu',
  type_vocab_size: 2,
  layer_norm_eps: 1e-12,
  hidden_dropout_prob: 0.1,
  initializer_range: 0.02,
  pad_token_id: 0,
  num_labels: 0,
};

const REQUIRED = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings'] as const;
const NON_NEGATIVE_INTS = new Set<string>(['type_vocab_size', 'pad_token_id', 'num_labels']);
const CHOICES: Partial<Record<keyof EncoderConfig, readonly string[]>> = { hidden_act: ['gelu', 'gelu_new'] };
const KNOWN = new Set<string>([...REQUIRED, 'intermediate_size', 'model_type', ...Object.keys(DEFAULTS)]);

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function encoderConfig(raw: unknown, source = 'config'): EncoderConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object`);
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input))
    if (!KNOWN.has(key)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known: ${[...KNOWN].sort().join(', ')})`);
  const positiveInt = (key: string): number => {
    const v = input[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const out = { ...DEFAULTS } as EncoderConfig;
  for (const key of REQUIRED) out[key] = positiveInt(key);
  out.intermediate_size = input.intermediate_size === undefined || input.intermediate_size === null ? 4 * out.hidden_size : positiveInt('intermediate_size');
  for (const [key, fallback] of Object.entries(DEFAULTS) as [keyof typeof DEFAULTS, unknown][]) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== typeof fallback) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a ${typeof fallback}, got ${JSON.stringify(v)}`);
    if (NON_NEGATIVE_INTS.has(key) && !(Number.isSafeInteger(v) && (v as number) >= 0))
      throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    const allowed = CHOICES[key];
    if (allowed && !allowed.includes(v as string)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    (out as unknown as Record<string, unknown>)[key] = v;
  }
  if (!(out.hidden_dropout_prob >= 0 && out.hidden_dropout_prob < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: hidden_dropout_prob must be in [0, 1), got ${out.hidden_dropout_prob}`);
  if (!(out.layer_norm_eps > 0)) throw new ConfigError('CONFIG_INVALID', `${source}: layer_norm_eps must be > 0`);
  if (out.hidden_size % out.num_attention_heads !== 0)
    throw new ConfigError('CONFIG_INVALID', `${source}: hidden_size ${out.hidden_size} must be divisible by num_attention_heads ${out.num_attention_heads}`);
  if (out.pad_token_id >= out.vocab_size) throw new ConfigError('CONFIG_INVALID', `${source}: pad_token_id ${out.pad_token_id} is outside the vocabulary (vocab_size ${out.vocab_size})`);
  return out;
}

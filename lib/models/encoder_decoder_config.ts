// EncoderDecoderLM configuration, in Hugging Face T5's key names (vocab_size,
// d_model, d_ff, num_layers, num_decoder_layers, num_heads,
// layer_norm_epsilon, dropout_rate, initializer_factor, feed_forward_proj,
// pad_token_id, eos_token_id, decoder_start_token_id) plus
// max_position_embeddings: T5 has relative position buckets and no position
// table; we use learned absolute positions for simplicity, so the table size
// must be configured. Unknown keys are errors, not silently ignored.
import { ConfigError } from '../errors.js';

export interface EncoderDecoderConfig {
  /** Tokens in the vocabulary (shared by encoder, decoder and the tied LM head). */
  vocab_size: number;
  /** Model width. */
  d_model: number;
  /** MLP hidden width (default 4·d_model). */
  d_ff: number;
  /** Encoder blocks. */
  num_layers: number;
  /** Decoder blocks (default num_layers, as in T5). */
  num_decoder_layers: number;
  num_heads: number;
  /** Longest source or target sequence (learned position tables; T5 uses relative buckets instead). */
  max_position_embeddings: number;
  /** gelu (exact) or gelu_new (tanh approximation) in every MLP. */
  feed_forward_proj: 'gelu' | 'gelu_new';
  /** The same eps in every LayerNorm. */
  layer_norm_epsilon: number;
  /** Dropout on embeddings and residual branches (T5's 0.1). */
  dropout_rate: number;
  /** Std of the normal initialisation (T5's initializer_factor scales its own scheme; here it is the plain std). */
  initializer_factor: number;
  /** The id collation pads with; padded positions never reach a loss. */
  pad_token_id: number;
  /** Appended to inputs and targets by span corruption (T5: 1). */
  eos_token_id: number;
  /** First decoder input: targets shifted right start with it (T5 uses pad, 0). */
  decoder_start_token_id: number;
}

const DEFAULTS: Omit<EncoderDecoderConfig, 'vocab_size' | 'd_model' | 'num_layers' | 'num_heads' | 'max_position_embeddings' | 'd_ff' | 'num_decoder_layers'> = {
  feed_forward_proj: 'gelu',
  layer_norm_epsilon: 1e-6,
  dropout_rate: 0.1,
  initializer_factor: 0.02,
  pad_token_id: 0,
  eos_token_id: 1,
  decoder_start_token_id: 0,
};

const REQUIRED = ['vocab_size', 'd_model', 'num_layers', 'num_heads', 'max_position_embeddings'] as const;
const TOKEN_IDS = new Set<string>(['pad_token_id', 'eos_token_id', 'decoder_start_token_id']);
const CHOICES: Partial<Record<keyof EncoderDecoderConfig, readonly string[]>> = { feed_forward_proj: ['gelu', 'gelu_new'] };
const KNOWN = new Set<string>([...REQUIRED, 'd_ff', 'num_decoder_layers', 'model_type', ...Object.keys(DEFAULTS)]);

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function encoderDecoderConfig(raw: unknown, source = 'config'): EncoderDecoderConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object`);
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input))
    if (!KNOWN.has(key)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known: ${[...KNOWN].sort().join(', ')})`);
  const positiveInt = (key: string): number => {
    const v = input[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const out = { ...DEFAULTS } as EncoderDecoderConfig;
  for (const key of REQUIRED) out[key] = positiveInt(key);
  out.d_ff = input.d_ff === undefined || input.d_ff === null ? 4 * out.d_model : positiveInt('d_ff');
  out.num_decoder_layers = input.num_decoder_layers === undefined || input.num_decoder_layers === null ? out.num_layers : positiveInt('num_decoder_layers');
  for (const [key, fallback] of Object.entries(DEFAULTS) as [keyof typeof DEFAULTS, unknown][]) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== typeof fallback) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a ${typeof fallback}, got ${JSON.stringify(v)}`);
    if (TOKEN_IDS.has(key) && !(Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) < out.vocab_size))
      throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a token id in [0, ${out.vocab_size}) (vocab_size), got ${JSON.stringify(v)}`);
    const allowed = CHOICES[key];
    if (allowed && !allowed.includes(v as string)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    (out as unknown as Record<string, unknown>)[key] = v;
  }
  if (!(out.dropout_rate >= 0 && out.dropout_rate < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: dropout_rate must be in [0, 1), got ${out.dropout_rate}`);
  if (!(out.layer_norm_epsilon > 0)) throw new ConfigError('CONFIG_INVALID', `${source}: layer_norm_epsilon must be > 0`);
  if (!(out.initializer_factor > 0)) throw new ConfigError('CONFIG_INVALID', `${source}: initializer_factor must be > 0`);
  if (out.d_model % out.num_heads !== 0) throw new ConfigError('CONFIG_INVALID', `${source}: d_model ${out.d_model} must be divisible by num_heads ${out.num_heads}`);
  return out;
}

// EncoderDecoderLM configuration, in Hugging Face T5's key names (vocab_size,
// d_model, d_ff, num_layers, num_decoder_layers, num_heads,
// layer_norm_epsilon, dropout_rate, initializer_factor, feed_forward_proj,
// pad_token_id, eos_token_id, decoder_start_token_id) plus
// max_position_embeddings: T5 has relative position buckets and no position
// table; we use learned absolute positions for simplicity, so the table size
// must be configured. Unknown keys are errors, not silently ignored.
import { requireConfig, validateConfig, type ConfigSchema } from './config_schema.js';

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

const TOKEN_IDS = ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const;

const SCHEMA: ConfigSchema<EncoderDecoderConfig> = {
  required: ['vocab_size', 'd_model', 'num_layers', 'num_heads', 'max_position_embeddings'],
  defaults: DEFAULTS,
  derived: { d_ff: (c) => 4 * c.d_model, num_decoder_layers: (c) => c.num_layers },
  choices: { feed_forward_proj: ['gelu', 'gelu_new'] },
  nonNegativeInts: [...TOKEN_IDS],
};

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function encoderDecoderConfig(raw: unknown, source = 'config'): EncoderDecoderConfig {
  const out = validateConfig(raw, source, SCHEMA);
  for (const key of TOKEN_IDS)
    requireConfig(out[key] < out.vocab_size, source, `${key} must be a token id in [0, ${out.vocab_size}) (vocab_size), got ${out[key]}`);
  requireConfig(out.dropout_rate >= 0 && out.dropout_rate < 1, source, `dropout_rate must be in [0, 1), got ${out.dropout_rate}`);
  requireConfig(out.layer_norm_epsilon > 0, source, 'layer_norm_epsilon must be > 0');
  requireConfig(out.initializer_factor > 0, source, 'initializer_factor must be > 0');
  requireConfig(out.d_model % out.num_heads === 0, source, `d_model ${out.d_model} must be divisible by num_heads ${out.num_heads}`);
  return out;
}

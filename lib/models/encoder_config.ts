// EncoderLM configuration, in Hugging Face BERT's key names (vocab_size,
// hidden_size, num_hidden_layers, num_attention_heads, intermediate_size,
// hidden_act, max_position_embeddings, type_vocab_size, layer_norm_eps,
// hidden_dropout_prob, initializer_range, pad_token_id, num_labels).
// Unknown keys are errors, not silently ignored.
import { requireConfig, validateConfig, type ConfigSchema } from './config_schema.js';

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

const SCHEMA: ConfigSchema<EncoderConfig> = {
  required: ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings'],
  defaults: DEFAULTS,
  derived: { intermediate_size: (c) => 4 * c.hidden_size },
  choices: { hidden_act: ['gelu', 'gelu_new'] },
  nonNegativeInts: ['type_vocab_size', 'pad_token_id', 'num_labels'],
};

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function encoderConfig(raw: unknown, source = 'config'): EncoderConfig {
  const out = validateConfig(raw, source, SCHEMA);
  requireConfig(out.hidden_dropout_prob >= 0 && out.hidden_dropout_prob < 1, source, `hidden_dropout_prob must be in [0, 1), got ${out.hidden_dropout_prob}`);
  requireConfig(out.layer_norm_eps > 0, source, 'layer_norm_eps must be > 0');
  requireConfig(out.hidden_size % out.num_attention_heads === 0, source,
    `hidden_size ${out.hidden_size} must be divisible by num_attention_heads ${out.num_attention_heads}`);
  requireConfig(out.pad_token_id < out.vocab_size, source, `pad_token_id ${out.pad_token_id} is outside the vocabulary (vocab_size ${out.vocab_size})`);
  return out;
}

// DecoderLM configuration, in Hugging Face GPT-2's key names where one exists
// (vocab_size, n_positions, n_embd, n_layer, n_head, n_inner,
// activation_function, layer_norm_epsilon, tie_word_embeddings), plus the
// LLaMA switches (position_embedding "rope", norm "rmsnorm", activation
// "swiglu"). Unknown keys are errors, not silently ignored.
import { requireConfig, validateConfig, type ConfigSchema } from './config_schema.js';

export interface DecoderConfig {
  /** Tokens in the vocabulary. */
  vocab_size: number;
  /** Longest sequence (nanoGPT block_size). */
  n_positions: number;
  /** Model width. */
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP hidden width (default 4·n_embd). */
  n_inner: number;
  /** gelu (exact, nanoGPT), gelu_new (tanh, GPT-2) or swiglu (LLaMA). */
  activation_function: 'gelu' | 'gelu_new' | 'swiglu';
  /** learned (GPT-2 wpe) or rope (LLaMA). */
  position_embedding: 'learned' | 'rope';
  norm: 'layernorm' | 'rmsnorm';
  layer_norm_epsilon: number;
  rope_theta: number;
  /** Biases in linear layers and LayerNorm (nanoGPT `bias`). */
  bias: boolean;
  dropout: number;
  /** lm_head shares wte's weight (GPT-2). */
  tie_word_embeddings: boolean;
  /** Std of the normal initialisation. */
  initializer_range: number;
}

const DEFAULTS: Omit<DecoderConfig, 'vocab_size' | 'n_positions' | 'n_embd' | 'n_layer' | 'n_head' | 'n_inner'> = {
  activation_function: 'gelu',
  position_embedding: 'learned',
  norm: 'layernorm',
  layer_norm_epsilon: 1e-5,
  rope_theta: 10000,
  bias: true,
  dropout: 0,
  tie_word_embeddings: true,
  initializer_range: 0.02,
};

const SCHEMA: ConfigSchema<DecoderConfig> = {
  required: ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'],
  defaults: DEFAULTS,
  derived: { n_inner: (c) => 4 * c.n_embd },
  choices: {
    activation_function: ['gelu', 'gelu_new', 'swiglu'],
    position_embedding: ['learned', 'rope'],
    norm: ['layernorm', 'rmsnorm'],
  },
};

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function decoderConfig(raw: unknown, source = 'config'): DecoderConfig {
  const out = validateConfig(raw, source, SCHEMA);
  requireConfig(out.dropout >= 0 && out.dropout < 1, source, `dropout must be in [0, 1), got ${out.dropout}`);
  requireConfig(out.layer_norm_epsilon > 0, source, 'layer_norm_epsilon must be > 0');
  requireConfig(out.n_embd % out.n_head === 0, source, `n_embd ${out.n_embd} must be divisible by n_head ${out.n_head}`);
  requireConfig(out.position_embedding !== 'rope' || (out.n_embd / out.n_head) % 2 === 0, source,
    `rope needs an even head size, got n_embd/n_head = ${out.n_embd / out.n_head}`);
  return out;
}

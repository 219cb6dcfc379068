// GLM configuration, in the key names DecoderLM uses (Hugging Face GPT-2's):
// one shared pre-LN transformer with learned position and block-position
// tables. Unknown keys are errors, not silently ignored.
import { requireConfig, validateConfig, type ConfigSchema } from './config_schema.js';

export interface GlmConfig {
  /** Tokens in the vocabulary, the four GLM specials included. */
  vocab_size: number;
  /** Longest Part A + Part B; also the size of both position tables (GLM shares max_sequence_length). */
  n_positions: number;
  /** Model width. */
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP hidden width (default 4·n_embd). */
  n_inner: number;
  /** gelu (exact, as GLM) or gelu_new (tanh, GPT-2). */
  activation_function: 'gelu' | 'gelu_new';
  layer_norm_epsilon: number;
  dropout: number;
  /** Std of the normal initialisation. */
  initializer_range: number;
}

const SCHEMA: ConfigSchema<GlmConfig> = {
  required: ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'],
  defaults: { activation_function: 'gelu', layer_norm_epsilon: 1e-5, dropout: 0, initializer_range: 0.02 },
  derived: { n_inner: (c) => 4 * c.n_embd },
  choices: { activation_function: ['gelu', 'gelu_new'] },
  modelType: ['glm'],
};

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function glmConfig(raw: unknown, source = 'config'): GlmConfig {
  const c = validateConfig(raw, source, SCHEMA);
  requireConfig(c.layer_norm_epsilon > 0, source, `layer_norm_epsilon must be > 0, got ${c.layer_norm_epsilon}`);
  requireConfig(c.dropout >= 0 && c.dropout < 1, source, `dropout must be in [0, 1), got ${c.dropout}`);
  requireConfig(c.initializer_range > 0, source, `initializer_range must be > 0, got ${c.initializer_range}`);
  requireConfig(c.n_embd % c.n_head === 0, source, `n_embd ${c.n_embd} must be divisible by n_head ${c.n_head}`);
  return c;
}

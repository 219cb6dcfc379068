// DecoderLM configuration, in Hugging Face GPT-2's key names where one exists
// (vocab_size, n_positions, n_embd, n_layer, n_head, n_inner,
// activation_function, layer_norm_epsilon, tie_word_embeddings), plus the
// LLaMA switches (position_embedding "rope", norm "rmsnorm", activation
// "swiglu"). Unknown keys are errors, not silently ignored.
import { ConfigError } from '../errors.js';

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

const REQUIRED = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const;
const CHOICES: Partial<Record<keyof DecoderConfig, readonly string[]>> = {
  activation_function: ['gelu', 'gelu_new', 'swiglu'],
  position_embedding: ['learned', 'rope'],
  norm: ['layernorm', 'rmsnorm'],
};
const KNOWN = new Set<string>([...REQUIRED, 'n_inner', 'model_type', ...Object.keys(DEFAULTS)]);

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function decoderConfig(raw: unknown, source = 'config'): DecoderConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object`);
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input))
    if (!KNOWN.has(key)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known: ${[...KNOWN].sort().join(', ')})`);
  const positiveInt = (key: string): number => {
    const v = input[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const out = { ...DEFAULTS } as DecoderConfig;
  for (const key of REQUIRED) out[key] = positiveInt(key);
  out.n_inner = input.n_inner === undefined || input.n_inner === null ? 4 * out.n_embd : positiveInt('n_inner');
  for (const [key, fallback] of Object.entries(DEFAULTS) as [keyof typeof DEFAULTS, unknown][]) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== typeof fallback) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a ${typeof fallback}, got ${JSON.stringify(v)}`);
    const allowed = CHOICES[key];
    if (allowed && !allowed.includes(v as string)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    (out as unknown as Record<string, unknown>)[key] = v;
  }
  if (typeof out.dropout === 'number' && !(out.dropout >= 0 && out.dropout < 1)) throw new ConfigError('CONFIG_INVALID', `${source}: dropout must be in [0, 1), got ${out.dropout}`);
  if (!(out.layer_norm_epsilon > 0)) throw new ConfigError('CONFIG_INVALID', `${source}: layer_norm_epsilon must be > 0`);
  if (out.n_embd % out.n_head !== 0) throw new ConfigError('CONFIG_INVALID', `${source}: n_embd ${out.n_embd} must be divisible by n_head ${out.n_head}`);
  if (out.position_embedding === 'rope' && (out.n_embd / out.n_head) % 2 !== 0)
    throw new ConfigError('CONFIG_INVALID', `${source}: rope needs an even head size, got n_embd/n_head = ${out.n_embd / out.n_head}`);
  return out;
}
